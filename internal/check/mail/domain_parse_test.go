package mail

import (
	"os"
	"strings"
	"testing"
)

func TestParseDKIM(t *testing.T) {
	k2048, _ := os.ReadFile("testdata/dkim-rsa2048.b64")
	for _, c := range []struct {
		rec     string
		bits    int
		revoked bool
		bad     bool
	}{
		{rec: "v=DKIM1; k=rsa; p=" + strings.TrimSpace(string(k2048)), bits: 2048},
		{rec: "p=" + strings.TrimSpace(string(k2048)[:100]) + " \t" + strings.TrimSpace(string(k2048))[100:], bits: 2048},
		{rec: "v=DKIM1; p=", revoked: true},
		{rec: "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", bits: 0},
		{rec: "v=DKIM2; p=abc", bad: true},
		{rec: "v=DKIM1; k=rsa", bad: true},
		{rec: "v=DKIM1; p=!!!", bad: true},
		{rec: "v=DKIM1; p=AAAA", bad: true},
		{rec: "v=DKIM1; k=dsa; p=AAAA", bad: true},
		{rec: "v=DKIM1; p=a; p=b", bad: true},
	} {
		k, err := ParseDKIM(c.rec)
		if (err != nil) != c.bad {
			t.Errorf("%.40q: err %v", c.rec, err)
			continue
		}
		if !c.bad && (k.Bits != c.bits || k.Revoked != c.revoked) {
			t.Errorf("%.40q: %+v", c.rec, k)
		}
	}
}

func TestParseSTSPolicy(t *testing.T) {
	p, err := ParseSTSPolicy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.example.net\r\nmax_age: 86400\r\nfuture: x\r\n")
	if err != nil || p.Mode != "enforce" || p.MaxAge != 86400 || len(p.MX) != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	for host, want := range map[string]bool{"mail.example.org": true, "MAIL.example.org.": true, "a.example.net": true,
		"a.b.example.net": false, "example.net": false, "other.example.org": false} {
		if p.MatchesMX(host) != want {
			t.Errorf("MatchesMX(%q) = %v", host, !want)
		}
	}
	for _, bad := range []string{"", "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n", "version: STSv1\nmode: on\nmx: a\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n", "version: STSv1\nmode: enforce\nmx: a\n", "version: STSv1\nmode: enforce\nmx: a\nmax_age: 99999999999\n",
		"version: STSv1\nmode: enforce\nmode: none\nmx: a\nmax_age: 1\n", "garbage"} {
		if _, err := ParseSTSPolicy(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := ParseSTSPolicy("version: STSv1\nmode: none\nmax_age: 1\n"); err != nil {
		t.Errorf("mode none without mx: %v", err)
	}
}

func TestParseSTSRecordAndTLSRPT(t *testing.T) {
	if _, err := parseSTSRecord("v=STSv1; id=20160831085700Z;"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"v=STSv1", "id=1; v=STSv1", "v=STSv1; id=" + strings.Repeat("a", 33), "v=STSv1; id=a-b"} {
		if _, err := parseSTSRecord(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if rua, err := ParseTLSRPT("v=TLSRPTv1; rua=mailto:a@example.org, https://r.example.org/x"); err != nil || len(rua) != 2 {
		t.Errorf("%v %v", rua, err)
	}
	for _, bad := range []string{"v=TLSRPTv1", "v=TLSRPTv1; rua=http://x", "rua=mailto:a@b; v=TLSRPTv1", "v=TLSRPTv1; rua="} {
		if _, err := ParseTLSRPT(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseDKIM(f *testing.F) {
	for _, n := range []string{"512", "1024", "2048"} {
		b, _ := os.ReadFile("testdata/dkim-rsa" + n + ".b64")
		f.Add("v=DKIM1; k=rsa; p=" + strings.TrimSpace(string(b)))
	}
	f.Add("v=DKIM1; p=")
	f.Add("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
	f.Fuzz(func(t *testing.T, rec string) {
		k, err := ParseDKIM(rec)
		if err == nil && k.KeyType == "rsa" && !k.Revoked && k.Bits == 0 {
			t.Fatalf("rsa key without size: %q", rec)
		}
	})
}

func FuzzParseSTSPolicy(f *testing.F) {
	f.Add("version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.example.net\r\nmax_age: 604800\r\n")
	f.Add("version: STSv1\nmode: testing\nmx: mx1.example.org\nmax_age: 86400\n")
	f.Add("version: STSv1\nmode: none\nmax_age: 0\n")
	f.Fuzz(func(t *testing.T, body string) {
		p, err := ParseSTSPolicy(body)
		if err == nil && (p.Version != "STSv1" || p.MaxAge < 0) {
			t.Fatalf("accepted %+v", p)
		}
		_ = p.MatchesMX("mail.example.org")
	})
}

func FuzzParseTLSRPT(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:tlsrpt@example.org")
	f.Add("v=TLSRPTv1; rua=https://reports.example.org/v1,mailto:a@b")
	f.Add("v=STSv1; id=20260101")
	f.Fuzz(func(t *testing.T, rec string) {
		rua, err := ParseTLSRPT(rec)
		if err == nil && len(rua) == 0 {
			t.Fatal("accepted without rua")
		}
		_, _ = parseSTSRecord(rec)
	})
}
