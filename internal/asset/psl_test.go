package asset

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestPublicSuffixVectors runs the list's official checkPublicSuffix
// vectors (testdata/test_psl.txt) against the shipped list.
func TestPublicSuffixVectors(t *testing.T) {
	f, err := os.Open("testdata/test_psl.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	re := regexp.MustCompile(`^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);`)
	l := PublicSuffixes()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		m := re.FindStringSubmatch(sc.Text())
		if m == nil || m[1] == "null" {
			continue
		}
		in, want := strings.Trim(m[1], "'"), strings.Trim(m[2], "'")
		if strings.HasPrefix(in, ".") {
			continue // not a name Normalize accepts
		}
		name, err := Normalize(KindHostname, in)
		if err != nil {
			t.Fatalf("normalize %q: %v", in, err)
		}
		if want != "null" {
			if want, err = Normalize(KindHostname, want); err != nil {
				t.Fatal(err)
			}
		} else {
			want = ""
		}
		if got := l.RegistrableDomain(name); got != want {
			t.Errorf("RegistrableDomain(%q) = %q, want %q", in, got, want)
		}
		n++
	}
	if n < 60 {
		t.Fatalf("only %d vectors ran", n)
	}
}

func TestIsPublicSuffix(t *testing.T) {
	l := PublicSuffixes()
	for name, want := range map[string]bool{
		"vn": true, "gov.vn": true, "com.vn": true, "co.uk": true, "github.io": true, "anything.ck": true,
		"moh.gov.vn": false, "example.vn": false, "www.ck": false, "portal.moh.gov.vn": false, "example": true,
	} {
		if got := l.IsPublicSuffix(name); got != want {
			t.Errorf("IsPublicSuffix(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestParseSuffixListRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"empty":          "// nothing\n",
		"inner wildcard": "a.*.b\n",
		"empty label":    "a..b\n",
		"bad character":  "a$b.c\n",
		"long line":      strings.Repeat("a", 2000) + "\n",
		"lone exception": "!ck\n",
	} {
		if _, err := ParseSuffixList(strings.NewReader(in)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	l, err := ParseSuffixList(strings.NewReader("// c\nvn\ngov.vn  trailing words\n*.ck\n!www.ck\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.IsPublicSuffix("gov.vn") || l.IsPublicSuffix("www.ck") || !l.IsPublicSuffix("x.ck") {
		t.Fatal("small list answers wrong")
	}
}

func FuzzParseSuffixList(f *testing.F) {
	f.Add("vn\ngov.vn\n*.ck\n!www.ck\n")
	f.Add("// ===BEGIN PRIVATE DOMAINS===\ngithub.io\n公司.cn\n")
	f.Add("a..b\n!x\n*.\n")
	f.Fuzz(func(t *testing.T, in string) {
		l, err := ParseSuffixList(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, name := range []string{"a.b.c", "www.ck", "x", "gov.vn"} {
			ps := l.PublicSuffix(name)
			if !strings.HasSuffix(name, ps) {
				t.Fatalf("suffix %q of %q", ps, name)
			}
		}
	})
}
