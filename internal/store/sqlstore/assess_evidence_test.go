package sqlstore

import (
	"errors"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestF26EvidenceNames: evidence names that are no file name, that hide a
// path behind percent-encoding, or that carry control or bidirectional
// formatting characters are refused; ordinary names (Vietnamese, with a
// per cent sign, with a Windows path) are kept, reduced to their base.
func TestF26EvidenceNames(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"quy-che.pdf", "quy-che.pdf"},
		{"Quy chế bảo mật.docx", "Quy chế bảo mật.docx"},
		{`C:\Users\an\báo cáo.xlsx`, "báo cáo.xlsx"},
		{"../../etc/passwd", "passwd"},
		{"tiến độ 100%.pdf", "tiến độ 100%.pdf"},
		{"50%25 done.txt", "50%25 done.txt"},
		{".profile", ".profile"},
	} {
		got, err := evidenceName(c.in)
		if err != nil || got != c.want {
			t.Errorf("evidenceName(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", ".", "..", "/", "...", "a/..", " .. ",
		"%2e%2e%2fetc%2fpasswd", "%2E%2E", "..%2fsecret", "a%5cb.txt", "%252e%252e%252fx", "x%00.pdf", "x%0d%0a.pdf",
		"report\r\n.pdf", "a\x00b.pdf", "a\nb", "\u202egnp.exe", "photo\u2066.exe", "a\u200fb.pdf", "bad\xffutf8"} {
		if got, err := evidenceName(in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("evidenceName(%q) = %q, %v; want ErrInvalid", in, got, err)
		}
	}
}
