package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// A finding whose kind no check defines (an imported Nuclei result) gets
// its explanation from the finding catalog's family kind in both
// languages, and keeps the tool's own title.
func TestFindingPageCatalogFallback(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	a := w.assets["a1"]
	const kind, target = "import.nuclei.cve-2021-41773", "https://portal.cuca.example.vn/"
	f := store.Finding{Key: finding.Key(a.ID, kind, target, ""), OrgID: a.OrgID, AssetID: a.ID, Check: kind, Family: "import",
		Severity: finding.Critical, Target: target, Title: "Apache 2.4.49 path traversal"}
	if _, err := w.st.RecordFindings(ctx, store.FindingBatch{JobID: "import-1", At: testNow.Add(-time.Hour), Policy: finding.DefaultPolicy,
		Seen: []store.Finding{f}}); err != nil {
		t.Fatal(err)
	}
	page, err := w.st.ListFindings(ctx, auth.SystemPrincipal, store.FindingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, g := range page.Items {
		if g.Check == kind {
			id = g.ID
		}
	}
	if id == 0 {
		t.Fatal("imported finding not recorded")
	}
	c := w.client()
	c.login("admin", "")
	path := fmt.Sprintf("/findings/%d", id)
	for _, tc := range []struct{ lang, want string }{
		{"vi", "Đối chiếu yêu cầu đã khớp với hệ thống"},
		{"en", "Check the matched request against the system"},
	} {
		code, body := c.get(path + "?lang=" + tc.lang)
		if code != 200 {
			t.Fatalf("%s: status %d", tc.lang, code)
		}
		if !strings.Contains(body, tc.want) || !strings.Contains(body, "Apache 2.4.49 path traversal") {
			t.Errorf("%s: the page lacks the family's remediation or the tool's title", tc.lang)
		}
	}
}
