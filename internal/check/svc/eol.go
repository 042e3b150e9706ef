package svc

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

//go:embed eol.yaml
var eolData []byte

// EOLEntry is one release cycle's end of security support.
type EOLEntry struct {
	Product string `yaml:"product"`
	Cycle   string `yaml:"cycle"`
	EOL     string `yaml:"eol"` // YYYY-MM-DD
	date    time.Time
}

// ParseEOL reads an end-of-life table (the format of eol.yaml); unknown
// keys and bad dates are errors.
func ParseEOL(data []byte) ([]EOLEntry, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var es []EOLEntry
	if err := dec.Decode(&es); err != nil {
		return nil, fmt.Errorf("svc: eol table: %w", err)
	}
	for i := range es {
		d, err := time.Parse(time.DateOnly, es[i].EOL)
		if err != nil || es[i].Product == "" || es[i].Cycle == "" {
			return nil, fmt.Errorf("svc: eol table entry %d (%s %s): product, cycle and a YYYY-MM-DD eol are required", i+1, es[i].Product, es[i].Cycle)
		}
		es[i].date = d
	}
	return es, nil
}

type eol struct {
	meta   check.Meta
	table  []EOLEntry
	distro DistroTable
}

func eolCheck() check.Check {
	table, err := ParseEOL(eolData)
	if err != nil {
		panic(err) // the embedded table is tested
	}
	distro, err := ParseDistroTable(distroData)
	if err != nil {
		panic(err) // the embedded table is tested
	}
	return &eol{meta: metaEOL, table: table, distro: distro}
}

func (e *eol) Meta() check.Meta { return e.meta }

func (e *eol) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && t.Product != "" && t.Version != ""
}

func (e *eol) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	now := time.Now()
	if env.Now != nil {
		now = env.Now()
	}
	// A distribution's package lives as long as its release does (see
	// distro.yaml); the upstream cycle decides only when the banner shows
	// no distribution, or the table cannot tell the release.
	version := t.Version
	var fromDistro string
	if p, ok := vulndb.DistroPackage(t.Product, t.Version, t.Banner); ok && p.Distro != "raspbian" {
		if res, decided := e.distroEOL(t, p, now); decided {
			return res, nil
		}
		if p.Upstream != "" {
			version = p.Upstream
		}
		fromDistro = vulndb.DistroName(p.Distro) + " (release not shown)"
	}
	if en, ok := LookupEOL(e.table, t.Product, version); ok && now.After(en.date) {
		f := map[string]string{"product": t.Product, "version": t.Version, "cycle": en.Cycle, "eol": en.EOL}
		if fromDistro != "" {
			f["distribution"] = fromDistro
		}
		return []check.Result{{Check: e.meta.ID, Severity: e.meta.Severity, Subject: en.Product + " " + en.Cycle,
			Title:    fmt.Sprintf("%s %s reached end of life on %s", t.Product, version, en.EOL),
			Evidence: check.Evidence{Fields: f}}}, nil
	}
	return nil, nil
}

// LookupEOL finds the cycle of product/version, the longest cycle prefix
// winning ("1.18" before "1").
func LookupEOL(table []EOLEntry, product, version string) (EOLEntry, bool) {
	var best EOLEntry
	found := false
	for _, en := range table {
		if !productMatch(en.Product, product) || !cycleMatch(en.Cycle, version) {
			continue
		}
		if !found || len(en.Cycle) > len(best.Cycle) {
			best, found = en, true
		}
	}
	return best, found
}

// productMatch compares names loosely: "Apache httpd" matches "Apache
// httpd" and "apache", "nginx" matches "nginx".
func productMatch(table, seen string) bool {
	a, b := strings.ToLower(table), strings.ToLower(strings.TrimSpace(seen))
	return a == b || strings.HasPrefix(a, b+" ") || strings.HasPrefix(b, a+" ")
}

// cycleMatch reports whether version starts with cycle on a component
// boundary.
func cycleMatch(cycle, version string) bool {
	if !strings.HasPrefix(version, cycle) {
		return false
	}
	if len(version) == len(cycle) {
		return true
	}
	next := version[len(cycle)]
	return next < '0' || next > '9'
}
