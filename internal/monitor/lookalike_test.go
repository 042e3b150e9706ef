package monitor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/idna"

	"github.com/rampart-cert/rampart/internal/discovery/ct/ctlog"
	"github.com/rampart-cert/rampart/internal/finding"
)

func aLabel(t testing.TB, u string) string {
	t.Helper()
	a, err := idna.Lookup.ToASCII(u)
	must(t, err)
	return a
}

func TestGenerate(t *testing.T) {
	vs := Generate("dichvucong.gov.vn", GenOptions{})
	got := map[string]Technique{}
	for _, v := range vs {
		if _, dup := got[v.Name]; dup {
			t.Errorf("%s generated twice", v.Name)
		}
		got[v.Name] = v.Technique
		if v.Name == "dichvucong.gov.vn" {
			t.Error("the name itself was generated")
		}
	}
	for name, want := range map[string]Technique{
		"dichvucng.gov.vn":                  TechOmission,
		"dichvuccong.gov.vn":                TechRepetition,
		"dichvucnog.gov.vn":                 TechTransposition,
		"dichvuc0ng.gov.vn":                 TechHomoglyph,
		"dlchvucong.gov.vn":                 TechHomoglyph,
		aLabel(t, "dichvucоng") + ".gov.vn": TechHomoglyph, // Cyrillic о
		aLabel(t, "dịchvucong") + ".gov.vn": TechDiacritic,
		aLabel(t, "dichvụcong") + ".gov.vn": TechDiacritic,
		aLabel(t, "đichvucong") + ".gov.vn": TechDiacritic,
		"dich-vucong.gov.vn":                TechHyphenation,
		"dichvucong-login.gov.vn":           TechAddedWord,
		"securedichvucong.gov.vn":           TechAddedWord,
		"dichvucong-gov.gov.vn":             TechAddedWord,
		"dichvucong.com":                    TechTLD,
		"dichvucong.com.vn":                 TechTLD,
		"dichvucong.vn":                     TechTLD,
		"dichvucong-gov-vn.com":             TechFlattened,
		"dichvuconggovvn.net":               TechFlattened,
	} {
		if got[name] != want {
			t.Errorf("%s: %q, want %q", name, got[name], want)
		}
	}
	// A name written with Vietnamese accents: its plain form is a
	// look-alike ("bộ" vs "bo").
	idn := aLabel(t, "bộytế") + ".vn"
	var plain bool
	for _, v := range Generate(idn, GenOptions{}) {
		plain = plain || v.Name == "boyte.vn" && v.Technique == TechDiacritic
	}
	if !plain {
		t.Errorf("Generate(%s) lacks boyte.vn", idn)
	}
	if Generate("vn", GenOptions{}) != nil || Generate("gov.vn", GenOptions{}) != nil {
		t.Error("a public suffix has look-alikes")
	}
}

// The matcher recognizes what the generator makes: every variant of a
// long name is reported as imitating it; for a short name (under five
// letters) the one-letter edits are not (they are other people's names
// far more often), everything else is.
func TestMatcherRecognizesGenerated(t *testing.T) {
	cons := []Constituent{
		{Domain: "dichvucong.gov.vn", OrgID: 1, AssetID: 11},
		{Domain: "boyte.gov.vn", OrgID: 2, AssetID: 21},
		{Domain: "chinhphu.vn", OrgID: 3, AssetID: 31},
		{Domain: "mofa.gov.vn", OrgID: 4, AssetID: 41},
		{Domain: aLabel(t, "bộytế") + ".vn", OrgID: 5, AssetID: 51},
	}
	reg := map[string]bool{}
	for _, c := range cons {
		reg[c.Domain] = true
	}
	m := NewMatcher(cons, reg, nil)
	edits := map[Technique]bool{TechOmission: true, TechRepetition: true, TechInsertion: true, TechTransposition: true, TechSubstitution: true}
	for _, c := range cons {
		label, _, _ := splitDomain(c.Domain)
		short := len([]rune(label)) < minEditLen
		for _, v := range Generate(c.Domain, GenOptions{}) {
			if reg[v.Name] {
				continue // another constituent's name
			}
			var hit *Lookalike
			for _, l := range m.Check(v.Name) {
				if l.Imitates == c {
					hit = &l
				}
			}
			switch {
			case short && edits[v.Technique]:
				if hit != nil {
					t.Errorf("%s (%s of a short name %s) reported", v.Name, v.Technique, c.Domain)
				}
			case hit == nil:
				t.Errorf("%s (%s) not recognized as imitating %s", v.Name, v.Technique, c.Domain)
			}
		}
	}
}

func TestMatcherLeavesOthersAlone(t *testing.T) {
	cons := []Constituent{{Domain: "dichvucong.gov.vn", OrgID: 1, AssetID: 11}, {Domain: "boyte.gov.vn", OrgID: 2, AssetID: 21}}
	reg := map[string]bool{"dichvucong.gov.vn": true, "boyte.gov.vn": true, "portal.byte-partner.vn": true, "boyte.vn": true}
	m := NewMatcher(cons, reg, nil)
	for _, n := range []string{
		"vnexpress.net", "google.com", "dichvucong.gov.vn", "portal.dichvucong.gov.vn", "*.boyte.gov.vn",
		"boyte.vn",          // registered by the constituency itself
		"www.boyte.vn",      // under a registered name
		"dichvu.gov.vn",     // shorter by more than a letter
		"congdichvu.gov.vn", // the same letters, rearranged
		"by.vn", "x", "",
	} {
		if got := m.Check(n); len(got) != 0 {
			t.Errorf("%q: %+v", n, got)
		}
	}
	// The whole name under someone else's domain.
	got := m.Check("boyte.gov.vn.secure-login.example.com")
	if len(got) != 1 || got[0].Technique != TechSubdomain || got[0].Registrable != "example.com" || got[0].Imitates.OrgID != 2 {
		t.Fatalf("subdomain trick: %+v", got)
	}
	// One name imitating two constituents is reported for both.
	m2 := NewMatcher([]Constituent{{Domain: "congan.gov.vn", OrgID: 1}, {Domain: "congan.vn", OrgID: 2}}, map[string]bool{"congan.gov.vn": true, "congan.vn": true}, nil)
	if got := m2.Check("c0ngan.com"); len(got) != 2 {
		t.Fatalf("two constituents: %+v", got)
	}
}

// newCert makes a certificate for names, issued by a made-up CA.
func newCert(t testing.TB, names ...string) []byte {
	t.Helper()
	return newCertFrom(t, "Cheap Certs", names...)
}

// newCertFrom makes a certificate for names from a CA whose
// organization is issuer.
func newCertFrom(t testing.TB, issuer string, names ...string) []byte {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: issuer + " CA", Organization: []string{issuer}},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	must(t, err)
	return der
}

func TestLookalikesInCT(t *testing.T) {
	w := newWorld(t)
	log, err := ctlog.New(2, nil) // two entries per batch, as real logs cap them
	must(t, err)
	must(t, log.AddCert(newCert(t, "www.example.org")))
	srv := httptest.NewUnstartedServer(log)
	l, err := net.Listen("tcp", "127.0.0.55:0")
	must(t, err)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	url := srv.URL + "/logs/test/"
	m := w.monitor(t, Config{CT: CTConfig{Logs: []string{url}}})
	ctx := context.Background()

	// The first round starts at the log's end: what was logged before is
	// not judged.
	must(t, m.CTRound(ctx))
	st, err := loadState[ctState](ctx, m, "ct")
	must(t, err)
	if st[url].Position.Next != 1 {
		t.Fatalf("position after the first round: %+v", st[url])
	}
	for _, names := range [][]string{
		{"b0yte.gov.vn", "www.b0yte.gov.vn"},         // BYT, homoglyph
		{"dichvucong-login.com"},                     // DVC, added word
		{"portal.boyte.gov.vn"},                      // BYT's own
		{"shop.example.net", "mail.example.net"},     // nobody's
		{"claimed-login.com"},                        // imitates a claim: nobody's yet
		{"boyte.gov.vn.verify-account.example.info"}, // BYT, subdomain
	} {
		must(t, log.AddCert(newCert(t, names...)))
	}
	must(t, m.CTRound(ctx))
	fs := w.findings(t, "monitor.lookalike-domain")
	got := map[string]finding.Finding{}
	for _, f := range fs {
		got[f.Target] = f
	}
	if len(got) != 3 {
		t.Fatalf("look-alikes: %v", keys(got))
	}
	b0 := got["b0yte.gov.vn"]
	if b0.OrgID != w.byt.ID || b0.AssetID != w.assets["boyte.gov.vn"].ID || b0.Severity != finding.High {
		t.Fatalf("b0yte: %+v", b0)
	}
	ev := decode[LookalikeEvidence](t, b0.Evidence)
	if ev.Technique != TechHomoglyph || ev.Imitates != "boyte.gov.vn" || ev.Certificate == nil || ev.Certificate.IssuerOrg != "Cheap Certs" ||
		ev.Certificate.Log != url || ev.Certificate.Index != 1 || len(ev.Names) != 2 || ev.Sources[0] != "ct:"+url {
		t.Fatalf("b0yte evidence: %+v", ev)
	}
	if d := got["dichvucong-login.com"]; d.OrgID != w.dvc.ID || decode[LookalikeEvidence](t, d.Evidence).Technique != TechAddedWord {
		t.Fatalf("dichvucong-login: %+v", d)
	}
	if e := got["example.info"]; e.OrgID != w.byt.ID || decode[LookalikeEvidence](t, e.Evidence).Technique != TechSubdomain {
		t.Fatalf("subdomain: %+v", e)
	}
	st, _ = loadState[ctState](ctx, m, "ct")
	if st[url].Position.Next != 7 || st[url].Entries != 6 {
		t.Fatalf("position: %+v", st[url])
	}

	// A look-alike seen once stays reported for Hold, then is dropped.
	w.advance(10 * 24 * time.Hour)
	must(t, m.LookalikeRound(ctx))
	for _, f := range w.findings(t, "monitor.lookalike-domain") {
		if !f.LastSeen.Equal(w.now) {
			t.Errorf("%s not reported again within its hold", f.Target)
		}
	}
	w.advance(25 * 24 * time.Hour)
	must(t, m.LookalikeRound(ctx))
	for _, f := range w.findings(t, "monitor.lookalike-domain") {
		if f.LastSeen.Equal(w.now) {
			t.Errorf("%s reported past its hold", f.Target)
		}
	}
	if st, _ := loadState[lookalikeState](ctx, m, "lookalike"); len(st) != 0 {
		t.Errorf("look-alikes past their hold are kept: %v", st)
	}
}

func TestUnexpectedIssuerInCT(t *testing.T) {
	w := newWorld(t)
	res := startResolver(t, "127.0.0.56")
	res.set("boyte.gov.vn", "CAA", `0 issue "letsencrypt.org"`, `0 iodef "mailto:soc@boyte.gov.vn"`)
	log, err := ctlog.New(0, nil)
	must(t, err)
	srv := httptest.NewUnstartedServer(log)
	l, err := net.Listen("tcp", "127.0.0.56:0")
	must(t, err)
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	m := w.monitor(t, Config{DNS: DNSConfig{Resolver: res.addr, Rate: 1000}, CT: CTConfig{Logs: []string{srv.URL + "/"}}})
	ctx := context.Background()
	must(t, m.DNSRound(ctx)) // the CAA records, as the DNS detector keeps them
	must(t, m.CTRound(ctx))
	for _, c := range []struct {
		issuer string
		names  []string
	}{
		{"DigiCert Inc", []string{"portal.boyte.gov.vn", "www.portal.boyte.gov.vn"}}, // not in BYT's CAA
		{"Let's Encrypt", []string{"www.boyte.gov.vn"}},                              // allowed
		{"DigiCert Inc", []string{"mail.dichvucong.gov.vn"}},                         // DVC publishes no CAA
		{"Cheap Certs", []string{"x.boyte.gov.vn"}},                                  // a CA not known: not judged
	} {
		must(t, log.AddCert(newCertFrom(t, c.issuer, c.names...)))
	}
	must(t, m.CTRound(ctx))
	fs := w.findings(t, "monitor.cert-unexpected-issuer")
	if len(fs) != 1 || fs[0].OrgID != w.byt.ID || fs[0].AssetID != w.assets["boyte.gov.vn"].ID || fs[0].Target != "portal.boyte.gov.vn" {
		t.Fatalf("unexpected issuer findings: %+v", fs)
	}
	ev := decode[IssuerEvidence](t, fs[0].Evidence)
	if ev.Domain != "boyte.gov.vn" || ev.IssuerCAA[0] != "digicert.com" || len(ev.CAA) != 2 || ev.Certificate == nil || ev.Certificate.IssuerOrg != "DigiCert Inc" {
		t.Fatalf("evidence %+v", ev)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestLookalikesInZone(t *testing.T) {
	w := newWorld(t)
	zone := "$ORIGIN vn.\n$TTL 86400\n" +
		"boyte       IN NS ns1.hosting.example.\n" +
		"boyte       IN NS ns2.hosting.example.\n" +
		aLabel(t, "bộyte") + " IN NS ns1.hosting.example.\n" +
		"dichvucongg IN NS ns1.hosting.example.\n" +
		"vnexpress   IN NS ns1.fpt.example.\n" +
		"$ORIGIN gov.vn.\n" +
		"boyte       IN NS dns1.vnnic.vn.\n"
	dir := t.TempDir()
	zf := filepath.Join(dir, "vn.zone")
	must(t, os.WriteFile(zf, []byte(zone), 0o600))
	list := filepath.Join(dir, "new-domains.txt")
	must(t, os.WriteFile(list, []byte("# newly registered\nb0yte.com\nexample.com\n"), 0o600))
	m := w.monitor(t, Config{Lookalike: LookalikeConfig{Zones: []string{zf, list}}})
	must(t, m.LookalikeRound(context.Background()))
	got := map[string]string{}
	for _, f := range w.findings(t, "monitor.lookalike-domain") {
		ev := decode[LookalikeEvidence](t, f.Evidence)
		got[f.Target] = string(ev.Technique) + " " + ev.Imitates
		if f.Severity != finding.Medium {
			t.Errorf("%s: %s (no certificate: medium)", f.Target, f.Severity)
		}
		if !strings.HasPrefix(ev.Sources[0], "zone:") {
			t.Errorf("%s: sources %v", f.Target, ev.Sources)
		}
	}
	want := map[string]string{
		"boyte.vn":                 "tld boyte.gov.vn",
		aLabel(t, "bộyte") + ".vn": "diacritic boyte.gov.vn",
		"dichvucongg.vn":           "repetition dichvucong.gov.vn",
		"b0yte.com":                "homoglyph boyte.gov.vn",
	}
	if len(got) != len(want) {
		t.Fatalf("look-alikes %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
