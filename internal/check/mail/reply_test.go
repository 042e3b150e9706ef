package mail

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEHLO(t *testing.T) {
	raw := "250-mx.example.gov.vn Hello [192.0.2.1]\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-starttls\r\n250-AUTH PLAIN LOGIN\r\n250-!bogus line\r\n250 8BITMIME\r\n"
	e, err := ParseEHLO(raw)
	if err != nil {
		t.Fatal(err)
	}
	if e.Domain != "mx.example.gov.vn" || e.Greeting != "Hello [192.0.2.1]" {
		t.Errorf("domain %q greeting %q", e.Domain, e.Greeting)
	}
	if !e.Has("STARTTLS") || !e.Has("auth") || e.Extensions["SIZE"] != "52428800" || e.Has("!BOGUS") || len(e.Extensions) != 5 {
		t.Errorf("extensions %v", e.Extensions)
	}
	if e, err := ParseEHLO("250 mx.example.org\n"); err != nil || len(e.Extensions) != 0 || e.Domain != "mx.example.org" {
		t.Errorf("single line: %+v %v", e, err)
	}
}

func TestParseReplyErrors(t *testing.T) {
	for _, raw := range []string{
		"", "25", "abc hello", "250-first\r\n251 second", "250-only continuation", "250 done\r\n250 again",
		"699 nope", "250xtext", strings.Repeat("250-x\n", 200) + "250 end",
	} {
		if _, err := ParseReply(raw); !errors.Is(err, ErrReplySyntax) {
			t.Errorf("ParseReply(%q) err = %v", raw, err)
		}
	}
	if _, err := ParseEHLO("502 5.5.2 no\r\n"); !errors.Is(err, ErrReplySyntax) {
		t.Errorf("non-250 EHLO: %v", err)
	}
	r, err := ParseReply("220")
	if err != nil || r.Code != 220 || len(r.Lines) != 1 {
		t.Errorf("bare code: %+v %v", r, err)
	}
}

func FuzzParseEHLO(f *testing.F) {
	for _, s := range []string{
		"250-mx.google.com at your service, [192.0.2.1]\r\n250-SIZE 157286400\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n",
		"250 localhost\n", "250-x\n250 STARTTLS", "220 mx ESMTP Postfix (Debian/GNU)\r\n", "554 5.7.1 go away\r\n",
		"250-a\r\n250-\r\n250 -", "250-\xff\xfe\r\n250 \x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r, err := ParseReply(raw)
		if err != nil {
			return
		}
		if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
			t.Fatalf("reply %+v", r)
		}
		e, err := ParseEHLO(raw)
		if r.Code != 250 {
			if err == nil {
				t.Fatal("non-250 EHLO accepted")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		for kw := range e.Extensions {
			if kw != strings.ToUpper(kw) || !validKeyword(kw) {
				t.Fatalf("keyword %q", kw)
			}
		}
	})
}
