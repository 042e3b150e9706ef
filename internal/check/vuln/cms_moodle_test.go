package vuln

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

func moodleFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "moodle", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// moodleSite serves pages by path. Unknown paths are 404, or the soft
// page with status 200 when soft is set; cookie, when set, is sent with
// the front page.
func moodleSite(t *testing.T, pages map[string]string, soft, cookie string) *check.Env {
	t.Helper()
	return cmsEnv(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok && soft == "" {
			http.NotFound(w, r)
			return
		}
		if !ok {
			body = soft
		}
		if r.URL.Path == "/" && cookie != "" {
			w.Header().Add("Set-Cookie", cookie)
		}
		w.Write([]byte(body))
	}))
}

func TestCMSMoodleOldBranch(t *testing.T) {
	home := moodleFixture(t, "home.html")
	got := runCMS(t, moodleSite(t, map[string]string{"/": home, "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-3.8.txt")}, "", ""))
	r, ok := got["CVE-2021-36394"]
	if !ok || len(got) != 1 {
		t.Fatalf("Moodle 3.8: %v, want CVE-2021-36394", got)
	}
	f := r.Evidence.Fields
	if r.Severity != "critical" || f["version"] != "3.8" || f["version_from"] != "/lib/upgrade.txt" ||
		f["cpe"] != "cpe:2.3:a:moodle:moodle:3.8:*:*:*:*:*:*:*" || !strings.Contains(f["version_bound"], "3.8.x") {
		t.Errorf("Moodle 3.8 result: severity %s fields %v", r.Severity, f)
	}
	if !strings.Contains(r.Title, "Moodle 3.8") || !strings.Contains(r.Evidence.Response, "GET /lib/upgrade.txt → Moodle 3.8") {
		t.Errorf("title %q evidence %q", r.Title, r.Evidence.Response)
	}
}

func TestCMSMoodleCookieOnly(t *testing.T) {
	// A front page with no Moodle markup (a custom theme) is still
	// recognised by the session cookie.
	pages := map[string]string{"/": "<html><body>Portal</body></html>", "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-3.8.txt")}
	if got := runCMS(t, moodleSite(t, pages, "", "MoodleSession=abc123; path=/; HttpOnly")); len(got) != 1 {
		t.Errorf("cookie-only Moodle 3.8: %v", got)
	}
	if got := runCMS(t, moodleSite(t, pages, "", "PHPSESSID=abc123; path=/")); len(got) != 0 {
		t.Errorf("not Moodle, same notes file: %v", got)
	}
}

func TestCMSMoodleHardened(t *testing.T) {
	home := moodleFixture(t, "home.html")
	for name, c := range map[string]struct {
		pages map[string]string
		soft  string
	}{
		// 3.9's heading does not say whether 3.9.8 (the fix) is installed.
		"branch with a fix": {pages: map[string]string{"/": home, "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-3.9.txt")}},
		// A current release: UPGRADING.md says 5.0.2 and outranks the stale
		// 4.4 heading left in lib/upgrade.txt.
		"current": {pages: map[string]string{"/": home, "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-4.4.txt"),
			"/UPGRADING.md": moodleFixture(t, "UPGRADING-5.0.md")}},
		// Upgraded over an old tree: a stale 3.8 lib/upgrade.txt is left
		// behind, UPGRADING.md says 5.0.2; the newer heading wins.
		"stale notes": {pages: map[string]string{"/": home, "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-3.8.txt"),
			"/UPGRADING.md": moodleFixture(t, "UPGRADING-5.0.md")}},
		// Notes blocked: nothing to tell the version.
		"notes removed": {pages: map[string]string{"/": home}},
		// Moodle whose unknown paths answer 200 with the front page.
		"soft 200 Moodle": {pages: map[string]string{"/": home}, soft: home},
		// Not Moodle: /lib/upgrade.txt is a 404, or a soft 200 page.
		"other site 404":      {pages: map[string]string{"/": moodleFixture(t, "soft404.html")}},
		"other site soft 200": {pages: map[string]string{"/": moodleFixture(t, "soft404.html")}, soft: moodleFixture(t, "soft404.html")},
		// Not Moodle, yet a stray copy of an old notes file is served.
		"other site stray notes": {pages: map[string]string{"/": moodleFixture(t, "soft404.html"), "/lib/upgrade.txt": moodleFixture(t, "lib-upgrade-3.8.txt")}},
	} {
		if got := runCMS(t, moodleSite(t, c.pages, c.soft, "")); len(got) != 0 {
			t.Errorf("%s: %v", name, got)
		}
	}
}

func TestMoodleNotes(t *testing.T) {
	for _, c := range []struct {
		body, want string
		md         bool
	}{
		{moodleFixture(t, "lib-upgrade-3.8.txt"), "3.8", false},
		{"This files describes API changes in core libraries and APIs,\n\n=== 2.6.4 / 2.7.1 ===\n\n* x\n", "2.7.1", false},
		{"\ufeffThis files describes API changes in core libraries and APIs,\r\n\r\n=== 3.10 ===\r\n", "3.10", false},
		{"=== 3.8 ===\n", "", false},
		{"This files describes API changes in core libraries and APIs,\nno headings\n", "", false},
		{moodleFixture(t, "UPGRADING-5.0.md"), "5.0.2", true},
		{"# Moodle Upgrade notes\n\n## 5.1dev\n\n### core\n", "5.1dev", true},
		{"# Moodle Upgrade notes\n\n## 4.5.1+\n", "4.5.1", true},
		{"# Other notes\n\n## 4.5\n", "", true},
	} {
		parse := moodleFromTxt
		if c.md {
			parse = moodleFromMd
		}
		got, ok := parse([]byte(c.body))
		if got != c.want || ok != (c.want != "") {
			t.Errorf("%.40q: %q %v, want %q", c.body, got, ok, c.want)
		}
	}
	for v, want := range map[string]string{"3.8": "3.8.999999", "3.10.2": "3.10.999999", "5.1dev": "5.1.999999"} {
		if got := moodleBranchTop(v); got != want {
			t.Errorf("moodleBranchTop(%s) = %s, want %s", v, got, want)
		}
	}
}

func FuzzMoodleNotes(f *testing.F) {
	for _, n := range []string{"lib-upgrade-3.8.txt", "lib-upgrade-4.4.txt", "UPGRADING-5.0.md"} {
		f.Add([]byte(moodleFixture(f, n)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parse := range []func([]byte) (string, bool){moodleFromTxt, moodleFromMd} {
			v, ok := parse(b)
			if ok != (v != "") {
				t.Fatalf("ok %v with version %q", ok, v)
			}
			if ok {
				if top := moodleBranchTop(v); !strings.HasSuffix(top, "."+moodleBranchEnd) {
					t.Fatalf("branch top of %q is %q", v, top)
				}
				if c := cpeOf("moodle", "moodle", v, ""); c.Version == "" {
					t.Fatalf("no CPE version for %q", v)
				}
			}
		}
	})
}
