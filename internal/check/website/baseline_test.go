package website

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// A hostile page cannot make a baseline too big for the platform's store
// (queue.KVMaxValue, 256 KiB): long titles are cut, long links left out.
func TestFingerprintBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("<html><head><title>" + strings.Repeat("tiêu đề ", 20000) + "</title></head><body>")
	for i := range 200 {
		fmt.Fprintf(&b, `<a href="/p%d?%s">x</a><a href="/short%d">y</a>`, i, strings.Repeat("q", 9000), i)
	}
	b.WriteString("</body></html>")
	base := Fingerprint("http://sovhtt.gov.vn/", Parse([]byte(b.String()), "sovhtt.gov.vn"), time.Unix(0, 0))
	if len(base.Title) > maxTitleLen {
		t.Errorf("title %d bytes", len(base.Title))
	}
	for _, l := range base.Links {
		if len(l) > maxLinkLen {
			t.Errorf("link of %d bytes kept", len(l))
		}
	}
	if len(base.Links) == 0 {
		t.Error("short links dropped too")
	}
	j, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(j) > 140<<10 {
		t.Errorf("baseline JSON %d bytes", len(j))
	}
}
