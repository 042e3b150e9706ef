package imports

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func parseString(tool Tool, s string) ([]Result, error) {
	return Parse(tool, strings.NewReader(s), Limits{})
}

// problems splits the error Parse returns into its *Error values.
func problems(t testing.TB, err error) []*Error {
	t.Helper()
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]*Error, 0, len(list))
	for _, e := range list {
		var ie *Error
		if !errors.As(e, &ie) {
			t.Fatalf("problem %v (%T) is not an *imports.Error", e, e)
		}
		out = append(out, ie)
	}
	return out
}

// checkContract fails when Parse broke a promise of its doc comment,
// whatever the input.
func checkContract(t testing.TB, tool Tool, rs []Result, err error, limits Limits) {
	t.Helper()
	limits = limits.withDefaults()
	if len(rs) > limits.MaxResults {
		t.Fatalf("%d results, over MaxResults %d", len(rs), limits.MaxResults)
	}
	fatal := false
	for _, p := range problems(t, err) {
		if p.Line < 0 || !strings.HasPrefix(p.Error(), "imports: ") || p.Msg == "" {
			t.Fatalf("bad problem %#v: %q", p, p.Error())
		}
		switch {
		case errors.Is(p, ErrFormat), errors.Is(p, ErrTooLarge):
			fatal = true
		case errors.Is(p, ErrRecord):
		default:
			t.Fatalf("problem %q wraps no sentinel", p)
		}
	}
	if fatal && rs != nil {
		t.Fatalf("fatal error %v but %d results", err, len(rs))
	}
	for i, r := range rs {
		where := func() string { return strings.Join([]string{string(tool), r.RuleID, r.Host}, " ") }
		if r.Line < 1 || r.Tool != tool {
			t.Fatalf("result %d (%s): line %d tool %q", i, where(), r.Line, r.Tool)
		}
		if h, _, err := normHost(r.Host); err != nil || h != r.Host {
			t.Fatalf("result %d: host %q is not canonical (%v)", i, r.Host, err)
		}
		if r.IP != "" {
			if _, ip, err := normHost(r.IP); err != nil || ip != r.IP {
				t.Fatalf("result %d: ip %q is not an address", i, r.IP)
			}
		}
		if !r.Time.IsZero() && (r.Time.Location() != time.UTC || r.Time.Nanosecond()%1000 != 0 ||
			r.Time.Year() < 2000 || r.Time.After(time.Now().Add(25*time.Hour))) {
			t.Fatalf("result %d (%s): time %v is not UTC, whole microseconds, from 2000 to tomorrow", i, where(), r.Time)
		}
		if r.Port < 0 || r.Port > 65535 || (r.Port != 0) != (r.Proto != "") {
			t.Fatalf("result %d: port %d proto %q", i, r.Port, r.Proto)
		}
		if !r.Severity.Valid() || r.RuleID == "" || r.Title == "" {
			t.Fatalf("result %d (%s): severity %q rule %q title %q", i, where(), r.Severity, r.RuleID, r.Title)
		}
		for _, f := range []struct {
			name, v string
			max     int
			oneLine bool
		}{
			{"title", r.Title, MaxTitleBytes, true},
			{"rule", r.RuleID, MaxShortBytes, true},
			{"tool name", r.ToolName, MaxShortBytes, true},
			{"url", r.URL, MaxURLBytes, true},
			{"description", r.Description, MaxDescriptionBytes, false},
			{"service", r.Service, MaxShortBytes, true},
			{"product", r.Product, MaxShortBytes, true},
			{"version", r.Version, MaxShortBytes, true},
			{"cpe", r.CPE, MaxShortBytes, true},
		} {
			checkString(t, f.name, f.v, f.max, f.oneLine)
		}
		if len(r.CVE) > MaxListItems || len(r.References) > MaxListItems || len(r.Evidence) > MaxEvidenceKeys+1 {
			t.Fatalf("result %d: %d CVEs, %d references, %d evidence keys", i, len(r.CVE), len(r.References), len(r.Evidence))
		}
		for _, id := range r.CVE {
			if !isCVE(id) || id != strings.ToUpper(id) {
				t.Fatalf("result %d: CVE %q", i, id)
			}
		}
		for _, ref := range r.References {
			checkString(t, "reference", ref, MaxURLBytes, true)
		}
		for k, v := range r.Evidence {
			checkString(t, "evidence key", k, 64, true)
			checkString(t, "evidence "+k, v, MaxEvidenceBytes, false)
		}
	}
}

func checkString(t testing.TB, name, v string, max int, oneLine bool) {
	t.Helper()
	if len(v) > max || !utf8.ValidString(v) {
		t.Fatalf("%s: %d bytes (max %d), valid UTF-8 %v", name, len(v), max, utf8.ValidString(v))
	}
	for _, r := range v {
		if isBadRune(r) || oneLine && (r == '\n' || r == '\t') {
			t.Fatalf("%s %q holds control character %U", name, v, r)
		}
	}
	if redactURL(v) != v {
		t.Fatalf("%s %q leaks a URL password", name, v)
	}
}
