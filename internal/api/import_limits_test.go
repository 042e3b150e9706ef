package api_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
)

// TestF10ImportsBounded (security review F10): a second import of an
// organization while one runs is refused with Retry-After; a 100 MB CSV
// is refused without the server holding it, and a file of more rows than
// an online import takes is refused at the first row too many.
func TestF10ImportsBounded(t *testing.T) {
	e := newEnv(t)
	a := e.createOrg(e.admin, "A", "agency", 0)
	member := e.user("a-member", auth.RoleOrgMember, a)

	done, err := e.srv.Imports.Enter(a)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do(member, "POST", "/api/v1/import/assets?org_code=A", "kind,value\nhostname,x.a.gov.vn\n")
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("import while another runs: %d %v %s", r.status, r.header, r.body)
	}
	done()

	// 100 MB of CSV, streamed: refused once past the body cap, and the
	// heap does not grow by the file's size.
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		io.WriteString(pw, "kind,value\n")
		line := strings.Repeat("x", 60)
		for i := 0; i < 1_600_000; i++ {
			if _, err := fmt.Fprintf(pw, "hostname,h%d-%s.a.gov.vn\n", i, line); err != nil {
				return
			}
		}
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	req, _ := http.NewRequest("POST", e.http.URL+"/api/v1/import/assets?org_code=A", pr)
	req.Header.Set("Authorization", "Bearer "+member)
	req.Header.Set("Content-Type", "text/csv")
	res, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	pr.CloseWithError(io.EOF)
	runtime.ReadMemStats(&after)
	if res.StatusCode != 413 && res.StatusCode != 422 {
		t.Fatalf("100 MB import: %d %s", res.StatusCode, body)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 200<<20 {
		t.Fatalf("the heap grew by %d MB for a refused import", grown>>20)
	}

	// More rows than an online import takes: refused at the row too many.
	var b strings.Builder
	b.WriteString("kind,value\n")
	for i := range 100_001 {
		fmt.Fprintf(&b, "hostname,h%d.a.gov.vn\n", i)
	}
	r = e.do(member, "POST", "/api/v1/import/assets?org_code=A", b.String())
	if r.status != 422 || !strings.Contains(string(r.body), "more than 100000 rows") || !strings.Contains(string(r.body), `"line":100002`) {
		t.Fatalf("too many rows: %d %s", r.status, r.body[:min(len(r.body), 300)])
	}
}
