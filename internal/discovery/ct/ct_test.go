package ct_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
	"github.com/rampart-cert/rampart/internal/discovery/ct/ctlog"
)

func readPEM(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		out = append(out, blk.Bytes)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no PEM block", name)
	}
	return out
}

func readDER(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// makeCert issues a certificate for names with a throwaway CA; poison
// makes it a precertificate.
func makeCert(t testing.TB, cn string, names []string, poison bool) (der, issuer []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, DNSNames: names,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	if poison {
		tpl.ExtraExtensions = []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: []byte{5, 0}}}
	}
	der, err = x509.CreateCertificate(rand.Reader, tpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der, caDER
}

// namesOf decodes an entry as a scanner does.
func namesOf(t testing.TB, e ct.RawEntry) []string {
	t.Helper()
	l, err := ct.ParseLeaf(e.LeafInput)
	if err != nil {
		t.Fatalf("parse leaf: %v", err)
	}
	c, err := l.Certificate()
	if err != nil {
		t.Fatalf("certificate: %v", err)
	}
	return ct.Names(c)
}

// realLog logs the real certificates of testdata and generated ones.
func realLog(t testing.TB, maxBatch int) (*ctlog.Log, [][]string) {
	t.Helper()
	l, err := ctlog.New(maxBatch, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	leaf00 := readPEM(t, "leaf00.cert")[0]
	must(t, l.AddCert(leaf00))
	want = append(want, []string{"leaf00.csr.pem"})
	chain := readPEM(t, "subleaf-pre.chain")
	must(t, l.AddPrecert(readPEM(t, "subleaf-pre.cert")[0], chain[1], chain[2:]...))
	want = append(want, []string{"subleaf.csr.pem"})
	must(t, l.AddPrecert(readDER(t, "precert.der"), readDER(t, "intermediate.der")))
	want = append(want, []string{"flowers-to-the-world.com"})
	must(t, l.AddCert(readPEM(t, "test-cert.pem")[0]))
	want = append(want, []string{}) // no CN, no SAN
	for i, names := range [][]string{
		{"dichvucong.example.gov.vn", "*.hoso.example.gov.vn"},
		{"mail.example.gov.vn"},
		{"unrelated.example.com"},
		{"vpn.example.gov.vn", "vpn2.example.gov.vn"},
	} {
		der, issuer := makeCert(t, names[0], names, i%2 == 1)
		if i%2 == 1 {
			must(t, l.AddPrecert(der, issuer))
		} else {
			must(t, l.AddCert(der, issuer))
		}
		w := []string{}
		for _, n := range names {
			w = append(w, strings.TrimPrefix(n, "*."))
		}
		want = append(want, w)
	}
	return l, want
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRealCertificatesThroughALog(t *testing.T) {
	l, want := realLog(t, 3)
	srv := httptest.NewServer(http.StripPrefix("/logs/test", l))
	defer srv.Close()
	var calls atomic.Int64
	hc := &http.Client{Transport: countingTransport{&calls, http.DefaultTransport}, Timeout: 5 * time.Second}
	c := &ct.Client{URL: srv.URL + "/logs/test/", HTTP: hc, Batch: 100, Key: l.PublicKey()}
	var got [][]string
	var idx []uint64
	pos, err := c.Scan(context.Background(), ct.Position{}, 0, func(i uint64, e ct.RawEntry) error {
		idx = append(idx, i)
		got = append(got, namesOf(t, e))
		return nil
	})
	must(t, err)
	if pos.Next != uint64(len(want)) || pos.TreeSize != uint64(len(want)) {
		t.Fatalf("position %+v after %d entries", pos, len(want))
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Errorf("entry %d: names %v, want %v", i, got[i], want[i])
		}
		if idx[i] != uint64(i) {
			t.Errorf("entry %d has index %d", i, idx[i])
		}
	}
	// The log caps a batch at 3: after the first short answer the client
	// asks for 3 at a time (get-sth + ceil(8/3) get-entries).
	if n := calls.Load(); n != 1+3 {
		t.Errorf("%d requests, want 4", n)
	}

	// Resumption: new entries only.
	der, issuer := makeCert(t, "new.example.gov.vn", []string{"new.example.gov.vn"}, false)
	must(t, l.AddCert(der, issuer))
	got = nil
	pos2, err := c.Scan(context.Background(), pos, 0, func(i uint64, e ct.RawEntry) error {
		if i != pos.Next {
			t.Errorf("resumed at %d, want %d", i, pos.Next)
		}
		got = append(got, namesOf(t, e))
		return nil
	})
	must(t, err)
	if pos2.Next != pos.Next+1 || len(got) != 1 || got[0][0] != "new.example.gov.vn" {
		t.Fatalf("resume: %+v %v", pos2, got)
	}

	// A limit stops early; an error from fn keeps the position at that entry.
	p3, err := c.Scan(context.Background(), ct.Position{}, 2, func(uint64, ct.RawEntry) error { return nil })
	must(t, err)
	if p3.Next != 2 {
		t.Fatalf("limit 2: next %d", p3.Next)
	}
	stop := errors.New("stop")
	p4, err := c.Scan(context.Background(), ct.Position{}, 0, func(i uint64, _ ct.RawEntry) error {
		if i == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || p4.Next != 5 {
		t.Fatalf("stop at 5: %+v %v", p4, err)
	}
	// A position beyond the tree is refused (another log at this URL).
	if _, err := c.Scan(context.Background(), ct.Position{Next: 1000}, 0, nil); !errors.Is(err, ct.ErrLog) {
		t.Fatalf("position beyond the tree: %v", err)
	}
}

type countingTransport struct {
	n *atomic.Int64
	t http.RoundTripper
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.t.RoundTrip(r)
}

func TestSTHSignature(t *testing.T) {
	l, _ := realLog(t, 0)
	sth := l.STH()
	must(t, ct.VerifySTH(l.PublicKey(), sth))
	k, err := ct.ParseKey(l.KeyBase64())
	must(t, err)
	must(t, ct.VerifySTH(k, sth))
	bad := sth
	bad.TreeSize++
	if err := ct.VerifySTH(l.PublicKey(), bad); !errors.Is(err, ct.ErrSignature) {
		t.Fatalf("changed tree size verifies: %v", err)
	}
	other, _ := realLog(t, 0)
	srv := httptest.NewServer(l)
	defer srv.Close()
	c := &ct.Client{URL: srv.URL, Key: other.PublicKey()}
	if _, err := c.GetSTH(context.Background()); !errors.Is(err, ct.ErrSignature) {
		t.Fatalf("another log's key verifies: %v", err)
	}
}

func TestRootHash(t *testing.T) {
	// RFC 6962 test vectors would need their leaves; check the structure:
	// a tree of 3 is H(1 || H(1||a||b) || c).
	a, b, c := ct.LeafHash([]byte("a")), ct.LeafHash([]byte("b")), ct.LeafHash([]byte("c"))
	ab := ct.RootHash([][32]byte{a, b})
	want := ct.RootHash([][32]byte{ab, c})
	if got := ct.RootHash([][32]byte{a, b, c}); got != want {
		t.Fatalf("root of 3: %x, want %x", got, want)
	}
	if got := ct.RootHash(nil); got != [32]byte{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
		0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55} {
		t.Fatalf("empty root %x", got)
	}
}

func TestHostileLog(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"status": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 503) },
		"not json": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>"))
		},
		"short root": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"tree_size":5,"timestamp":1,"sha256_root_hash":"AAAA","tree_head_signature":""}`))
		},
		"too many entries": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "get-sth") {
				w.Write([]byte(`{"tree_size":2,"timestamp":1,"sha256_root_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","tree_head_signature":""}`))
				return
			}
			w.Write([]byte(`{"entries":[{"leaf_input":"AA=="},{"leaf_input":"AA=="},{"leaf_input":"AA=="}]}`))
		},
		"no entries": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "get-sth") {
				w.Write([]byte(`{"tree_size":2,"timestamp":1,"sha256_root_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","tree_head_signature":""}`))
				return
			}
			w.Write([]byte(`{"entries":[]}`))
		},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			c := &ct.Client{URL: srv.URL}
			_, err := c.Scan(context.Background(), ct.Position{}, 0, func(uint64, ct.RawEntry) error { return nil })
			if err == nil || !strings.HasPrefix(err.Error(), "discovery: ct:") {
				t.Fatalf("err %v", err)
			}
		})
	}
	// A body past the cap is refused, not read whole.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"tree_size":1,"x":"`))
		chunk := bytes.Repeat([]byte("a"), 1<<20)
		for range ct.MaxResponse>>20 + 2 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	if _, err := (&ct.Client{URL: srv.URL}).GetSTH(context.Background()); !errors.Is(err, ct.ErrResponse) {
		t.Fatalf("oversized body: %v", err)
	}
}

func TestParseLeafErrors(t *testing.T) {
	good := ct.AppendLeaf(nil, 1, ct.X509Entry, []byte{0x30, 0}, [32]byte{})
	for name, b := range map[string][]byte{
		"empty":    nil,
		"version":  append([]byte{1}, good[1:]...),
		"type":     func() []byte { c := slices.Clone(good); c[11] = 9; return c }(),
		"trailing": append(slices.Clone(good), 0),
		"short":    good[:len(good)-3],
	} {
		if _, err := ct.ParseLeaf(b); !errors.Is(err, ct.ErrLeaf) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ct.ParseLeaf(good); err != nil {
		t.Fatal(err)
	}
}

func TestReadFile(t *testing.T) {
	l, want := realLog(t, 0)
	srv := httptest.NewServer(l)
	defer srv.Close()
	es, err := (&ct.Client{URL: srv.URL}).GetEntries(context.Background(), 0, uint64(l.Size()-1))
	must(t, err)
	resp, _ := json.Marshal(ct.EntriesResponse{Entries: es})
	pretty, _ := json.MarshalIndent(ct.EntriesResponse{Entries: es}, "", "  ")
	var lines bytes.Buffer
	for i, e := range es {
		b, _ := json.Marshal(map[string]any{"index": 100 + i, "leaf_input": e.LeafInput, "extra_data": e.ExtraData})
		lines.Write(b)
		lines.WriteString("\n\n")
	}
	for name, in := range map[string][]byte{"get-entries": resp, "pretty": pretty, "lines": lines.Bytes()} {
		t.Run(name, func(t *testing.T) {
			var got [][]string
			var first uint64 = 1 << 60
			must(t, ct.ReadFile(bytes.NewReader(in), func(i uint64, e ct.RawEntry) error {
				first = min(first, i)
				got = append(got, namesOf(t, e))
				return nil
			}))
			if len(got) != len(want) {
				t.Fatalf("%d entries, want %d", len(got), len(want))
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("entry %d: %v, want %v", i, got[i], want[i])
				}
			}
			if name == "lines" && first != 100 {
				t.Errorf("index from the lines: first %d", first)
			}
		})
	}
	// A bad line stops the read after what came before.
	n := 0
	bad := append(bytes.Clone(lines.Bytes()[:bytes.IndexByte(lines.Bytes(), '\n')+1]), []byte("{oops\n")...)
	err = ct.ReadFile(bytes.NewReader(bad), func(uint64, ct.RawEntry) error { n++; return nil })
	if !errors.Is(err, ct.ErrFile) || n != 1 || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v after %d entries", err, n)
	}
}

func TestLogList(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "loglist3.json"))
	must(t, err)
	defer f.Close()
	logs, err := ct.ParseLogList(f)
	must(t, err)
	if len(logs) < 5 {
		t.Fatalf("%d logs", len(logs))
	}
	var aviator ct.Log
	for _, l := range logs {
		if strings.Contains(l.Description, "Aviator") {
			aviator = l
		}
		if l.URL == "" || l.Operator == "" {
			t.Errorf("log %+v", l)
		}
	}
	if aviator.State != "readonly" || aviator.FinalTreeSize != 46466472 || aviator.URL != "https://ct.googleapis.com/aviator/" {
		t.Fatalf("aviator: %+v", aviator)
	}
	if _, err := ct.ParseKey(aviator.Key); err != nil {
		t.Fatalf("aviator key: %v", err)
	}
	if _, err := ct.ParseLogList(strings.NewReader(`{"operators":[{"logs":[{"description":"x"}]}]}`)); !errors.Is(err, ct.ErrFile) {
		t.Fatalf("log without URL: %v", err)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"WWW.Example.GOV.vn.": "www.example.gov.vn",
		"*.a.example":         "a.example",
		"localhost":           "",
		"a..b":                "",
		"a b.example":         "",
		"Rampart Test CA":     "",
		"xn--ccd-7la.vn":      "xn--ccd-7la.vn",
		"_dmarc.example.vn":   "_dmarc.example.vn",
		"":                    "",
	} {
		if got := ct.CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseLeaf feeds arbitrary leaves and extra data to the decoders; the
// seeds are the real certificates as a log stores them.
func FuzzParseLeaf(f *testing.F) {
	l, _ := realLog(f, 0)
	srv := httptest.NewServer(l)
	defer srv.Close()
	es, err := (&ct.Client{URL: srv.URL}).GetEntries(context.Background(), 0, uint64(l.Size()-1))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range es {
		f.Add(e.LeafInput, e.ExtraData)
	}
	f.Add([]byte{0, 0}, []byte{})
	f.Fuzz(func(t *testing.T, leaf, extra []byte) {
		lf, err := ct.ParseLeaf(leaf)
		if err != nil {
			if !errors.Is(err, ct.ErrLeaf) {
				t.Fatalf("error %v does not wrap ErrLeaf", err)
			}
			return
		}
		if c, err := lf.Certificate(); err == nil {
			for _, n := range ct.Names(c) {
				if ct.CleanName(n) != n {
					t.Fatalf("name %q is not clean", n)
				}
			}
		}
		_, _ = ct.ParseExtra(lf.Type, extra)
	})
}

// FuzzReadFile feeds arbitrary files to the importer.
func FuzzReadFile(f *testing.F) {
	f.Add([]byte(`{"entries":[{"leaf_input":"AAA=","extra_data":""}]}`))
	f.Add([]byte("{\"leaf_input\":\"AAA=\",\"index\":3}\n{\"leaf_input\":\"AAE=\"}\n"))
	f.Add([]byte("{\n \"entries\": []\n}\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ct.ReadFile(bytes.NewReader(b), func(uint64, ct.RawEntry) error { return nil })
		if err != nil && !errors.Is(err, ct.ErrFile) {
			t.Fatalf("error %v does not wrap ErrFile", err)
		}
	})
}
