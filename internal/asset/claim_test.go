package asset

import (
	"errors"
	"strings"
	"testing"
)

func TestLimitsCheck(t *testing.T) {
	strict, internal := Limits{}, Limits{Internal: true}
	cases := []struct {
		kind     Kind
		value    string
		strict   error // want from the strict limits
		internal error // want from an internal deployment
	}{
		{KindDomain, "gov.vn", ErrRefused, ErrRefused},
		{KindDomain, "com.vn", ErrRefused, ErrRefused},
		{KindDomain, "co.uk", ErrRefused, ErrRefused},
		{KindMailDomain, "github.io", ErrRefused, ErrRefused},
		{KindURL, "https://gov.vn/", ErrRefused, ErrRefused},
		{KindDomain, "moh.gov.vn", nil, nil},
		{KindHostname, "portal.moh.gov.vn", nil, nil},
		{KindHostname, "localhost", ErrRefused, nil},
		{KindHostname, "metadata.google.internal", ErrRefused, nil},
		{KindURL, "http://localhost:18400/api/v1/", ErrRefused, nil},
		{KindURL, "http://169.254.169.254/latest/meta-data/", ErrRefused, nil},
		{KindIPv4, "127.0.0.1", ErrRefused, nil},
		{KindIPv4, "0.0.0.0", ErrRefused, nil},
		{KindIPv4, "169.254.169.254", ErrRefused, nil},
		{KindIPv4, "203.0.113.5", nil, nil},
		{KindIPv6, "::1", ErrRefused, nil},
		{KindIPv6, "fe80::1", ErrRefused, nil},
		{KindIPv6, "2001:db8::1", nil, nil},
		{KindCIDR, "10.0.0.0/8", ErrRefused, ErrNeedsNational},
		{KindCIDR, "127.77.0.0/16", ErrRefused, nil},
		{KindCIDR, "224.0.0.0/4", ErrRefused, ErrNeedsNational},
		{KindCIDR, "fe80::/10", ErrRefused, ErrNeedsNational},
		{KindCIDR, "0.0.0.0/1", ErrRefused, ErrNeedsNational},
		{KindCIDR, "198.51.0.0/15", ErrNeedsNational, ErrNeedsNational},
		{KindCIDR, "198.51.0.0/16", nil, nil},
		{KindCIDR, "203.0.113.0/24", nil, nil},
		{KindCIDR, "2001:db8::/31", ErrNeedsNational, ErrNeedsNational},
		{KindCIDR, "2001:db8::/32", nil, nil},
		{KindASN, "AS64500", nil, nil},
	}
	for _, c := range cases {
		a := Asset{OrgID: 1, Kind: c.kind, Value: c.value}
		if err := a.Prepare(); err != nil {
			t.Fatalf("%s %s: %v", c.kind, c.value, err)
		}
		for _, l := range []struct {
			lim  Limits
			want error
		}{{strict, c.strict}, {internal, c.internal}} {
			err := l.lim.Check(a)
			if l.want == nil && err != nil || l.want != nil && !errors.Is(err, l.want) {
				t.Errorf("%+v.Check(%s %s) = %v, want %v", l.lim, c.kind, c.value, err, l.want)
			}
		}
	}
	if !errors.Is(ErrRefused, ErrInvalid) {
		t.Fatal("ErrRefused must wrap ErrInvalid")
	}
	wide := Asset{OrgID: 1, Kind: KindCIDR, Value: "198.51.0.0/15"}
	if err := (Limits{MaxIPv4Prefix: 15}).Check(wide); err != nil {
		t.Fatalf("configured /15 limit: %v", err)
	}
}

func TestMayApprove(t *testing.T) {
	const (
		nat = "/1/"
		a   = "/1/2/"
		a1  = "/1/2/3/"
		a11 = "/1/2/3/4/"
		b   = "/1/5/"
	)
	national := Approver{National: true}
	adminOf := func(p string) Approver { return Approver{AdminOf: p} }
	cases := []struct {
		name      string
		ap        Approver
		kind      Kind
		claim     string
		conflicts []string
		want      error
	}{
		{"national decides anything", national, KindCIDR, a1, []string{b}, nil},
		{"parent admin", adminOf(a), KindHostname, a1, nil, nil},
		{"grandparent admin", adminOf(a), KindHostname, a11, nil, nil},
		{"own claim", adminOf(a1), KindHostname, a1, nil, ErrNotApprover},
		{"child's admin", adminOf(a11), KindHostname, a1, nil, ErrNotApprover},
		{"sibling's admin", adminOf(b), KindHostname, a1, nil, ErrNotApprover},
		{"member (no admin)", Approver{}, KindHostname, a1, nil, ErrNotApprover},
		{"network needs national", adminOf(a), KindCIDR, a1, nil, ErrNeedsNational},
		{"ASN needs national", adminOf(nat), KindASN, a1, nil, ErrNeedsNational},
		{"conflict within the parent's subtree", adminOf(a), KindDomain, a11, []string{a1}, nil},
		{"conflict across subtrees: parent may not", adminOf(a), KindDomain, a1, []string{b}, ErrOverlap},
		{"conflict across subtrees: common ancestor may", adminOf(nat), KindDomain, a1, []string{b}, nil},
	}
	for _, c := range cases {
		err := MayApprove(c.ap, c.kind, c.claim, c.conflicts)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCommonAncestor(t *testing.T) {
	for _, c := range [][3]string{
		{"/1/2/3/", "/1/5/", "/1/"}, {"/1/2/3/", "/1/2/", "/1/2/"}, {"/1/2/", "/1/2/", "/1/2/"},
		{"/1/2/", "/7/2/", ""}, {"/1/22/", "/1/2/", "/1/"},
	} {
		if got := CommonAncestor(c[0], c[1]); got != c[2] {
			t.Errorf("CommonAncestor(%s, %s) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
}

func TestProofFor(t *testing.T) {
	tok := NewVerifyToken()
	if !ValidToken(tok) || ValidToken("x") || tok == NewVerifyToken() {
		t.Fatal("tokens")
	}
	p := ProofFor(Asset{Kind: KindHostname, Value: "portal.example.vn", VerifyToken: tok})
	if p.DNSName != "_rampart-verify.portal.example.vn" || p.TXT != "rampart-verify="+tok || len(p.URLs) != 2 ||
		p.URLs[0] != "https://portal.example.vn/.well-known/rampart-verify/"+tok {
		t.Fatalf("hostname proof %+v", p)
	}
	p = ProofFor(Asset{Kind: KindURL, Value: "http://127.77.1.2:8080/app/", VerifyToken: tok})
	if p.DNSName != "" || len(p.URLs) != 1 || p.URLs[0] != "http://127.77.1.2:8080/.well-known/rampart-verify/"+tok {
		t.Fatalf("url proof %+v", p)
	}
	if p := ProofFor(Asset{Kind: KindDomain, Value: "example.vn", VerifyToken: tok}); len(p.URLs) != 0 || !strings.HasPrefix(p.DNSName, TXTLabel) {
		t.Fatalf("domain proof %+v", p)
	}
	if p := ProofFor(Asset{Kind: KindCIDR, Value: "203.0.113.0/24", VerifyToken: tok}); p.DNSName != "" || len(p.URLs) != 0 {
		t.Fatalf("cidr proof %+v", p)
	}
}
