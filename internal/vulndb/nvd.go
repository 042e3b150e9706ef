package vulndb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ReadNVD reads NVD API 2.0 CVE JSON from r in any of its shapes and calls
// fn with each valid record:
//
//   - a single cve object ({"id":"CVE-...","configurations":[...]}), as the
//     NVD mirrors store one record per file;
//   - a single vulnerabilities element ({"cve":{...}});
//   - an API response or collection ({"resultsPerPage":..,
//     "vulnerabilities":[{"cve":{...}},...]}), streamed element by element
//     so a multi-GiB collection never sits in memory;
//   - a JSON array of either of the above;
//   - any of these gzip'd (detected by the gzip magic).
//
// A record that decodes but is invalid (bad ID, dates, CPE criteria, a
// field of the wrong type) goes to bad, or, when bad is nil, ends the read
// with its *RecordError. Malformed JSON ends the read. name labels errors.
func ReadNVD(r io.Reader, name string, fn func(*CVE) error, bad func(*RecordError)) error {
	br, cr, err := decompress(r, name)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(br)
	p := &nvdParser{name: name, dec: dec, cr: cr, fn: fn, bad: bad}
	tok, err := dec.Token()
	if err != nil {
		return p.syntax(err)
	}
	switch tok {
	case json.Delim('{'):
		err = p.object()
	case json.Delim('['):
		err = p.array()
	default:
		return fmt.Errorf("%w: %s: NVD JSON must be an object or an array, starts with %v", ErrFormat, name, tok)
	}
	if err != nil {
		return err
	}
	if tok, err := dec.Token(); err == nil {
		return fmt.Errorf("%w: %s: data after the end of the JSON value (%v at byte %d)", ErrFormat, name, tok, dec.InputOffset())
	} else if err != io.EOF {
		return p.syntax(err)
	}
	return nil
}

type nvdParser struct {
	name string
	dec  *json.Decoder
	cr   *capReader
	fn   func(*CVE) error
	bad  func(*RecordError)
	n    int // records seen
}

func (p *nvdParser) syntax(err error) error {
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s: byte %d: %v", ErrFormat, p.name, se.Offset, err)
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %s: byte %d: %v", ErrFormat, p.name, p.dec.InputOffset(), err)
}

// object reads a top-level object: a collection, a wrapped record or a
// single record. It is called after the opening brace.
func (p *nvdParser) object() error {
	rest := map[string]json.RawMessage{}
	collection := false
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(err)
		}
		key, _ := tok.(string)
		switch key {
		case "vulnerabilities":
			collection = true
			tok, err := p.dec.Token()
			if err != nil {
				return p.syntax(err)
			}
			if tok != json.Delim('[') {
				return fmt.Errorf("%w: %s: \"vulnerabilities\" is not an array (byte %d)", ErrFormat, p.name, p.dec.InputOffset())
			}
			if err := p.elements(); err != nil {
				return err
			}
		case "CVE_Items":
			return fmt.Errorf("%w: %s: this is an NVD 1.1 data feed; use NVD API 2.0 JSON", ErrFormat, p.name)
		default:
			if len(rest) >= maxSingleKeys {
				return fmt.Errorf("%w: %s: more than %d top-level keys", ErrFormat, p.name, maxSingleKeys)
			}
			var raw json.RawMessage
			p.cr.startRecord()
			if err := p.dec.Decode(&raw); err != nil {
				return p.syntax(err)
			}
			if !collection {
				rest[key] = raw
			}
		}
	}
	if _, err := p.dec.Token(); err != nil { // closing brace
		return p.syntax(err)
	}
	if collection {
		return nil
	}
	if raw, ok := rest["cve"]; ok {
		var rec nvdCVE
		err := json.Unmarshal(raw, &rec)
		return p.record(&rec, err)
	}
	if _, ok := rest["id"]; !ok {
		return fmt.Errorf("%w: %s: neither an NVD CVE record (no \"id\") nor a collection (no \"vulnerabilities\")", ErrFormat, p.name)
	}
	whole, err := json.Marshal(rest)
	if err != nil {
		return fmt.Errorf("vulndb: %s: %w", p.name, err)
	}
	var rec nvdCVE
	err = json.Unmarshal(whole, &rec)
	return p.record(&rec, err)
}

// array reads a top-level array of records or {"cve":...} elements.
func (p *nvdParser) array() error {
	if err := p.elements(); err != nil {
		return err
	}
	return nil
}

// elements streams the elements of an array whose '[' was read, and reads
// the closing ']'.
func (p *nvdParser) elements() error {
	for p.dec.More() {
		p.cr.startRecord()
		var el struct {
			nvdCVE
			CVE *nvdCVE `json:"cve"`
		}
		err := p.dec.Decode(&el)
		if err != nil && !isTypeError(err) {
			return p.syntax(err)
		}
		rec := el.CVE
		if rec == nil {
			rec = &el.nvdCVE
		}
		if err := p.record(rec, err); err != nil {
			return err
		}
	}
	if _, err := p.dec.Token(); err != nil {
		return p.syntax(err)
	}
	return nil
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// record converts and hands on one decoded record; decodeErr is a type
// error from decoding it, if any.
func (p *nvdParser) record(rec *nvdCVE, decodeErr error) error {
	p.n++
	var c *CVE
	err := decodeErr
	if err == nil {
		c, err = rec.convert()
	}
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return p.syntax(err)
		}
		return reject(p.bad, &RecordError{File: p.name, Record: p.n, Offset: p.dec.InputOffset(), ID: rec.ID, Err: err})
	}
	if p.fn != nil {
		return p.fn(c)
	}
	return nil
}

// nvdCVE is the NVD API 2.0 cve object, as much of it as we keep.
type nvdCVE struct {
	ID           string `json:"id"`
	Published    string `json:"published"`
	LastModified string `json:"lastModified"`
	VulnStatus   string `json:"vulnStatus"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Metrics struct {
		V40 []nvdMetric `json:"cvssMetricV40"`
		V31 []nvdMetric `json:"cvssMetricV31"`
		V30 []nvdMetric `json:"cvssMetricV30"`
		V2  []nvdMetric `json:"cvssMetricV2"`
	} `json:"metrics"`
	Weaknesses []struct {
		Description []struct {
			Lang  string `json:"lang"`
			Value string `json:"value"`
		} `json:"description"`
	} `json:"weaknesses"`
	Configurations []struct {
		Operator string    `json:"operator"`
		Negate   bool      `json:"negate"`
		Nodes    []nvdNode `json:"nodes"`
	} `json:"configurations"`
	References []struct {
		URL string `json:"url"`
	} `json:"references"`
	CISAExploitAdd        string `json:"cisaExploitAdd"`
	CISAActionDue         string `json:"cisaActionDue"`
	CISARequiredAction    string `json:"cisaRequiredAction"`
	CISAVulnerabilityName string `json:"cisaVulnerabilityName"`
}

type nvdMetric struct {
	Source       string `json:"source"`
	Type         string `json:"type"`
	BaseSeverity string `json:"baseSeverity"` // v2 keeps it here
	CVSSData     struct {
		Version      string  `json:"version"`
		VectorString string  `json:"vectorString"`
		BaseScore    float64 `json:"baseScore"`
		BaseSeverity string  `json:"baseSeverity"`
	} `json:"cvssData"`
}

type nvdNode struct {
	Operator string     `json:"operator"`
	Negate   bool       `json:"negate"`
	CPEMatch []CPEMatch `json:"cpeMatch"`
	Children []nvdNode  `json:"children"` // not in API 2.0; accepted for old exports
}

// nvdTime parses NVD timestamps: "2021-10-05T09:15:07.593" (UTC, no zone),
// with or without fractions, or RFC 3339.
func nvdTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", clip(s))
}

func (r *nvdCVE) convert() (*CVE, error) {
	if !ValidCVEID(r.ID) {
		return nil, fmt.Errorf("id %q is not a CVE ID", clip(r.ID))
	}
	c := &CVE{ID: r.ID, Status: r.VulnStatus}
	var err error
	if c.Published, err = nvdTime(r.Published); err != nil {
		return nil, fmt.Errorf("published: %w", err)
	}
	c.Modified = c.Published
	if r.LastModified != "" {
		if c.Modified, err = nvdTime(r.LastModified); err != nil {
			return nil, fmt.Errorf("lastModified: %w", err)
		}
	}
	for _, d := range r.Descriptions {
		if strings.EqualFold(d.Lang, "en") {
			c.Description = d.Value
			break
		}
	}
	c.CVSS = pickCVSS(r)
	if c.CVSS != nil && !(c.CVSS.Score >= 0 && c.CVSS.Score <= 10) {
		return nil, fmt.Errorf("cvss %s base score %v is not within 0..10", c.CVSS.Version, c.CVSS.Score)
	}
	seen := map[string]bool{}
	for _, w := range r.Weaknesses {
		for _, d := range w.Description {
			if strings.HasPrefix(d.Value, "CWE-") && !seen[d.Value] {
				seen[d.Value] = true
				c.CWEs = append(c.CWEs, d.Value)
			}
		}
	}
	clear(seen)
	for _, ref := range r.References {
		if ref.URL != "" && !seen[ref.URL] {
			seen[ref.URL] = true
			c.References = append(c.References, ref.URL)
		}
	}
	// A rejected CVE keeps its record (so it supersedes an older analysed
	// one) but matches nothing.
	if !strings.EqualFold(r.VulnStatus, "Rejected") {
		for _, cfg := range r.Configurations {
			n := Node{Operator: strings.ToUpper(cfg.Operator), Negate: cfg.Negate}
			for _, raw := range cfg.Nodes {
				n.Children = append(n.Children, raw.node())
			}
			c.Configurations = append(c.Configurations, n)
		}
	}
	if err := c.compile(); err != nil {
		return nil, fmt.Errorf("configurations: %w", err)
	}
	if r.CISAExploitAdd != "" {
		k := &KEVEntry{CVEID: r.ID, VulnerabilityName: r.CISAVulnerabilityName, RequiredAction: r.CISARequiredAction, Catalog: "nvd"}
		if k.DateAdded, err = nvdTime(r.CISAExploitAdd); err != nil {
			return nil, fmt.Errorf("cisaExploitAdd: %w", err)
		}
		if r.CISAActionDue != "" {
			if k.DueDate, err = nvdTime(r.CISAActionDue); err != nil {
				return nil, fmt.Errorf("cisaActionDue: %w", err)
			}
		}
		c.CISA = k
	}
	return c, nil
}

func (n nvdNode) node() Node {
	out := Node{Operator: strings.ToUpper(n.Operator), Negate: n.Negate, Match: n.CPEMatch}
	for _, ch := range n.Children {
		out.Children = append(out.Children, ch.node())
	}
	return out
}

// pickCVSS chooses v3.1, v3.0, v4.0, v2 in that order, and within a
// version the Primary (NVD) metric over a Secondary (CNA) one.
func pickCVSS(r *nvdCVE) *CVSS {
	for _, list := range [][]nvdMetric{r.Metrics.V31, r.Metrics.V30, r.Metrics.V40, r.Metrics.V2} {
		if len(list) == 0 {
			continue
		}
		m := list[0]
		for _, x := range list {
			if strings.EqualFold(x.Type, "Primary") {
				m = x
				break
			}
		}
		sev := m.CVSSData.BaseSeverity
		if sev == "" {
			sev = m.BaseSeverity
		}
		return &CVSS{Version: m.CVSSData.Version, Score: m.CVSSData.BaseScore, Severity: strings.ToUpper(sev), Vector: m.CVSSData.VectorString, Source: m.Source}
	}
	return nil
}
