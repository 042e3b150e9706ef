package vulndb

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DB is the vulnerability database in memory: CVEs indexed by the
// (vendor, product) of their vulnerable criteria, KEV entries and EPSS
// scores. Build it with the Add methods (or Load), then share it: Match,
// MatchProduct and the lookups are safe for concurrent use as long as no
// Add runs at the same time.
type DB struct {
	cves     []*CVE
	byID     map[string]int32
	index    map[vpKey][]int32   // (vendor, product) of vulnerable criteria → CVEs
	products map[string][]string // product → vendors, for MatchProduct
	wild     []int32             // CVEs with wildcard vendor or product criteria
	kev      map[string]*KEVEntry
	epss     map[string]EPSSScore
	distro   map[pkgKey][]DistroFix // distributions' fixes, by package and CVE
	info     Manifest
}

type vpKey struct{ vendor, product string }

// Hit is one CVE that a product matches.
type Hit struct {
	CVE  *CVE
	KEV  *KEVEntry // nil when not known exploited
	EPSS float64   // EPSS probability, 0 when unknown
	// Percentile is the EPSS percentile, 0 when unknown.
	Percentile float64
	// Match is the vulnerable criteria (with its range) that matched; it
	// points into CVE.Configurations and must not be changed.
	Match *CPEMatch
}

// NewDB returns an empty database.
func NewDB() *DB {
	return &DB{
		byID:     map[string]int32{},
		index:    map[vpKey][]int32{},
		products: map[string][]string{},
		kev:      map[string]*KEVEntry{},
		epss:     map[string]EPSSScore{},
		distro:   map[pkgKey][]DistroFix{},
	}
}

// AddCVE adds c, or replaces the stored record with the same ID when c
// was modified later. It parses c's criteria; an unparsable one is an
// error and c is not added. c must not be changed afterwards.
func (db *DB) AddCVE(c *CVE) error {
	if !ValidCVEID(c.ID) {
		return fmt.Errorf("%w: id %q is not a CVE ID", ErrBadRecord, clip(c.ID))
	}
	if err := c.compile(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadRecord, c.ID, err)
	}
	return db.addCompiled(c)
}

// addCompiled adds a CVE whose criteria compile() already parsed.
func (db *DB) addCompiled(c *CVE) error {
	i, replace := db.byID[c.ID]
	if replace {
		if !c.Modified.After(db.cves[i].Modified) {
			return nil
		}
		db.cves[i] = c
	} else {
		if len(db.cves) >= 1<<31-1 {
			return fmt.Errorf("vulndb: too many CVEs")
		}
		i = int32(len(db.cves))
		db.cves = append(db.cves, c)
		db.byID[c.ID] = i
	}
	for k := range c.Configurations {
		db.indexNode(&c.Configurations[k], i, replace)
	}
	return nil
}

func (db *DB) indexNode(n *Node, i int32, replace bool) {
	for k := range n.Children {
		db.indexNode(&n.Children[k], i, replace)
	}
	for k := range n.Match {
		m := &n.Match[k]
		if !m.Vulnerable {
			continue
		}
		v, p := m.crit.Vendor, m.crit.Product
		if v == Any || p == Any || hasWildcard(v) || hasWildcard(p) {
			db.wild = appendOnce(db.wild, i, replace)
			continue
		}
		key := vpKey{v, p}
		list := db.index[key]
		if len(list) == 0 {
			db.products[p] = append(db.products[p], v)
		}
		db.index[key] = appendOnce(list, i, replace)
	}
}

// appendOnce appends i unless the list has it: a CVE's criteria are
// indexed one after the other, so only the last element needs a look,
// except when a replaced record is indexed again.
func appendOnce(list []int32, i int32, replace bool) []int32 {
	if len(list) > 0 && list[len(list)-1] == i || replace && slices.Contains(list, i) {
		return list
	}
	return append(list, i)
}

// AddKEV records a KEV entry.
func (db *DB) AddKEV(e KEVEntry) { db.kev[e.CVEID] = &e }

// AddEPSS records an EPSS score.
func (db *DB) AddEPSS(s EPSSScore) { db.epss[s.CVE] = s }

// CVE returns the record with id.
func (db *DB) CVE(id string) (*CVE, bool) {
	i, ok := db.byID[id]
	if !ok {
		return nil, false
	}
	return db.cves[i], true
}

// KEV returns the KEV entry of id: from the catalog, else from the NVD
// record's cisa* fields.
func (db *DB) KEV(id string) (*KEVEntry, bool) {
	if e, ok := db.kev[id]; ok {
		return e, true
	}
	if c, ok := db.CVE(id); ok && c.CISA != nil {
		return c.CISA, true
	}
	return nil, false
}

// EPSS returns the EPSS score of id.
func (db *DB) EPSS(id string) (EPSSScore, bool) {
	s, ok := db.epss[id]
	return s, ok
}

// Stats counts what the database holds.
type Stats struct {
	CVEs, KEV, EPSS, Products int
	// DistroFixes counts the distributions' fix records.
	DistroFixes    int
	NewestModified time.Time
}

// Stats counts what db holds.
func (db *DB) Stats() Stats {
	s := Stats{CVEs: len(db.cves), KEV: len(db.kev), EPSS: len(db.epss), Products: len(db.index)}
	for _, l := range db.distro {
		s.DistroFixes += len(l)
	}
	for _, c := range db.cves {
		if c.Modified.After(s.NewestModified) {
			s.NewestModified = c.Modified
		}
	}
	return s
}

// Info returns the manifest of the snapshot db was loaded from (zero for
// a database built in memory).
func (db *DB) Info() Manifest { return db.info }

// Match returns the CVEs whose configurations the concrete product cpe
// matches (see the package documentation for the rules), most severe
// first. An unparsable cpe, or one without vendor and product, matches
// nothing.
func (db *DB) Match(cpe string) []Hit {
	t, err := ParseCPE(cpe)
	if err != nil {
		return nil
	}
	return db.MatchCPE(t)
}

// MatchCPE is Match for a parsed CPE. When the vendor is ANY the product
// index supplies the vendors that publish a product of that name.
func (db *DB) MatchCPE(t CPE) []Hit {
	if !specific(t.Product) {
		return nil
	}
	if !specific(t.Vendor) {
		var hits []Hit
		for _, v := range db.products[t.Product] {
			t2 := t
			t2.Vendor = v
			hits = db.collect(hits, &t2)
		}
		return db.finish(hits)
	}
	return db.finish(db.collect(nil, &t))
}

func (db *DB) collect(hits []Hit, t *CPE) []Hit {
	try := func(i int32) {
		c := db.cves[i]
		if m := c.match(t); m != nil {
			hits = append(hits, db.hit(c, m))
		}
	}
	for _, i := range db.index[vpKey{t.Vendor, t.Product}] {
		try(i)
	}
	for _, i := range db.wild {
		try(i)
	}
	return hits
}

func (db *DB) hit(c *CVE, m *CPEMatch) Hit {
	h := Hit{CVE: c, Match: m}
	h.KEV, _ = db.KEV(c.ID)
	if s, ok := db.epss[c.ID]; ok {
		h.EPSS, h.Percentile = s.EPSS, s.Percentile
	}
	return h
}

// finish removes duplicate CVEs and sorts: KEV first, then by CVSS score,
// then by ID, newest first.
func (db *DB) finish(hits []Hit) []Hit {
	if len(hits) == 0 {
		return nil
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if c := cmp.Compare(boolInt(b.KEV != nil), boolInt(a.KEV != nil)); c != 0 {
			return c
		}
		if c := cmp.Compare(score(b.CVE), score(a.CVE)); c != 0 {
			return c
		}
		return compareIDs(b.CVE.ID, a.CVE.ID)
	})
	return slices.CompactFunc(hits, func(a, b Hit) bool { return a.CVE.ID == b.CVE.ID })
}

// compareIDs orders CVE IDs by year then number.
func compareIDs(a, b string) int { return CompareVersion(a, b) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func score(c *CVE) float64 {
	if c.CVSS == nil {
		return -1
	}
	return c.CVSS.Score
}

// MatchProduct matches a fingerprint that has no CPE: a product name as a
// fingerprinter prints it ("Apache httpd", "OpenSSH", "nginx") or as a CPE
// product ("http_server"), a version, and a vendor when known (empty
// otherwise). The name goes through a small table of common
// fingerprinter names (ProductAliases); failing that it is normalised
// the CPE way (lower case, spaces to underscores) and its vendors come
// from the product index. An empty version matches only criteria that
// cover every version.
func (db *DB) MatchProduct(vendor, product, version string) []Hit {
	version = strings.TrimSpace(version)
	if version == "" {
		version = Any
	} else {
		version = asciiLower(escapeValue(version))
	}
	var hits []Hit
	for _, vp := range db.resolve(vendor, product) {
		t := CPE{Part: Any, Vendor: vp.vendor, Product: vp.product, Version: version,
			Update: Any, Edition: Any, Language: Any, SWEdition: Any, TargetSW: Any, TargetHW: Any, Other: Any}
		hits = db.collect(hits, &t)
	}
	return db.finish(hits)
}

// resolve finds the (vendor, product) pairs a fingerprint name stands for.
func (db *DB) resolve(vendor, product string) []vpKey {
	vendor = normName(vendor)
	var out []vpKey
	for _, a := range productAliases()[strings.ToLower(strings.TrimSpace(product))] {
		v, p, _ := strings.Cut(a, ":")
		if vendor == "" || vendor == v {
			out = append(out, vpKey{v, p})
		}
	}
	if len(out) > 0 {
		return out
	}
	p := normName(product)
	if p == "" {
		return nil
	}
	if vendor != "" {
		return []vpKey{{vendor, p}}
	}
	for _, v := range db.products[p] {
		out = append(out, vpKey{v, p})
	}
	return out
}

// normName turns a display name into a CPE-style one: "Apache Tomcat" →
// "apache_tomcat".
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.Join(strings.Fields(s), "_")
}

// escapeValue quotes the characters a logical CPE value keeps escaped.
func escapeValue(v string) string {
	if !strings.ContainsAny(v, `\*?`) {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, "*", `\*`, "?", `\?`).Replace(v)
}
