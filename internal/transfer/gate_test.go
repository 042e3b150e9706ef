package transfer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestGate(t *testing.T) {
	g := NewGate(2)
	done1, err := g.Enter(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter(1); !errors.Is(err, ErrBusy) {
		t.Fatalf("second import of one organization: %v", err)
	}
	done2, err := g.Enter(2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Enter(3); !errors.Is(err, ErrBusy) {
		t.Fatalf("third import at once: %v", err)
	}
	done1()
	done3, err := g.Enter(3)
	if err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	done2()
	done3()
}

// TestReadRefusesPastTheRowLimit (security review F10): the reader stops
// at the limit, with the line of the first row too many, instead of
// holding the whole file in memory.
func TestReadRefusesPastTheRowLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("org_code,kind,value\n")
	for i := range 11 {
		fmt.Fprintf(&b, "A,hostname,h%d.example.vn\n", i)
	}
	rows, err := ReadAssetsMax(strings.NewReader(b.String()), CSV, "", 11)
	if err != nil || len(rows) != 11 {
		t.Fatalf("at the limit: %d rows, %v", len(rows), err)
	}
	_, err = ReadAssetsMax(strings.NewReader(b.String()), CSV, "", 10)
	var le *LineError
	if !errors.As(err, &le) || le.Line != 12 || !strings.Contains(le.Reason, "more than 10 rows") {
		t.Fatalf("past the limit: %v", err)
	}
	js := `{"orgs":[{"code":"A","kind":"agency"},{"code":"B","kind":"agency"}]}`
	if _, err := ReadOrgsMax(strings.NewReader(js), JSON, 1); !errors.As(err, &le) {
		t.Fatalf("json past the limit: %v", err)
	}
}
