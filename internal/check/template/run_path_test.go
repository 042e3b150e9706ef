package template

import (
	"context"
	"net/http"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

// TestEncodedPathWithQuery checks that a path with percent encodings and a
// query reaches the server exactly as written (the query once).
func TestEncodedPathWithQuery(t *testing.T) {
	got := make(chan string, 4)
	ap := httpServer(t, func(w http.ResponseWriter, r *http.Request) { got <- r.RequestURI })
	for _, path := range []string{"/a%2fb?x=%2f1&y", "/a?x=%2f1", "/a%2e%2e/b?", "/plain?q=1"} {
		tp, err := Parse("q.yaml", []byte("id: template.q\nseverity: info\ntitle: {en: a, vi: b}\ndescription: {en: a, vi: b}\n"+
			"remediation: {en: a, vi: b}\napplies: {services: [http]}\nrequests:\n  - path: '"+path+"'\n    matchers: [{type: status, status: [200]}]\n"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tp.Run(context.Background(), env(), check.Target{Kind: check.TargetService, Addr: ap, Service: "http"}); err != nil {
			t.Fatal(err)
		}
		if uri := <-got; uri != path {
			t.Errorf("sent %q, server got %q", path, uri)
		}
	}
}
