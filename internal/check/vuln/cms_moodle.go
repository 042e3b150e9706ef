package vuln

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

// Moodle publishes no exact release number to visitors: version.php is
// executed, not served, and the footer shows the release only when an
// administrator turns that on. What a default install does serve as plain
// text are the developers' upgrade notes, whose newest heading names the
// branch (and sometimes the point release) the code comes from:
// lib/upgrade.txt up to 4.4 ("=== 3.8 ==="), UPGRADING.md from 4.5
// ("## 4.5"). That heading is a lower bound, not the version: a 3.8.9
// site may still carry "=== 3.8 ===" at the top. So a CVE is reported
// only when every release of the branch from that bound on is affected,
// which is what NVD records say of branches that stopped receiving fixes.

const (
	// moodleRead caps the notes read: the newest heading is at the top.
	moodleRead = 16 << 10
	// moodleBranchEnd stands for the last point release of a branch.
	moodleBranchEnd = "999999"
)

var (
	moodleMarkRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)<meta\s+name=["']keywords["']\s+content=["']moodle,|\bM\.cfg\s*=\s*\{\s*"wwwroot"|/theme/yui_combo\.php|/lib/javascript\.php/|/theme/styles\.php/`)
	})
	// "=== 3.8 ===", "=== 2.6.4 / 2.7.1 ===": the first heading is the newest.
	moodleTxtRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^===\s*(\d+\.\d+(?:\.\d+)?(?:\s*/\s*\d+\.\d+(?:\.\d+)?)*)\s*===\s*$`)
	})
	// "## 4.5", "## 5.0.2", "## 5.1dev", "## 4.5.1+".
	moodleMdRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?m)^##\s+(\d+\.\d+(?:\.\d+)?(?:dev)?)\+?\s*$`)
	})
	moodleNumRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\d+\.\d+(?:\.\d+)?`) })
)

// The first line of each notes file, so a soft-200 page or another
// product's file of the same name is not read as Moodle's.
var (
	moodleTxtHead = []byte("This files describes API changes in core libraries and APIs")
	moodleMdHead  = []byte("# Moodle Upgrade notes")
)

// isMoodle reports whether the page or its redirects look like Moodle:
// its session cookie, its keywords meta tag or its JavaScript and theme
// loaders.
func isMoodle(page *site.Response) bool {
	for _, r := range page.Chain() {
		for _, c := range r.Header.Values("Set-Cookie") {
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(c)), "moodlesession") {
				return true
			}
		}
	}
	return moodleMarkRE().Match(page.Body)
}

// moodleFromTxt returns the newest heading of lib/upgrade.txt; a heading
// naming two releases ("2.6.4 / 2.7.1") gives the higher.
func moodleFromTxt(body []byte) (string, bool) {
	if !bytes.HasPrefix(bytes.TrimLeft(body, "\ufeff \t\r\n"), moodleTxtHead) {
		return "", false
	}
	m := moodleTxtRE().FindSubmatch(body)
	if m == nil {
		return "", false
	}
	best := ""
	for _, v := range moodleNumRE().FindAll(m[1], -1) {
		if best == "" || vulndb.CompareVersion(string(v), best) > 0 {
			best = string(v)
		}
	}
	return best, best != ""
}

// moodleFromMd returns the newest heading of UPGRADING.md.
func moodleFromMd(body []byte) (string, bool) {
	if !bytes.HasPrefix(bytes.TrimLeft(body, "\ufeff \t\r\n"), moodleMdHead) {
		return "", false
	}
	m := moodleMdRE().FindSubmatch(body)
	if m == nil {
		return "", false
	}
	return string(m[1]), true
}

// moodleBranchTop returns the highest release of v's branch: "3.8" and
// "3.8.2" give "3.8.999999".
func moodleBranchTop(v string) string {
	v = strings.TrimSuffix(v, "dev")
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1] + "." + moodleBranchEnd
}

// moodle: the newest heading of the upgrade notes a Moodle site serves,
// the higher of the two files when both answer.
func moodle(ctx context.Context, s *site.Site, page *site.Response) (cmsFound, bool) {
	if !isMoodle(page) {
		return cmsFound{}, false
	}
	var f cmsFound
	for _, x := range []struct {
		path  string
		parse func([]byte) (string, bool)
	}{{"/lib/upgrade.txt", moodleFromTxt}, {"/UPGRADING.md", moodleFromMd}} {
		r, err := s.Fetch(ctx, site.Request{Path: x.path, Limit: moodleRead})
		if err != nil || r.Status != 200 {
			continue
		}
		v, ok := x.parse(r.Body)
		if !ok || (f.version != "" && vulndb.CompareVersion(v, f.version) <= 0) {
			continue
		}
		f = cmsFound{product: "Moodle", version: v, cpe: cpeOf("moodle", "moodle", v, ""), from: x.path}
		top := moodleBranchTop(v)
		branch := strings.TrimSuffix(top, "."+moodleBranchEnd)
		topCPE := cpeOf("moodle", "moodle", top, "")
		f.upTo = &topCPE
		f.bound = v + " or a later " + branch + ".x release (the upgrade notes name the branch, not the release)"
	}
	return f, f.version != ""
}
