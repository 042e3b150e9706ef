package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	vi, en := c.keys("vi"), c.keys("en")
	in := func(keys []string) map[string]bool {
		m := map[string]bool{}
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	mvi, men := in(vi), in(en)
	for _, k := range vi {
		if !men[k] {
			t.Errorf("en.json lacks %q", k)
		}
		if strings.TrimSpace(c.get("vi").T(k)) == "" || strings.TrimSpace(c.get("en").T(k)) == "" {
			t.Errorf("%q is empty in a catalog", k)
		}
	}
	for _, k := range en {
		if !mvi[k] {
			t.Errorf("vi.json lacks %q", k)
		}
	}
	// Keys built from enumerations.
	var dyn []string
	for _, s := range finding.Severities {
		dyn = append(dyn, "sev."+string(s))
	}
	for _, s := range finding.States {
		dyn = append(dyn, "state."+string(s))
	}
	for _, a := range []finding.Action{finding.ActionAcknowledge, finding.ActionAcceptRisk, finding.ActionFalsePositive, finding.ActionReopen,
		finding.ActionRequestVerify, finding.ActionSeen, finding.ActionNotSeen, finding.ActionExpire} {
		dyn = append(dyn, "action."+string(a))
	}
	for _, k := range org.Kinds {
		dyn = append(dyn, "orgkind."+string(k))
	}
	for _, k := range []org.Kind{org.KindMinistry, org.KindProvince, org.KindSector} {
		dyn = append(dyn, "dash.debt."+string(k))
	}
	for _, k := range assetKinds {
		dyn = append(dyn, "assetkind."+string(k))
	}
	for _, k := range criticalities {
		dyn = append(dyn, "crit."+string(k))
	}
	for _, r := range auth.Roles {
		dyn = append(dyn, "role."+string(r))
	}
	for _, s := range jobStates {
		dyn = append(dyn, "job."+string(s))
	}
	dyn = append(dyn, "obs.open", "obs.closed", "reason.schedule", "reason.manual", "reason.verify")
	_ = asset.KindDomain
	_ = store.JobDone
	for _, k := range dyn {
		if !mvi[k] {
			t.Errorf("catalogs lack %q", k)
		}
	}
}

var keyUse = regexp.MustCompile(`\bT "([^"]+)"`)

// TestTemplatesUseCatalogKeys checks that every key a template names is in
// the catalogs, and (heuristically) that no template has visible text of
// its own: after removing template actions, tags and entities, no letters
// may remain between tags or in title, alt, aria-label or placeholder.
func TestTemplatesUseCatalogKeys(t *testing.T) {
	c, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := fs.Glob(templateFS, "templates/*.html")
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	tag := regexp.MustCompile(`(?s)<[^>]*>`)
	attr := regexp.MustCompile(`\b(title|alt|aria-label|placeholder|value)="([^"]*)"`)
	letters := regexp.MustCompile(`\p{L}`)
	for _, f := range files {
		b, _ := templateFS.ReadFile(f)
		src := string(b)
		for _, m := range keyUse.FindAllStringSubmatch(src, -1) {
			if !c.get("vi").Has(m[1]) {
				t.Errorf("%s uses key %q missing from the catalogs", f, m[1])
			}
		}
		noActions := action.ReplaceAllString(src, "")
		for _, m := range attr.FindAllStringSubmatch(noActions, -1) {
			if letters.MatchString(m[2]) && m[1] != "value" {
				t.Errorf("%s: %s=%q is hard-coded text", f, m[1], m[2])
			}
		}
		text := tag.ReplaceAllString(noActions, " ")
		text = regexp.MustCompile(`&[a-z]+;`).ReplaceAllString(text, " ")
		if l := strings.TrimSpace(strings.Join(letters.FindAllString(text, -1), "")); l != "" {
			t.Errorf("%s has hard-coded visible text (letters %q)", f, l)
		}
	}
}
