package vulndb

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Red Hat's OVAL data (version 2, one file per product stream:
// rhel-8.oval.xml, rhel-9.oval.xml, published bzip2'd).
//
// An OVAL document is, in this order (the schema's sequence): the
// definitions, then the tests, the objects and the states they refer to.
// A definition of class "patch" is one advisory (RHSA-2024:4312): its
// metadata names the advisory (a reference with source "RHSA"), the CVEs
// (advisory/cve elements and references with source "CVE") and the
// affected platform ("Red Hat Enterprise Linux 9", or the CPEs
// cpe:/o:redhat:enterprise_linux:9 of its affected_cpe_list); its
// criteria refer to rpminfo tests, each joining an rpminfo object (the
// binary package name) and an rpminfo state (for the fix: an evr with
// operation "less than", the first fixed epoch:version-release).
//
// The files are hundreds of megabytes, so ReadRedHatOVAL streams them:
// each element is decoded alone (one record at a time under the size
// caps), and only what resolves a fix of a package Rampart can see on the
// network is kept between the sections: the definitions' advisory, CVEs,
// release and the test references whose criterion names such a package
// (Red Hat writes "openssh is earlier than 0:8.7p1-38.el9_4.1"), then the
// tests, objects and states those need. What is kept is bounded
// (maxOVALRefs).
//
// One RHEL release ships several upstream versions of some packages
// (module streams in RHEL 8, rebases in minor releases), so a record
// carries the upstream version it fixes (DistroFix.Stream) and is applied
// only to a package of that upstream version.

// KindRedHatOVAL is Red Hat's OVAL v2 XML.
const KindRedHatOVAL Kind = "redhat-oval"

// redhatPackages are the binary packages whose fixes the import keeps:
// those named as their source package, for the software Rampart can see
// on the network (a banner's httpd is the httpd package; mod_ssl and
// httpd-tools share its version-release).
var redhatPackages = map[string]bool{
	"openssh": true, "bind": true, "bind9.16": true, "httpd": true, "nginx": true, "php": true, "postfix": true,
	"dovecot": true, "mariadb": true, "mysql": true, "postgresql": true, "samba": true, "vsftpd": true, "squid": true,
	"haproxy": true, "tomcat": true, "openssl": true, "unbound": true, "openldap": true, "cyrus-imapd": true,
	"varnish": true, "memcached": true, "redis": true, "rsync": true, "freeradius": true, "sendmail": true,
	"exim": true, "proftpd": true, "lighttpd": true,
}

// IsRedHatNetworkPackage reports whether the Red Hat import keeps records
// of binary package name.
func IsRedHatNetworkPackage(name string) bool { return redhatPackages[name] }

// Bounds of what one OVAL file may make the reader keep.
const (
	maxOVALRefs     = 1 << 20 // test references kept across definitions
	maxOVALCVEs     = 4096    // CVEs of one definition
	maxOVALCriteria = 64      // nesting of criteria
	maxOVALStates   = 16      // states of one test
)

type ovalReference struct {
	RefID  string `xml:"ref_id,attr"`
	Source string `xml:"source,attr"`
}

type ovalCriterion struct {
	TestRef string `xml:"test_ref,attr"`
	Comment string `xml:"comment,attr"`
}

type ovalCriteria struct {
	Criteria  []ovalCriteria  `xml:"criteria"`
	Criterion []ovalCriterion `xml:"criterion"`
}

type ovalDefinition struct {
	ID       string `xml:"id,attr"`
	Class    string `xml:"class,attr"`
	Metadata struct {
		Title      string          `xml:"title"`
		Platforms  []string        `xml:"affected>platform"`
		References []ovalReference `xml:"reference"`
		Advisory   struct {
			CVEs []string `xml:"cve"`
			CPEs []string `xml:"affected_cpe_list>cpe"`
		} `xml:"advisory"`
	} `xml:"metadata"`
	Criteria ovalCriteria `xml:"criteria"`
}

type ovalRef struct {
	ID   string `xml:"object_ref,attr"`
	SRef string `xml:"state_ref,attr"`
}

type ovalTest struct {
	ID     string    `xml:"id,attr"`
	Object ovalRef   `xml:"object"`
	States []ovalRef `xml:"state"`
}

type ovalObject struct {
	ID   string `xml:"id,attr"`
	Name string `xml:"name"`
}

type ovalState struct {
	ID  string `xml:"id,attr"`
	EVR struct {
		Operation string `xml:"operation,attr"`
		Value     string `xml:",chardata"`
	} `xml:"evr"`
}

// rhDef is what is kept of a definition until its tests are read.
type rhDef struct {
	record   int
	offset   int64
	advisory string
	release  string
	cves     []string
	refs     []rhRef
}

// rhRef is a kept criterion: its test and whether its comment said it
// compares a version (then it must resolve).
type rhRef struct {
	test    string
	version bool
}

var (
	rhAdvisoryRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^RH[SBE]A-[0-9]{4}:[0-9]{4,7}$`) })
	rhPlatformRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Red Hat Enterprise Linux ([0-9]{1,2})$`) })
	rhCPERE      = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^cpe:/[ao]:redhat:enterprise_linux:([0-9]{1,2})(?:::[a-z_]+)?$`)
	})
	rhFileRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?:^|[/\\])rhel-([0-9]{1,2})\.oval\.xml`) })
)

// ReadRedHatOVAL reads Red Hat's OVAL v2 XML and calls fn with a fix
// record per CVE, RHEL release and kept package of each patch
// definition, once the whole file is read (the definitions come before
// the states that hold the fixed versions). A definition without a
// recognisable advisory or RHEL major release, or whose version test does
// not resolve to a "less than" evr that parses, is a bad record (bad, or
// the end of the read when bad is nil); a document that is not OVAL, has
// its sections out of order or is not well-formed XML is an error.
func ReadRedHatOVAL(r io.Reader, name string, fn func(DistroFix) error, bad func(*RecordError)) error {
	br, cr, err := decompress(r, name)
	if err != nil {
		return err
	}
	dec := xml.NewDecoder(br)
	dec.Strict = true
	syntax := syntaxErr(name, dec.InputOffset)
	// The root.
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "oval_definitions" {
				return fmt.Errorf("%w: %s: the root element is <%s>, not OVAL's <oval_definitions>", ErrFormat, name, clip(se.Name.Local))
			}
			break
		}
	}
	fileRelease := ""
	if m := rhFileRE().FindStringSubmatch(name); m != nil {
		fileRelease = "el" + m[1]
	}
	rd := &rhReader{name: name, fileRelease: fileRelease, bad: bad, dec: dec, cr: cr,
		tests: map[string]*ovalTest{}, objects: map[string]string{}, states: map[string]string{}}
	order := map[string]int{"generator": 0, "definitions": 1, "tests": 2, "objects": 3, "states": 4, "variables": 5, "Signature": 6}
	last := -1
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			// The root's end: nothing but comments may follow.
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					return rd.resolve(fn)
				}
				if err != nil {
					return syntax(err)
				}
				if _, ok := tok.(xml.StartElement); ok {
					return fmt.Errorf("%w: %s: content after </oval_definitions>", ErrFormat, name)
				}
			}
		case xml.StartElement:
			pos, known := order[t.Name.Local]
			if known {
				if pos <= last {
					return fmt.Errorf("%w: %s: <%s> out of order (OVAL's sections are generator, definitions, tests, objects, states)", ErrFormat, name, t.Name.Local)
				}
				last = pos
			}
			var err error
			switch t.Name.Local {
			case "definitions":
				err = rd.section("definition", rd.definition)
			case "tests":
				err = rd.section("rpminfo_test", rd.test)
			case "objects":
				err = rd.section("rpminfo_object", rd.object)
			case "states":
				err = rd.section("rpminfo_state", rd.state)
			default:
				cr.startRecord()
				err = dec.Skip()
			}
			if err != nil {
				var re *RecordError
				if errors.As(err, &re) || errors.Is(err, ErrFormat) || errors.Is(err, ErrTooLarge) {
					return err
				}
				return syntax(err)
			}
		}
	}
}

// rhReader holds what the sections keep for the resolution.
type rhReader struct {
	name, fileRelease string
	bad               func(*RecordError)
	dec               *xml.Decoder
	cr                *capReader
	n                 int
	defs              []rhDef
	refs              int
	need              map[string]bool // test IDs, then object and state IDs
	tests             map[string]*ovalTest
	objects           map[string]string // object ID → package name
	states            map[string]string // state ID → fixed EVR
}

// section reads the children of a section element, handing those named
// elem to one and skipping the others.
func (rd *rhReader) section(elem string, one func(xml.StartElement) error) error {
	for {
		tok, err := rd.dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			rd.cr.startRecord()
			rd.n++
			if t.Name.Local != elem {
				if err := rd.dec.Skip(); err != nil {
					return err
				}
				continue
			}
			if err := one(t); err != nil {
				return err
			}
		}
	}
}

func (rd *rhReader) reject(id string, err error) error {
	return reject(rd.bad, &RecordError{File: rd.name, Record: rd.n, Offset: rd.dec.InputOffset(), ID: clip(id), Err: err})
}

func (rd *rhReader) definition(start xml.StartElement) error {
	var d ovalDefinition
	if err := rd.dec.DecodeElement(&d, &start); err != nil {
		return err
	}
	if d.Class != "patch" {
		return nil
	}
	m := d.Metadata
	adv := ""
	var cves []string
	addCVE := func(c string) {
		c = strings.TrimSpace(c)
		if ValidCVEID(c) && !slices.Contains(cves, c) {
			cves = append(cves, c)
		}
	}
	for _, ref := range m.References {
		switch ref.Source {
		case "RHSA", "RHBA", "RHEA":
			if adv == "" {
				adv = strings.TrimSpace(ref.RefID)
			}
		case "CVE":
			addCVE(ref.RefID)
		}
	}
	for _, c := range m.Advisory.CVEs {
		addCVE(c)
	}
	if adv == "" {
		// "RHSA-2024:4312: openssh security update (Important)"
		if t, _, ok := strings.Cut(strings.TrimSpace(m.Title), ": "); ok {
			adv = t
		}
	}
	if len(cves) == 0 {
		return nil // a bug fix or enhancement: no CVE to clear
	}
	if !rhAdvisoryRE().MatchString(adv) {
		return rd.reject(d.ID, fmt.Errorf("advisory %q is not a Red Hat advisory ID", clip(adv)))
	}
	if len(cves) > maxOVALCVEs {
		return rd.reject(adv, fmt.Errorf("%d CVEs", len(cves)))
	}
	rel, err := rd.release(m.Platforms, m.Advisory.CPEs)
	if err != nil {
		return rd.reject(adv, err)
	}
	def := rhDef{record: rd.n, offset: rd.dec.InputOffset(), advisory: adv, release: rel, cves: cves}
	if err := rd.collect(d.Criteria, &def, 0); err != nil {
		return rd.reject(adv, err)
	}
	if len(def.refs) == 0 {
		return nil // no package Rampart sees
	}
	rd.refs += len(def.refs)
	if rd.refs > maxOVALRefs {
		return fmt.Errorf("%w: %s: over %d package tests to resolve", ErrTooLarge, rd.name, maxOVALRefs)
	}
	if rd.need == nil {
		rd.need = map[string]bool{}
	}
	for _, r := range def.refs {
		rd.need[r.test] = true
	}
	rd.defs = append(rd.defs, def)
	return nil
}

// release reads the RHEL major release a definition applies to: the one
// its platforms name, else its CPEs, else the file's name
// (rhel-9.oval.xml). Several majors, or a stream the major does not
// describe (an EUS or AUS stream), name none.
func (rd *rhReader) release(platforms, cpes []string) (string, error) {
	pick := func(list []string, re *regexp.Regexp) (string, bool) {
		found := ""
		for _, s := range list {
			if m := re.FindStringSubmatch(strings.TrimSpace(s)); m != nil {
				if found != "" && found != m[1] {
					return "", false
				}
				found = m[1]
			}
		}
		return found, true
	}
	for _, try := range []struct {
		list []string
		re   *regexp.Regexp
	}{{platforms, rhPlatformRE()}, {cpes, rhCPERE()}} {
		m, ok := pick(try.list, try.re)
		if !ok {
			return "", errors.New("it applies to several RHEL major releases")
		}
		if m != "" {
			return "el" + m, nil
		}
	}
	if rd.fileRelease != "" {
		return rd.fileRelease, nil
	}
	return "", fmt.Errorf("no RHEL major release in its platforms (%s)", clip(strings.Join(platforms, ", ")))
}

// collect gathers the criteria's test references that may compare the
// version of a kept package.
func (rd *rhReader) collect(c ovalCriteria, def *rhDef, depth int) error {
	if depth > maxOVALCriteria {
		return fmt.Errorf("criteria nested over %d deep", maxOVALCriteria)
	}
	for _, cr := range c.Criterion {
		if cr.TestRef == "" {
			continue
		}
		pkg, rest, ok := strings.Cut(cr.Comment, " is ")
		if ok && !IsRedHatNetworkPackage(strings.TrimSpace(pkg)) {
			continue
		}
		def.refs = append(def.refs, rhRef{test: cr.TestRef, version: ok && strings.HasPrefix(rest, "earlier than ")})
	}
	for _, sub := range c.Criteria {
		if err := rd.collect(sub, def, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (rd *rhReader) test(start xml.StartElement) error {
	if !rd.need[attr(start, "id")] {
		return rd.dec.Skip()
	}
	var t ovalTest
	if err := rd.dec.DecodeElement(&t, &start); err != nil {
		return err
	}
	if len(t.States) > maxOVALStates {
		t.States = t.States[:maxOVALStates] // Red Hat's have one or two
	}
	rd.tests[t.ID] = &t
	rd.need[t.Object.ID] = true
	for _, s := range t.States {
		rd.need[s.SRef] = true
	}
	return nil
}

func (rd *rhReader) object(start xml.StartElement) error {
	if !rd.need[attr(start, "id")] {
		return rd.dec.Skip()
	}
	var o ovalObject
	if err := rd.dec.DecodeElement(&o, &start); err != nil {
		return err
	}
	rd.objects[o.ID] = strings.TrimSpace(o.Name)
	return nil
}

func (rd *rhReader) state(start xml.StartElement) error {
	if !rd.need[attr(start, "id")] {
		return rd.dec.Skip()
	}
	var s ovalState
	if err := rd.dec.DecodeElement(&s, &start); err != nil {
		return err
	}
	if s.EVR.Operation == "less than" {
		rd.states[s.ID] = strings.TrimSpace(s.EVR.Value)
	}
	return nil
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// resolve turns the kept definitions into fix records.
func (rd *rhReader) resolve(fn func(DistroFix) error) error {
	for _, d := range rd.defs {
		rej := func(err error) error {
			return reject(rd.bad, &RecordError{File: rd.name, Record: d.record, Offset: d.offset, ID: d.advisory, Err: err})
		}
		// package → fixed EVR (the highest when a definition names two).
		fixed := map[string]RPMVersion{}
		var order []string
		bad := false
		for _, r := range d.refs {
			t := rd.tests[r.test]
			if t == nil {
				if r.version {
					if err := rej(fmt.Errorf("test %s is not among the rpminfo tests", clip(r.test))); err != nil {
						return err
					}
					bad = true
					break
				}
				continue // another kind of test (the platform's)
			}
			pkg := rd.objects[t.Object.ID]
			if !IsRedHatNetworkPackage(pkg) {
				continue
			}
			for _, s := range t.States {
				evr, ok := rd.states[s.SRef]
				if !ok {
					continue // a signature or architecture state
				}
				v, err := ParseRPMVersion(evr)
				if err == nil && v.Release == "" {
					err = fmt.Errorf("rpm version %q has no release", clip(evr))
				}
				if err != nil {
					if err := rej(fmt.Errorf("%s: %w", pkg, err)); err != nil {
						return err
					}
					bad = true
					break
				}
				old, seen := fixed[pkg+"\x00"+v.Version]
				if !seen {
					order = append(order, pkg+"\x00"+v.Version)
				}
				if !seen || v.Compare(old) > 0 {
					fixed[pkg+"\x00"+v.Version] = v
				}
			}
			if bad {
				break
			}
		}
		if bad {
			continue
		}
		for _, k := range order {
			pkg, _, _ := strings.Cut(k, "\x00")
			v := fixed[k]
			proto := DistroFix{Distro: "rhel", Release: d.release, Package: pkg, Fixed: v.String(), Stream: v.Version,
				Advisory: d.advisory, Source: string(KindRedHatOVAL)}
			if err := emitPerCVE(proto, d.cves, fn, rej); err != nil {
				return err
			}
		}
	}
	return nil
}
