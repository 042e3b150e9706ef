package vulndb

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// The distributions' security data, read offline:
//
//   - The Debian security tracker's JSON
//     (https://security-tracker.debian.org/tracker/data/json): an object
//     keyed by source package, then by CVE, whose "releases" object gives,
//     per codename, a "status" (resolved, open, undetermined), a
//     "fixed_version" ("0": never affected) and an "urgency". ReadDebianTracker
//     streams it package by package.
//   - The Debian advisory lists of the tracker's repository (data/DSA/list,
//     data/DLA/list): "[01 Jul 2024] DSA-5724-1 openssh - security update",
//     then "{CVE-2024-6387}" and "[bookworm] - openssh 1:9.2p1-2+deb12u3".
//     The tracker's JSON does not name advisories; these lists do, and
//     Backported quotes them.
//   - OSV records (https://ossf.github.io/osv-schema/), the format Ubuntu
//     publishes its notices in (canonical/ubuntu-security-notices, osv/:
//     USN-*.json and CVE-*.json) and osv.dev serves Debian's in: each
//     "affected" entry names an ecosystem ("Ubuntu:22.04:LTS",
//     "Ubuntu:Pro:16.04:LTS", "Debian:12"), a source package and a range
//     whose "fixed" event is the fixed version. ReadOSV reads one record, an
//     array of them, or {"vulns": [...]}.
//
// Red Hat's OVAL v2 XML is read by ReadRedHatOVAL (redhat.go).
//
// Only records that can clear a package are kept (resolved with a fixed
// version or never affected) and only for the source packages Rampart can
// see on the network (IsNetworkPackage).

// The distribution input kinds.
const (
	KindDebianTracker Kind = "debian-tracker"
	KindDebianList    Kind = "debian-advisories"
	KindOSV           Kind = "osv"
	// KindDistro names the snapshot file that holds the fix records of
	// all three.
	KindDistro Kind = "distro"
)

type trackerRelease struct {
	Status       string `json:"status"`
	FixedVersion string `json:"fixed_version"`
	Urgency      string `json:"urgency"`
}

type trackerIssue struct {
	Releases map[string]trackerRelease `json:"releases"`
}

// maxTrackerReleases bounds the releases of one issue (real: about ten).
const maxTrackerReleases = 64

// ReadDebianTracker reads the Debian security tracker's JSON and calls fn
// with each kept fix record. A package whose value is not an object of
// issues, or a resolved release whose fixed version does not parse, is a
// bad record (bad, or the end of the read when bad is nil); open and
// undetermined issues and other packages are skipped.
func ReadDebianTracker(r io.Reader, name string, fn func(DistroFix) error, bad func(*RecordError)) error {
	br, cr, err := decompress(r, name)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	syntax := syntaxErr(name, dec.InputOffset)
	if tok, err := dec.Token(); err != nil {
		return syntax(err)
	} else if tok != json.Delim('{') {
		return fmt.Errorf("%w: %s: the Debian tracker's data is a JSON object", ErrFormat, name)
	}
	n := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		pkg, _ := tok.(string)
		cr.startRecord()
		n++
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntax(err)
		}
		if !IsNetworkPackage(pkg) {
			continue
		}
		var issues map[string]trackerIssue
		if err := json.Unmarshal(raw, &issues); err != nil {
			if e := reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: clip(pkg), Err: err}); e != nil {
				return e
			}
			continue
		}
		for cve, is := range issues {
			if !ValidCVEID(cve) {
				continue // TEMP- entries: not yet a CVE
			}
			if len(is.Releases) > maxTrackerReleases {
				if e := reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: pkg + " " + cve,
					Err: fmt.Errorf("%d releases", len(is.Releases))}); e != nil {
					return e
				}
				continue
			}
			for rel, st := range is.Releases {
				if st.Status != "resolved" || st.FixedVersion == "" {
					continue
				}
				f := DistroFix{Distro: "debian", Release: rel, Package: pkg, CVE: cve, Fixed: st.FixedVersion,
					Urgency: clipUrgency(st.Urgency), Source: string(KindDebianTracker)}
				if err := f.validate(); err != nil {
					if e := reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: pkg + " " + cve + " " + clip(rel), Err: err}); e != nil {
						return e
					}
					continue
				}
				if err := fn(f); err != nil {
					return err
				}
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntax(err)
	}
	return nil
}

func clipUrgency(u string) string {
	u = strings.TrimSpace(u)
	if u == "not yet assigned" || len(u) > 32 {
		return ""
	}
	return u
}

var (
	dsaHeadRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\[(\d{1,2} [A-Za-z]{3} \d{4})\] ((?:DSA|DLA)-\d+(?:-\d+)?) (\S+)`)
	})
	dsaCVEsRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s+\{([^}]*)\}\s*$`) })
	dsaFixRE  = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\s+\[([a-z]+)\] - (\S+) (\S+)`)
	})
)

// maxListLine bounds one line of an advisory list.
const maxListLine = 64 << 10

// ReadDebianList reads a Debian advisory list (DSA or DLA) and calls fn
// with a fix record per CVE and release each advisory fixed. Entries
// without CVEs (regression updates) and "<not-affected>" style versions
// are skipped; a fix line outside an advisory or a version that does not
// parse is a bad record.
func ReadDebianList(r io.Reader, name string, fn func(DistroFix) error, bad func(*RecordError)) error {
	br, _, err := decompress(r, name)
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), maxListLine)
	var adv string
	var cves []string
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" {
			continue
		}
		if m := dsaHeadRE().FindStringSubmatch(text); m != nil {
			adv, cves = m[2], nil
			continue
		}
		if m := dsaCVEsRE().FindStringSubmatch(text); m != nil {
			cves = cves[:0]
			for _, c := range strings.Fields(m[1]) {
				if ValidCVEID(c) {
					cves = append(cves, c)
				}
			}
			continue
		}
		m := dsaFixRE().FindStringSubmatch(text)
		if m == nil {
			continue // NOTE: lines and the like
		}
		if adv == "" {
			if e := reject(bad, &RecordError{File: name, Line: line, Err: errors.New("a fix line before any advisory")}); e != nil {
				return e
			}
			continue
		}
		rel, pkg, ver := m[1], m[2], m[3]
		if strings.HasPrefix(ver, "<") || len(cves) == 0 || !IsNetworkPackage(pkg) {
			continue
		}
		kind := "debian-dsa"
		if strings.HasPrefix(adv, "DLA-") {
			kind = "debian-dla"
		}
		for _, c := range cves {
			f := DistroFix{Distro: "debian", Release: rel, Package: pkg, CVE: c, Fixed: ver, Advisory: adv, Source: kind}
			if err := f.validate(); err != nil {
				if e := reject(bad, &RecordError{File: name, Line: line, ID: adv, Err: err}); e != nil {
					return e
				}
				break
			}
			if err := fn(f); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: %s: line %d is over %d bytes", ErrTooLarge, name, line+1, maxListLine)
		}
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return fmt.Errorf("vulndb: %s: %w", name, err)
	}
	return nil
}

// osvRecord is the part of an OSV record we read.
type osvRecord struct {
	ID       string   `json:"id"`
	Aliases  []string `json:"aliases"`
	Related  []string `json:"related"`
	Upstream []string `json:"upstream"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			PURL      string `json:"purl"`
		} `json:"package"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

// maxOSVAffected bounds the affected entries of one record (a kernel USN
// lists a few hundred).
const maxOSVAffected = 4096

// ReadOSV reads OSV records (one, an array, or {"vulns": [...]}) and calls
// fn with a fix record per CVE, Debian or Ubuntu release and package whose
// range has a fixed version. The CVEs are the record's ID when it is one,
// else its aliases, upstream and related IDs (a USN relates its CVEs).
func ReadOSV(r io.Reader, name string, fn func(DistroFix) error, bad func(*RecordError)) error {
	br, cr, err := decompress(r, name)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	syntax := syntaxErr(name, dec.InputOffset)
	n := 0
	one := func(raw json.RawMessage) error {
		n++
		var rec osvRecord
		if err := json.Unmarshal(raw, &rec); err != nil || rec.ID == "" {
			if err == nil {
				err = errors.New("no id")
			}
			return reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), Err: err})
		}
		if len(rec.Affected) > maxOSVAffected {
			return reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: clip(rec.ID), Err: fmt.Errorf("%d affected entries", len(rec.Affected))})
		}
		return osvFixes(rec, fn, func(err error) error {
			return reject(bad, &RecordError{File: name, Record: n, Offset: dec.InputOffset(), ID: clip(rec.ID), Err: err})
		})
	}
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			cr.startRecord()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return syntax(err)
			}
			if err := one(raw); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return syntax(err)
		}
		return nil
	case json.Delim('{'):
	default:
		return fmt.Errorf("%w: %s: OSV data is a JSON object or array", ErrFormat, name)
	}
	// One object: a record, or {"vulns": [...]} as osv.dev's API answers.
	obj := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		key, _ := tok.(string)
		if key == "vulns" {
			var list []json.RawMessage
			if err := dec.Decode(&list); err != nil {
				return syntax(err)
			}
			for _, raw := range list {
				if err := one(raw); err != nil {
					return err
				}
			}
			continue
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return syntax(err)
		}
		if len(obj) >= maxSingleKeys {
			return fmt.Errorf("%w: %s: an OSV record with over %d keys", ErrFormat, name, maxSingleKeys)
		}
		obj[key] = v
	}
	if _, err := dec.Token(); err != nil {
		return syntax(err)
	}
	if _, ok := obj["id"]; !ok {
		return nil // {"vulns": [...]} alone
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("vulndb: %s: %w", name, err)
	}
	return one(raw)
}

// osvFixes turns one OSV record into fix records.
func osvFixes(rec osvRecord, fn func(DistroFix) error, bad func(error) error) error {
	var cves []string
	if ValidCVEID(rec.ID) {
		cves = []string{rec.ID}
	} else {
		for _, list := range [][]string{rec.Aliases, rec.Upstream, rec.Related} {
			for _, c := range list {
				if ValidCVEID(c) && !containsString(cves, c) {
					cves = append(cves, c)
				}
			}
		}
	}
	if len(cves) == 0 {
		return nil
	}
	adv := ""
	for _, p := range []string{"USN-", "DSA-", "DLA-"} {
		if strings.HasPrefix(rec.ID, p) {
			adv = rec.ID
		}
	}
	for _, a := range rec.Affected {
		distro, release := osvRelease(a.Package.Ecosystem, a.Package.PURL)
		if distro == "" || !IsNetworkPackage(a.Package.Name) {
			continue
		}
		if release == "" {
			if err := bad(fmt.Errorf("ecosystem %q names no known release", clip(a.Package.Ecosystem))); err != nil {
				return err
			}
			continue
		}
		fixed := ""
		for _, rg := range a.Ranges {
			if rg.Type != "ECOSYSTEM" {
				continue
			}
			for _, ev := range rg.Events {
				if v, ok := ev["fixed"]; ok {
					fixed = v
				}
			}
		}
		if fixed == "" {
			continue // not fixed: nothing to clear a package with
		}
		proto := DistroFix{Distro: distro, Release: release, Package: a.Package.Name, Fixed: fixed, Advisory: adv, Source: string(KindOSV)}
		if err := emitPerCVE(proto, cves, fn, bad); err != nil {
			return err
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// osvRelease reads the distribution and release codename of an OSV
// affected entry: the purl's "distro=" qualifier when present (Ubuntu
// writes "...?arch=src?distro=jammy"), else the ecosystem's version
// ("Ubuntu:22.04:LTS", "Ubuntu:Pro:16.04:LTS", "Debian:12").
func osvRelease(ecosystem, purl string) (distro, release string) {
	parts := strings.Split(ecosystem, ":")
	switch strings.ToLower(parts[0]) {
	case "ubuntu":
		distro = "ubuntu"
	case "debian":
		distro = "debian"
	default:
		return "", ""
	}
	if i := strings.Index(purl, "distro="); i >= 0 {
		d := purl[i+len("distro="):]
		if j := strings.IndexAny(d, "?&#"); j >= 0 {
			d = d[:j]
		}
		if c := ReleaseCodename(distro, d); c != "" {
			return distro, c
		}
	}
	for _, p := range parts[1:] {
		if c := ReleaseCodename(distro, p); c != "" {
			return distro, c
		}
	}
	return distro, ""
}
