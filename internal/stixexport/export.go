// Package stixexport renders an organization's own findings as a STIX 2.1
// bundle for its SIEM (Splunk, Sentinel, OpenCTI, Elastic all read STIX
// 2.1 bundles, by file or through TAXII).
//
// STIX has no object for "a weakness of one of my assets"; the choice
// here uses only objects of the specification, no extension:
//
//   - the asset is a cyber-observable: ipv4-addr, ipv6-addr, domain-name
//     or url, with the specification's deterministic id (UUIDv5 of its
//     value), so a SIEM joins it with its own logs;
//   - each CVE is a vulnerability object (name and a "cve" external
//     reference, the form OpenCTI and MITRE use), shared by every
//     finding that names it;
//   - each finding is an observed-data (first and last seen, the asset)
//     and a note about it: title as abstract, severity, state, due date,
//     check, target, CVEs and evidence as content, machine-readable
//     labels ("severity:high", "state:open", "check:tls.cert-expired",
//     "kev", "overdue"), and a "rampart" external reference with the
//     finding's id and console URL. The note refers to the observed-data,
//     the asset and the vulnerabilities.
//
// Ids are deterministic (the same finding is the same note and
// observed-data on every export; modified says which version), the
// objects are in a fixed order, and the bundle's id is derived from its
// content, so an unchanged set of findings exports the same bytes.
package stixexport

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Options of an export.
type Options struct {
	// Producer names the identity that creates the objects: the national
	// CERT running Rampart. "Rampart" when empty.
	Producer string
	// Organization is the owner of the findings, named in each note.
	Organization string
	// Marking is the id of the marking definition every object carries;
	// empty: TLP:AMBER+STRICT (the organization's own weaknesses stay in
	// the organization).
	Marking string
	// ConsoleURL, when set, is the console's base URL; each note links
	// to {ConsoleURL}/findings/{id}.
	ConsoleURL string
	// Now decides which findings are overdue; zero: none is marked.
	Now time.Time
}

// TLPAmberStrict is the TLP 2.0 AMBER+STRICT marking definition's id.
const TLPAmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"

// MaxEvidence bounds the evidence copied into a note.
const MaxEvidence = 4096

// The STIX 2.1 namespace of deterministic ids of cyber-observables
// (section 2.9 of the specification).
var scoNamespace = [16]byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}

// rampartNamespace is ours, for the SDOs.
var rampartNamespace = [16]byte{0x3d, 0x51, 0x0a, 0x8e, 0x72, 0x14, 0x4f, 0x6b, 0x8c, 0x2e, 0x95, 0x0d, 0x47, 0xa3, 0x1b, 0x66}

func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

const layout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Truncate(time.Millisecond).Format(layout) }

// vulnCreated is the fixed creation time of the vulnerability objects:
// they are references to a public CVE, the same in every export.
var vulnCreated = "1999-01-01T00:00:00.000Z"

type externalRef struct {
	SourceName string `json:"source_name"`
	ExternalID string `json:"external_id,omitempty"`
	URL        string `json:"url,omitempty"`
}

type sdo struct {
	Type        string `json:"type"`
	SpecVersion string `json:"spec_version"`
	ID          string `json:"id"`
	CreatedBy   string `json:"created_by_ref,omitempty"`
	Created     string `json:"created"`
	Modified    string `json:"modified"`
	// identity
	Name          string `json:"name,omitempty"`
	IdentityClass string `json:"identity_class,omitempty"`
	// observed-data
	FirstObserved  string `json:"first_observed,omitempty"`
	LastObserved   string `json:"last_observed,omitempty"`
	NumberObserved int    `json:"number_observed,omitempty"`
	// note
	Abstract   string   `json:"abstract,omitempty"`
	Content    string   `json:"content,omitempty"`
	Authors    []string `json:"authors,omitempty"`
	ObjectRefs []string `json:"object_refs,omitempty"`
	// common
	Labels     []string      `json:"labels,omitempty"`
	ExtRefs    []externalRef `json:"external_references,omitempty"`
	MarkingRef []string      `json:"object_marking_refs,omitempty"`
}

type sco struct {
	Type        string `json:"type"`
	SpecVersion string `json:"spec_version"`
	ID          string `json:"id"`
	Value       string `json:"value"`
}

// observable returns the cyber-observable of a finding's target ("ip:port",
// "[v6]:port", an address, a name, "name:port" or a URL) and the port, if
// any.
func observable(target string) (sco, string) {
	t := strings.TrimSpace(target)
	typ, value, port := "", "", ""
	switch {
	case strings.Contains(t, "://"):
		typ, value = "url", t
	default:
		host := t
		if h, p, err := net.SplitHostPort(t); err == nil {
			host, port = h, p
		}
		if a, err := netip.ParseAddr(host); err == nil {
			a = a.Unmap()
			typ, value = "ipv4-addr", a.String()
			if a.Is6() {
				typ = "ipv6-addr"
			}
		} else {
			typ, value = "domain-name", strings.ToLower(strings.TrimSuffix(host, "."))
		}
	}
	// The id is the UUIDv5 of the canonical JSON of {"value": …}.
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"value": value})
	return sco{Type: typ, SpecVersion: "2.1", ID: typ + "--" + uuid5(scoNamespace, strings.TrimSuffix(b.String(), "\n")), Value: value}, port
}

// Write writes the bundle of findings to w.
func Write(w io.Writer, findings []finding.Finding, o Options) error {
	fs := slices.Clone(findings)
	slices.SortFunc(fs, func(a, b finding.Finding) int { return strings.Compare(a.Key, b.Key) })
	producer := o.Producer
	if producer == "" {
		producer = "Rampart"
	}
	marking := []string{o.Marking}
	if o.Marking == "" {
		marking[0] = TLPAmberStrict
	}
	ident := sdo{Type: "identity", SpecVersion: "2.1", ID: "identity--" + uuid5(rampartNamespace, "producer:"+producer),
		Created: vulnCreated, Modified: vulnCreated, Name: producer, IdentityClass: "organization"}

	var objects []any
	objects = append(objects, ident)
	seen := map[string]bool{}
	for i := range fs {
		f := &fs[i]
		obs, port := observable(f.Target)
		if !seen[obs.ID] {
			seen[obs.ID] = true
			objects = append(objects, obs)
		}
		refs := []string{}
		cves := slices.Clone(f.CVE)
		slices.Sort(cves)
		cves = slices.Compact(cves)
		for _, cve := range cves {
			cve = strings.ToUpper(strings.TrimSpace(cve))
			if cve == "" {
				continue
			}
			id := "vulnerability--" + uuid5(rampartNamespace, "cve:"+cve)
			refs = append(refs, id)
			if !seen[id] {
				seen[id] = true
				objects = append(objects, sdo{Type: "vulnerability", SpecVersion: "2.1", ID: id, CreatedBy: ident.ID,
					Created: vulnCreated, Modified: vulnCreated, Name: cve,
					ExtRefs:    []externalRef{{SourceName: "cve", ExternalID: cve, URL: "https://www.cve.org/CVERecord?id=" + cve}},
					MarkingRef: marking})
			}
		}
		created := f.FirstSeen
		modified := f.LastSeen
		if f.UpdatedAt.After(modified) {
			modified = f.UpdatedAt
		}
		if modified.Before(created) {
			modified = created
		}
		last := f.LastSeen
		if last.Before(f.FirstSeen) {
			last = f.FirstSeen
		}
		od := sdo{Type: "observed-data", SpecVersion: "2.1", ID: "observed-data--" + uuid5(rampartNamespace, "observed:"+f.Key),
			CreatedBy: ident.ID, Created: ts(created), Modified: ts(modified),
			FirstObserved: ts(f.FirstSeen), LastObserved: ts(last), NumberObserved: 1, ObjectRefs: []string{obs.ID}, MarkingRef: marking}
		objects = append(objects, od)
		labels := []string{"rampart", "severity:" + string(f.Severity), "state:" + string(f.State), "check:" + f.Check, "source:" + string(f.Source)}
		if f.Family != "" {
			labels = append(labels, "family:"+f.Family)
		}
		if f.KEV {
			labels = append(labels, "kev")
		}
		if !o.Now.IsZero() && f.Overdue(o.Now) {
			labels = append(labels, "overdue")
		}
		ext := externalRef{SourceName: "rampart", ExternalID: "finding-" + strconv.FormatInt(f.ID, 10)}
		if o.ConsoleURL != "" && f.ID != 0 {
			ext.URL = strings.TrimSuffix(o.ConsoleURL, "/") + "/findings/" + strconv.FormatInt(f.ID, 10)
		}
		objects = append(objects, sdo{Type: "note", SpecVersion: "2.1", ID: "note--" + uuid5(rampartNamespace, "note:"+f.Key),
			CreatedBy: ident.ID, Created: ts(created), Modified: ts(modified),
			Abstract: f.Title, Content: content(f, o, port), Authors: []string{producer},
			ObjectRefs: append([]string{od.ID, obs.ID}, refs...), Labels: labels, ExtRefs: []externalRef{ext}, MarkingRef: marking})
	}
	// The bundle's id from its content: an unchanged export is the same.
	h := sha1.New()
	for _, ob := range objects {
		b, err := json.Marshal(ob)
		if err != nil {
			return fmt.Errorf("stixexport: encode: %w", err)
		}
		h.Write(b)
	}
	bundleID := "bundle--" + uuid5(rampartNamespace, fmt.Sprintf("bundle:%x", h.Sum(nil)))
	if _, err := io.WriteString(w, `{"type":"bundle","id":"`+bundleID+`","objects":[`); err != nil {
		return fmt.Errorf("stixexport: write: %w", err)
	}
	for i, ob := range objects {
		b, _ := json.Marshal(ob)
		if i > 0 {
			b = append([]byte{',', '\n'}, b...)
		} else {
			b = append([]byte{'\n'}, b...)
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("stixexport: write: %w", err)
		}
	}
	if _, err := io.WriteString(w, "\n]}\n"); err != nil {
		return fmt.Errorf("stixexport: write: %w", err)
	}
	return nil
}

// content is the note's text: what a SIEM analyst needs without opening
// the console.
func content(f *finding.Finding, o Options, port string) string {
	var b strings.Builder
	b.WriteString(f.Title)
	b.WriteString("\n\nSeverity: " + string(f.Severity) + ". State: " + string(f.State) + ".")
	if o.Organization != "" {
		b.WriteString("\nOrganization: " + o.Organization + ".")
	}
	b.WriteString("\nCheck: " + f.Check)
	if f.Family != "" {
		b.WriteString(" (" + f.Family + ")")
	}
	b.WriteString(". Source: " + string(f.Source))
	if f.SourceRef != "" {
		b.WriteString(" (" + f.SourceRef + ")")
	}
	b.WriteString(".\nTarget: " + f.Target)
	if port != "" {
		b.WriteString(" (port " + port + ")")
	}
	if f.Subject != "" {
		b.WriteString(". Subject: " + f.Subject)
	}
	b.WriteString(".\nFirst seen " + ts(f.FirstSeen) + ", last seen " + ts(f.LastSeen) + ".")
	if f.DueAt != nil {
		b.WriteString(" Due " + ts(*f.DueAt))
		if !o.Now.IsZero() && f.Overdue(o.Now) {
			b.WriteString(" (overdue)")
		}
		b.WriteString(".")
	}
	if len(f.CVE) > 0 {
		b.WriteString("\nCVE: " + strings.Join(f.CVE, ", "))
		if f.KEV {
			b.WriteString(" (known exploited)")
		}
		b.WriteString(".")
	}
	if len(f.Evidence) > 0 {
		ev := string(f.Evidence)
		if len(ev) > MaxEvidence {
			ev = strings.ToValidUTF8(ev[:MaxEvidence], "") + "…"
		}
		b.WriteString("\nEvidence: " + ev)
	}
	return b.String()
}
