package discovery_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery"
	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/ct/ctlog"
)

// issuer makes certificates for tests: one CA, one leaf key (RSA 2048
// when realistic, as most logged certificates are).
type issuer struct {
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	key   any
	pub   any
}

func newIssuer(t testing.TB, rsaLeaf bool) *issuer {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Discovery Test CA", Organization: []string{"Rampart tests"}},
		IsCA: true, BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	is := &issuer{ca: ca, caKey: caKey}
	if rsaLeaf {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		is.key, is.pub = k, &k.PublicKey
	} else {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		is.key, is.pub = k, &k.PublicKey
	}
	return is
}

// cert issues a certificate shaped like a public one: SANs, key usages,
// policies, OCSP and CA issuer URLs, CRL distribution point.
func (is *issuer) cert(t testing.TB, serial int64, names []string, poison bool) []byte {
	t.Helper()
	tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		OCSPServer: []string{"http://ocsp.ca.example"}, IssuingCertificateURL: []string{"http://ca.example/ca.crt"},
		CRLDistributionPoints: []string{"http://crl.ca.example/ca.crl"}, Policies: []x509.OID{mustOID(t, "2.23.140.1.2.1")}}
	if poison {
		tpl.ExtraExtensions = []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: []byte{5, 0}}}
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, is.ca, is.pub, is.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustOID(t testing.TB, s string) x509.OID {
	o, err := x509.ParseOID(s)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func readTestPEM(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("ct", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	return blk.Bytes
}

type sink struct {
	mu sync.Mutex
	cs []discovery.Candidate
}

func (s *sink) emit(c discovery.Candidate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cs = append(s.cs, c)
}

func (s *sink) values(src discovery.Source) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.cs {
		if src == "" || c.Source == src {
			out = append(out, c.Value())
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func TestCTLogCandidates(t *testing.T) {
	l, err := ctlog.New(2, nil)
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t, false)
	must(t, l.AddCert(readTestPEM(t, "leaf00.cert")))
	must(t, l.AddCert(is.cert(t, 2, []string{"dichvucong.hn.gov.vn", "www.other.example"}, false), is.ca.Raw))
	must(t, l.AddPrecert(is.cert(t, 3, []string{"*.hoso.hn.gov.vn"}, true), is.ca.Raw))
	must(t, l.AddCert(is.cert(t, 4, []string{"xhn.gov.vn", "hn.gov.vn.evil.example"}, false), is.ca.Raw))
	must(t, l.AddRaw(ct.RawEntry{LeafInput: []byte{0, 0, 1}})) // a broken entry is skipped
	must(t, l.AddCert(is.cert(t, 5, []string{"vpn.hn.gov.vn"}, false), is.ca.Raw))
	srv := httptest.NewServer(l)
	defer srv.Close()

	d := discovery.NewDomains([]string{"hn.gov.vn", "csr.pem"})
	var s sink
	c := &ct.Client{URL: srv.URL, Key: l.PublicKey()}
	pos, st, err := discovery.ScanLog(context.Background(), c, ct.Position{}, 0, d, s.emit)
	must(t, err)
	if pos.Next != 6 || st.Entries != 6 || st.Bad != 1 {
		t.Fatalf("pos %+v stats %+v", pos, st)
	}
	want := []string{"dichvucong.hn.gov.vn", "hoso.hn.gov.vn", "leaf00.csr.pem", "vpn.hn.gov.vn"}
	if got := s.values(discovery.SourceCT); !slices.Equal(got, want) {
		t.Fatalf("candidates %v, want %v", got, want)
	}
	for _, cd := range s.cs {
		if cd.Name == "vpn.hn.gov.vn" && (cd.Under != "hn.gov.vn" || cd.Evidence != "certificate in CT log "+srv.URL+" entry 5") {
			t.Errorf("candidate %+v", cd)
		}
	}

	// The same entries saved to a file give the same candidates.
	es, err := c.GetEntries(context.Background(), 0, 5)
	must(t, err)
	var all []ct.RawEntry
	for len(all) < 6 {
		all = append(all, es...)
		es, err = c.GetEntries(context.Background(), uint64(len(all)), 5)
		if len(all) < 6 {
			must(t, err)
		}
	}
	b, _ := json.Marshal(ct.EntriesResponse{Entries: all})
	var s2 sink
	st2, err := discovery.ReadCTFile(bytes.NewReader(b), "saved.json", d, s2.emit)
	must(t, err)
	if got := s2.values(discovery.SourceCT); !slices.Equal(got, want) || st2 != st {
		t.Fatalf("file: %v %+v", got, st2)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDomainsMatch(t *testing.T) {
	d := discovery.NewDomains([]string{"gov.vn.", "hn.gov.vn", "VN", "a.b.example"})
	for name, want := range map[string]string{
		"x.hn.gov.vn":   "hn.gov.vn",
		"hn.gov.vn":     "hn.gov.vn",
		"xhn.gov.vn":    "gov.vn",
		"y.a.b.example": "a.b.example",
		"b.example":     "",
		"vn":            "",
		"example.com":   "",
	} {
		got, ok := d.Match(name)
		if got != want || ok != (want != "") {
			t.Errorf("Match(%q) = %q %v, want %q", name, got, ok, want)
		}
	}
	if d.Len() != 3 {
		t.Fatalf("len %d", d.Len())
	}
}

// BenchmarkCTEntries decodes log entries and matches their names against
// 100,000 registered domains, as a CT scan does: RSA-2048 certificates of
// public-CA shape with 1-6 names, one entry in four a precertificate, one
// in ten under a registered domain. The goal is 10,000 entries a second
// on one core (go test -bench CTEntries -cpu 1).
func BenchmarkCTEntries(b *testing.B) {
	doms := make([]string, 100_000)
	for i := range doms {
		doms[i] = fmt.Sprintf("donvi%d.gov.vn", i)
	}
	d := discovery.NewDomains(doms)
	is := newIssuer(b, true)
	rng := mrand.New(mrand.NewPCG(1, 2))
	var entries []ct.RawEntry
	for i := range 400 {
		var names []string
		for j := range 1 + rng.IntN(6) {
			if i%10 == 0 {
				names = append(names, fmt.Sprintf("h%d.donvi%d.gov.vn", j, rng.IntN(len(doms))))
			} else {
				names = append(names, fmt.Sprintf("shop%d-%d.example%d.com", i, j, rng.IntN(1000)))
			}
		}
		pre := i%4 == 1
		der := is.cert(b, int64(i+10), names, pre)
		var leaf []byte
		if pre {
			tbs, _ := ct.TBSOf(der)
			leaf = ct.AppendLeaf(nil, 1, ct.PrecertEntry, tbs, [32]byte{})
		} else {
			leaf = ct.AppendLeaf(nil, 1, ct.X509Entry, der, [32]byte{})
		}
		entries = append(entries, ct.RawEntry{LeafInput: leaf})
	}
	matched := 0
	b.ResetTimer()
	n := 0
	for b.Loop() {
		e := entries[n%len(entries)]
		n++
		if err := discovery.MatchEntry(e, d, func(string, string) { matched++ }); err != nil {
			b.Fatal(err)
		}
	}
	if matched == 0 {
		b.Fatal("nothing matched")
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "entries/s")
}
