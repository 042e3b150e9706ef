package web

import (
	"strings"
	"testing"
)

// TestPostureHTMLEscapes: the posture lines printed outside the template
// escape what an organization's name, code and kind may hold.
func TestPostureHTMLEscapes(t *testing.T) {
	cat, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	rows := []postureRow{{OrgID: 7, Name: `<script>alert("x")</script>`, Code: `A&B'`, Kind: `<i>`, Grade: `F"`, Score: 12,
		Active: 1234, Critical: 5, KEV: 1, Overdue: 2, Assets: 3}}
	got := string(postureHTML(cat.get("vi"), rows))
	for _, bad := range []string{"<script>", `A&B'`, "<i>", `F"`} {
		if strings.Contains(got, bad) {
			t.Errorf("unescaped %q in %s", bad, got)
		}
	}
	for _, want := range []string{`href="/orgs/7"`, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "A&amp;B&#39;", "&lt;i&gt;",
		`grade-F&#34;`, `<td class="num">1.234</td>`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in %s", want, got)
		}
	}
}
