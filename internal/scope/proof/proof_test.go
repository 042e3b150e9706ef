package proof

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/asset"
)

// txtServer is a miekg/dns server on a loopback address answering TXT
// queries from a map.
type txtServer struct {
	mu      sync.Mutex
	records map[string][]string // fqdn → strings
}

func (s *txtServer) ServeDNS(w mdns.ResponseWriter, r *mdns.Msg) {
	m := new(mdns.Msg)
	m.SetReply(r)
	q := r.Question[0]
	s.mu.Lock()
	txt, ok := s.records[strings.ToLower(q.Name)]
	s.mu.Unlock()
	if !ok {
		m.Rcode = mdns.RcodeNameError
	} else if q.Qtype == mdns.TypeTXT {
		for _, rec := range txt { // one record each; "|" splits a record's strings
			m.Answer = append(m.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: q.Name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60}, Txt: strings.Split(rec, "|")})
		}
	}
	_ = w.WriteMsg(m)
}

// startDNS serves s on 127.77.250.53 (any free port) until the test ends.
func startDNS(t *testing.T, s *txtServer) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.77.250.53:0")
	if err != nil {
		t.Skipf("no loopback address 127.77.250.53: %v", err)
	}
	srv := &mdns.Server{PacketConn: pc, Handler: s}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

// startWeb serves h over HTTP and HTTPS on 127.77.250.80.
func startWeb(t *testing.T, h http.Handler, tls bool) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.77.250.80:0")
	if err != nil {
		t.Skipf("no loopback address 127.77.250.80: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestProveDNS(t *testing.T) {
	tok := asset.NewVerifyToken()
	dns := &txtServer{records: map[string][]string{
		"_rampart-verify.portal.example.vn.": {"rampart-verify=|" + tok}, // split strings join
		"_rampart-verify.wrong.example.vn.":  {"rampart-verify=0123456789abcdef0123456789abcdef"},
		"_rampart-verify.example.vn.":        {"v=spf1 -all", "rampart-verify=" + tok},
	}}
	c := &Checker{Resolver: startDNS(t, dns), Internal: true, Timeout: 3 * time.Second}
	ctx := context.Background()
	for _, a := range []asset.Asset{
		{Kind: asset.KindHostname, Value: "portal.example.vn", VerifyToken: tok},
		{Kind: asset.KindDomain, Value: "example.vn", VerifyToken: tok},
	} {
		m, err := c.Prove(ctx, a)
		if err != nil || m != asset.VerifiedByDNS {
			t.Fatalf("%s: %q, %v", a.Value, m, err)
		}
	}
	for _, v := range []string{"wrong.example.vn", "absent.example.vn"} {
		_, err := c.Prove(ctx, asset.Asset{Kind: asset.KindDomain, Value: v, VerifyToken: tok})
		if !errors.Is(err, ErrNoProof) {
			t.Fatalf("%s proven: %v", v, err)
		}
	}
	// Not internal: a loopback resolver is refused before it is asked.
	strict := &Checker{Resolver: c.Resolver, Timeout: time.Second}
	if _, err := strict.Prove(ctx, asset.Asset{Kind: asset.KindDomain, Value: "example.vn", VerifyToken: tok}); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("strict checker asked a loopback resolver: %v", err)
	}
}

func TestProveWellKnown(t *testing.T) {
	tok := asset.NewVerifyToken()
	var hits sync.Map
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/rampart-verify/", func(w http.ResponseWriter, r *http.Request) {
		hits.Store(r.URL.Path, true)
		if strings.TrimPrefix(r.URL.Path, "/.well-known/rampart-verify/") != tok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(tok + "\n"))
	})
	ctx := context.Background()
	c := &Checker{Internal: true, Timeout: 3 * time.Second}
	for _, tls := range []bool{false, true} {
		srv := startWeb(t, mux, tls)
		a := asset.Asset{Kind: asset.KindURL, Value: srv.URL + "/app/", VerifyToken: tok}
		m, err := c.Prove(ctx, a)
		if err != nil || m != asset.VerifiedByHTTP {
			t.Fatalf("tls=%v: %q, %v", tls, m, err)
		}
		a.VerifyToken = asset.NewVerifyToken()
		if _, err := c.Prove(ctx, a); !errors.Is(err, ErrNoProof) {
			t.Fatalf("tls=%v: another token proven: %v", tls, err)
		}
	}

	// Redirects may not leave the host; big or endless bodies are cut.
	other := startWeb(t, mux, false)
	bad := http.NewServeMux()
	bad.HandleFunc("/.well-known/rampart-verify/", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("x") {
		case "":
			// 127.77.250.80 → localhost is another host name.
			http.Redirect(w, r, strings.Replace(other.URL, "127.77.250.80", "localhost", 1)+r.URL.Path, http.StatusFound)
		}
	})
	srv := startWeb(t, bad, false)
	if _, err := c.Fetch(ctx, srv.URL+"/.well-known/rampart-verify/"+tok); err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("off-host redirect followed: %v", err)
	}
	huge := startWeb(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(tok + strings.Repeat(" ", 4096)))
	}), false)
	if _, err := c.Fetch(ctx, huge.URL+"/"); err == nil {
		t.Fatal("a body over the cap was read")
	}
	slow := startWeb(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}), false)
	quick := &Checker{Internal: true, Timeout: 300 * time.Millisecond}
	start := time.Now()
	if _, err := quick.Prove(ctx, asset.Asset{Kind: asset.KindURL, Value: slow.URL + "/", VerifyToken: tok}); err == nil {
		t.Fatal("a silent server proved a claim")
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("the deadline did not hold: %v", time.Since(start))
	}
	// Not internal: loopback is never contacted.
	strict := &Checker{Timeout: time.Second}
	if _, err := strict.Fetch(ctx, huge.URL+"/"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("strict checker fetched loopback: %v", err)
	}
}

func TestMatch(t *testing.T) {
	tok := asset.NewVerifyToken()
	for body, want := range map[string]bool{
		tok: true, " " + tok + "\r\n": true, "rampart-verify=" + tok: true, "x" + tok: false, "": false,
		tok + tok: false, strings.ToUpper(tok): false,
	} {
		if got := MatchBody([]byte(body), tok); got != want {
			t.Errorf("MatchBody(%q) = %v", body, got)
		}
	}
	if MatchBody([]byte(""), "") || MatchTXT([]string{"rampart-verify="}, "") {
		t.Fatal("an empty token matched")
	}
}

func FuzzMatchBody(f *testing.F) {
	tok := "0123456789abcdef0123456789abcdef"
	f.Add([]byte(tok))
	f.Add([]byte("rampart-verify=" + tok + "\n"))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if MatchBody(b, tok) && !strings.Contains(strings.ToLower(string(b)), tok) {
			t.Fatalf("matched without the token: %q", b)
		}
	})
}

func FuzzTXTAnswer(f *testing.F) {
	m := new(mdns.Msg)
	m.SetQuestion("_rampart-verify.example.vn.", mdns.TypeTXT)
	m.Answer = append(m.Answer, &mdns.TXT{Hdr: mdns.RR_Header{Name: "_rampart-verify.example.vn.", Rrtype: mdns.TypeTXT, Class: mdns.ClassINET}, Txt: []string{"rampart-verify=x"}})
	b, _ := m.Pack()
	f.Add(b)
	f.Add([]byte{0, 1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := new(mdns.Msg)
		if err := in.Unpack(b); err != nil {
			return
		}
		txt, err := txtStrings(in)
		if err == nil && len(txt) > MaxTXT {
			t.Fatalf("%d TXT strings", len(txt))
		}
		_ = MatchTXT(txt, "0123456789abcdef0123456789abcdef")
	})
}
