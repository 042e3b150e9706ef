package eve

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/internal/jsonscan"
)

// FuzzParse feeds lines seeded from every sample: Parse must not panic,
// must accept the structure of every valid JSON object (its errors then
// come from the fields, never from the scanner), and an event it returns
// is complete.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		for _, l := range lines(f, filepath.Base(name)) {
			if len(l) < 4096 {
				f.Add(l)
			}
		}
	}
	if _, err := os.Stat("testdata"); err != nil {
		f.Fatal(err)
	}
	p := NewParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		var ev sensor.Event
		ok, err := p.Parse(line, &ev)
		if err != nil {
			if ok || !errors.Is(err, ErrInvalid) {
				t.Fatalf("ok=%v err=%v", ok, err)
			}
			if errors.Is(err, jsonscan.ErrSyntax) && json.Valid(line) {
				var m map[string]json.RawMessage
				if json.Unmarshal(line, &m) == nil {
					t.Fatalf("scanner refused a valid object: %v", err)
				}
			}
			return
		}
		if ok && (ev.Time.IsZero() || ev.Type == 0 || ev.Input != "eve" || len(ev.Name) > 253) {
			t.Fatalf("incomplete event %+v", ev)
		}
	})
}
