package monitor

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func seedFile(f *testing.F, name string) {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

// FuzzParseRDAP: any answer parses or fails with ErrRDAP; a parsed
// domain's name is lower-case and its status texts printable.
func FuzzParseRDAP(f *testing.F) {
	seedFile(f, "rdap-domain.json")
	seedFile(f, "rdap-error.json")
	f.Add([]byte(`{"objectClassName":"domain","events":[{"eventAction":"expiration","eventDate":"2027-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"objectClassName":"domain","events":[{"eventAction":"expiration","eventDate":"x"}],"status":["\u0000"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseRDAP(b)
		if err != nil {
			if !errors.Is(err, ErrRDAP) {
				t.Fatalf("error without ErrRDAP: %v", err)
			}
			return
		}
		if d.Name != strings.ToLower(d.Name) {
			t.Fatalf("name %q is not lower-case", d.Name)
		}
		for _, s := range d.Status {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\n\r") {
				t.Fatalf("status %q", s)
			}
		}
	})
}

// FuzzParseExpiryCSV: a file imports whole or fails with ErrExpiryFile;
// every row has a normalized domain and a date.
func FuzzParseExpiryCSV(f *testing.F) {
	seedFile(f, "expiry.csv")
	f.Add([]byte("a.vn,2027-01-01\n\n#x\nb.com.vn,2027-01-01T00:00:00+07:00"))
	f.Add([]byte("\ufeffdomain,expiry\r\n\"a.vn\",2027-01-01\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := ParseExpiryCSV(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrExpiryFile) {
				t.Fatalf("error without ErrExpiryFile: %v", err)
			}
			return
		}
		for _, r := range rows {
			if r.Domain == "" || r.Domain != strings.ToLower(r.Domain) || r.Expires.IsZero() || r.Line < 1 {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

// FuzzReadROAs: a file reads whole or fails with ErrROA; every VRP read
// validates its own prefix by its own ASN.
func FuzzReadROAs(f *testing.F) {
	seedFile(f, "stayrtr_test.rpki.json")
	f.Add([]byte(`{"roas":[{"asn":"AS64500","prefix":"192.0.2.0/24","maxLength":25}]}`))
	f.Add([]byte(`{"roas":[{"asn":1,"prefix":"::ffff:1.2.3.0/120","maxLength":128}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, err := ReadROAs(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrROA) {
				t.Fatalf("error without ErrROA: %v", err)
			}
			return
		}
		for _, vs := range set.t.All() {
			for _, v := range vs {
				if st, _ := set.Validate(v.Prefix, v.ASN); v.ASN != 0 && st != RPKIValid {
					t.Fatalf("%+v does not validate itself: %s", v, st)
				}
				if st, _ := set.Validate(v.Prefix, 0); st != RPKIInvalid {
					t.Fatalf("origin 0 under %+v is %s", v, st)
				}
			}
		}
	})
}

// FuzzReadNames: zone files and lists yield lower-case names without a
// trailing dot, or an error with ErrNames.
func FuzzReadNames(f *testing.F) {
	f.Add([]byte("$ORIGIN vn.\n$TTL 3600\nboyte 86400 IN NS dns1.vnnic.vn.\nb0yte IN NS ns1.evil.example.\n"))
	f.Add([]byte("boyte.vn\n# comment\nxn--by-hia.vn.\n\n"))
	f.Add([]byte("$INCLUDE /etc/passwd\n"))
	f.Add([]byte("a b c d e f\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ReadNames(bytes.NewReader(b), func(n string) error {
			if n == "" || strings.HasSuffix(n, ".") || n != strings.ToLower(n) {
				t.Fatalf("name %q", n)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNames) {
			t.Fatalf("error without ErrNames: %v", err)
		}
	})
}

// FuzzLookalikeCheck: any name (as a certificate or a zone gives it) is
// judged without panic, never as a look-alike of what it is or of
// something registered, and Generate's variants of a constituent are
// never the constituent itself.
func FuzzLookalikeCheck(f *testing.F) {
	for _, s := range []string{"b0yte.gov.vn", "xn--byte-7va.com", "boyte.gov.vn.evil.com", "*.dichvucong-login.com.", "a", "..", "xn--", "boyte.gov.vn"} {
		f.Add(s)
	}
	m := NewMatcher([]Constituent{{Domain: "boyte.gov.vn", OrgID: 1, AssetID: 1}, {Domain: "dichvucong.gov.vn", OrgID: 2, AssetID: 2}},
		map[string]bool{"boyte.gov.vn": true, "dichvucong.gov.vn": true}, nil)
	f.Fuzz(func(t *testing.T, name string) {
		for _, l := range m.Check(name) {
			if l.Registrable == l.Imitates.Domain || l.Registrable == "boyte.gov.vn" || l.Registrable == "dichvucong.gov.vn" {
				t.Fatalf("%q judged a look-alike of itself: %+v", name, l)
			}
		}
		if len(name) < 64 && !strings.ContainsAny(name, " \n") {
			for _, v := range Generate(strings.ToLower(name), GenOptions{}) {
				if v.Name == strings.ToLower(name) {
					t.Fatalf("Generate(%q) returned the name itself", name)
				}
			}
		}
	})
}

func TestROAValidate(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "stayrtr_test.rpki.json"))
	must(t, err)
	defer f.Close()
	set, err := ReadROAs(f)
	must(t, err)
	if set.Len() != 19 {
		t.Fatalf("%d VRPs, want the sample's 19", set.Len())
	}
	for _, c := range []struct {
		prefix string
		origin uint32
		want   RPKIState
	}{
		{"1.0.0.0/24", 13335, RPKIValid},
		{"1.0.0.0/24", 64666, RPKIInvalid},
		{"1.0.0.0/25", 13335, RPKIInvalid}, // longer than maxLength 24
		{"1.0.4.0/22", 38803, RPKIValid},
		{"1.0.5.0/24", 38803, RPKIValid},
		{"1.0.6.0/24", 38803, RPKIInvalid},       // the /22's maxLength is 22
		{"2001:610::/40", 1103, RPKIValid},       // maxLength 48
		{"2001:610:240::/49", 1103, RPKIInvalid}, // past both maxLengths
		{"2001:610:240::/42", 3333, RPKIValid},
		{"8.8.8.0/24", 15169, RPKINotFound},
		{"1.0.0.0/24", 0, RPKIInvalid}, // an AS_SET origin matches nothing
	} {
		got, _ := set.Validate(netip.MustParsePrefix(c.prefix), c.origin)
		if got != c.want {
			t.Errorf("%s from AS%d: %s, want %s", c.prefix, c.origin, got, c.want)
		}
	}
	var nilSet *ROASet
	if st, _ := nilSet.Validate(netip.MustParsePrefix("1.0.0.0/24"), 13335); st != RPKINotFound {
		t.Errorf("an empty set: %s", st)
	}
	for name, in := range map[string]string{
		"no roas":     `{"metadata":{}}`,
		"host bits":   `{"roas":[{"asn":1,"prefix":"1.0.0.1/24","maxLength":24}]}`,
		"maxLength":   `{"roas":[{"asn":1,"prefix":"1.0.0.0/24","maxLength":33}]}`,
		"short max":   `{"roas":[{"asn":1,"prefix":"1.0.0.0/24","maxLength":23}]}`,
		"asn":         `{"roas":[{"asn":"ASX","prefix":"1.0.0.0/24","maxLength":24}]}`,
		"asn too big": `{"roas":[{"asn":4294967296,"prefix":"1.0.0.0/24","maxLength":24}]}`,
		"truncated":   `{"roas":[{"asn":1,`,
		"prefix":      `{"roas":[{"asn":1,"prefix":"1.0.0.0","maxLength":24}]}`,
	} {
		if _, err := ReadROAs(strings.NewReader(in)); !errors.Is(err, ErrROA) {
			t.Errorf("%s: %v, want ErrROA", name, err)
		}
	}
}

// FuzzCAAIssuers: CAA values as the DNS detector keeps them (from
// answers of any resolver) parse without panic into lower-case issuer
// domains.
func FuzzCAAIssuers(f *testing.F) {
	f.Add(`0 issue "letsencrypt.org"`, `0 issuewild ";"`)
	f.Add(`128 issue "ca.example; account=1"`, `0 iodef "mailto:x@y"`)
	f.Add(`0 issue "unterminated`, `0`)
	f.Fuzz(func(t *testing.T, a, b string) {
		allowed, restricted := caaIssuers([]string{a, b})
		if len(allowed) > 0 && !restricted {
			t.Fatalf("issuers %v without a restriction", allowed)
		}
		for d := range allowed {
			if d == "" || d != strings.ToLower(d) {
				t.Fatalf("issuer domain %q", d)
			}
		}
	})
}
