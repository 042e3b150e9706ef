package svc

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

//go:embed distro.yaml
var distroData []byte

// DistroRelease is one distribution release's support period.
type DistroRelease struct {
	Distro   string `yaml:"distro"`
	Release  string `yaml:"release"`
	Name     string `yaml:"name"`
	Security string `yaml:"security"`           // end of regular security support
	LTS      string `yaml:"lts,omitempty"`      // end of free long-term support
	Extended string `yaml:"extended,omitempty"` // end of paid extended support

	security, lts, extended time.Time
}

// DistroShips says which releases of a distribution ship an upstream
// version of a source package.
type DistroShips struct {
	Distro   string   `yaml:"distro"`
	Package  string   `yaml:"package"`
	Upstream string   `yaml:"upstream"`
	Releases []string `yaml:"releases"`
}

// DistroTable is distro.yaml.
type DistroTable struct {
	Releases []DistroRelease `yaml:"releases"`
	Ships    []DistroShips   `yaml:"ships"`
}

// ParseDistroTable reads a distribution support table (the format of
// distro.yaml); unknown keys, bad dates, missing fields and ships lines
// naming releases the table lacks are errors.
func ParseDistroTable(data []byte) (DistroTable, error) {
	var t DistroTable
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("svc: distribution table: %w", err)
	}
	known := map[string]bool{}
	date := func(s string, optional bool) (time.Time, error) {
		if s == "" && optional {
			return time.Time{}, nil
		}
		return time.Parse(time.DateOnly, s)
	}
	for i := range t.Releases {
		r := &t.Releases[i]
		var err error
		if r.Distro == "" || r.Release == "" || r.Name == "" {
			return t, fmt.Errorf("svc: distribution table: release %d: distro, release and name are required", i+1)
		}
		if r.security, err = date(r.Security, false); err == nil {
			if r.lts, err = date(r.LTS, true); err == nil {
				r.extended, err = date(r.Extended, true)
			}
		}
		if err != nil {
			return t, fmt.Errorf("svc: distribution table: %s %s: dates are YYYY-MM-DD: %w", r.Distro, r.Release, err)
		}
		known[r.Distro+"/"+r.Release] = true
	}
	for i, s := range t.Ships {
		if s.Distro == "" || s.Package == "" || s.Upstream == "" || len(s.Releases) == 0 {
			return t, fmt.Errorf("svc: distribution table: ships line %d: distro, package, upstream and releases are required", i+1)
		}
		for _, r := range s.Releases {
			if !known[s.Distro+"/"+r] {
				return t, fmt.Errorf("svc: distribution table: ships line %d: %s %s is not among the releases", i+1, s.Distro, r)
			}
		}
	}
	return t, nil
}

// release finds a release.
func (t DistroTable) release(distro, rel string) (DistroRelease, bool) {
	for _, r := range t.Releases {
		if r.Distro == distro && r.Release == rel {
			return r, true
		}
	}
	return DistroRelease{}, false
}

// shippedIn lists the releases that ship an upstream version.
func (t DistroTable) shippedIn(distro, pkg, upstream string) []string {
	for _, s := range t.Ships {
		if s.Distro == distro && s.Package == pkg && s.Upstream == upstream {
			return s.Releases
		}
	}
	return nil
}

// supportEnd is when p's release stops getting security fixes: the end of
// free long-term support when there is one (Debian LTS), else of regular
// support; a revision from paid extended support ("+esm1", Ubuntu Pro)
// counts to that support's end.
func (r DistroRelease) supportEnd(p vulndb.Package) time.Time {
	end := r.security
	if !r.lts.IsZero() {
		end = r.lts
	}
	if !r.extended.IsZero() && strings.Contains(strings.ToLower(p.Tag), "esm") {
		end = r.extended
	}
	return end
}

// distroEOL judges a package that comes from a distribution. decided is
// false when the table cannot tell which release it is (the caller falls
// back to the upstream version's end of life).
func (e *eol) distroEOL(t check.Target, p vulndb.Package, now time.Time) (res []check.Result, decided bool) {
	rels, basis := []string{p.Release}, "the package revision names the release"
	if p.Release == "" {
		rels = e.distro.shippedIn(p.Distro, p.Source, p.Upstream)
		basis = fmt.Sprintf("%s ships %s %s only in this release", vulndb.DistroName(p.Distro), p.Source, p.Upstream)
		if len(rels) > 1 {
			basis = fmt.Sprintf("%s ships %s %s only in these releases", vulndb.DistroName(p.Distro), p.Source, p.Upstream)
		}
	}
	if len(rels) == 0 {
		return nil, false
	}
	var names []string
	var last time.Time
	for _, rel := range rels {
		r, ok := e.distro.release(p.Distro, rel)
		if !ok {
			// A release the table does not know (sid, testing, a new one):
			// not known to be past its end.
			return nil, true
		}
		end := r.supportEnd(p)
		if !now.After(end) {
			return nil, true // still supported
		}
		names = append(names, r.Name)
		if end.After(last) {
			last = end
		}
	}
	slices.Sort(names)
	from := strings.Join(names, " or ")
	what := strings.TrimSpace(t.Product + " " + p.Upstream)
	f := map[string]string{
		"product": t.Product, "version": t.Version, "distribution": from, "support_end": last.Format(time.DateOnly),
		"package": p.Label(), "basis": basis,
	}
	return []check.Result{{Check: e.meta.ID, Severity: e.meta.Severity, Subject: from,
		Title:    fmt.Sprintf("%s comes from %s, whose security support ended on %s", what, from, last.Format(time.DateOnly)),
		Evidence: check.Evidence{Response: printable([]byte(t.Banner)), Fields: f}}}, true
}
