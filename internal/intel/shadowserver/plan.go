package shadowserver

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// plan is a report's schema applied to one file's header.
type plan struct {
	rep      *Report
	feed     string
	conf     int
	tlp      intel.TLP
	category intel.Category // the report's, unless a converter classifies rows
	perRow   bool           // classification fields are read per row
	constTax string
	constTyp string
	// constDetail are the constant fields kept as detail (service,
	// protocol, identifier), set unless the row says otherwise.
	constDetail [][2]string
	allow       map[string]bool // extra columns kept in detail; nil keeps all

	header []string
	row    row
	fields []cfield
	extra  []int  // header columns no field names, kept as detail
	state  []byte // per column, per row: used or refused
	raw    []byte
	// detailHint is the most detail keys a row of this file can have.
	detailHint int
	labels     map[string]map[string]string // prefix → value → label
}

// cfield is a schema field resolved against the header.
type cfield struct {
	Field
	required  bool
	idx       int // -1: an optional column this file lacks
	conv      conv
	validator bool // no value from a non-empty column means invalid
	target    target
	key       string // detail key
	keep      bool   // kept in detail (mapped key, or allowed extra)
}

const (
	colUsed    = 1
	colRefused = 2
)

func newPlan(rep *Report) (*plan, error) {
	p := &plan{rep: rep, feed: "shadowserver:" + rep.FileName, conf: intel.DefaultConfidence, tlp: intel.TLPAmber}
	e := rep.Rampart
	if e.Confidence != nil {
		p.conf = *e.Confidence
	}
	if e.TLP != "" {
		p.tlp = intel.TLP(e.TLP)
	}
	if len(e.Detail) > 0 {
		p.allow = make(map[string]bool, len(e.Detail))
		for _, c := range e.Detail {
			p.allow[strings.ToLower(c)] = true
		}
	}
	p.constTax, p.constTyp = rep.Constant["classification.taxonomy"], rep.Constant["classification.type"]
	for _, k := range []string{"protocol.application", "protocol.transport", "classification.identifier"} {
		if v := rep.Constant[k]; v != "" {
			p.constDetail = append(p.constDetail, [2]string{fixedDetail(k), v})
		}
	}
	value := false
	for i, f := range slices.Concat(rep.Required, rep.Optional) {
		c := cfield{Field: f, required: i < len(rep.Required), idx: -1}
		c.conv, _ = converter(f.Convert)
		switch f.Convert {
		case "validate_ip", "validate_network", "validate_fqdn":
			c.validator = true
		}
		c.target, c.key = targetOf(f.Key, f.Column)
		switch c.target {
		case tIP, tNetwork, tURL, tFQDN, tAccount:
			value = true
		case tTaxonomy, tType:
			p.perRow = true
		case tDetail:
			c.keep = fixedDetail(f.Key) != "" || p.allow == nil || p.allow[f.Column]
		}
		if c.target == tAccount || c.target == tMalware || c.target == tCVE {
			c.keep = true
		}
		p.fields = append(p.fields, c)
	}
	if !value {
		return nil, fmt.Errorf("shadowserver: report %s carries no address, network, name, URL or account to match; it is not supported", rep.FileName)
	}
	p.category = e.Category
	if p.category == "" {
		p.category = classify(p.constTax, p.constTyp, rep.FileName)
	}
	return p, nil
}

// readHeader resolves the columns. A required column the header lacks is
// an error: the report's format has changed and the schema must follow.
func (p *plan) readHeader(fields []string) error {
	if len(fields) > maxColumns {
		return fmt.Errorf("shadowserver: %s: the header has %d columns, more than %d", p.rep.FileName, len(fields), maxColumns)
	}
	p.header = make([]string, len(fields))
	p.row.index = make(map[string]int, len(fields))
	for i, h := range fields {
		h = strings.ToLower(strings.TrimSpace(h))
		p.header[i] = h
		if _, dup := p.row.index[h]; !dup && h != "" {
			p.row.index[h] = i
		}
	}
	named := make([]bool, len(fields))
	var missing []string
	for i := range p.fields {
		f := &p.fields[i]
		if j, ok := p.row.index[f.Column]; ok {
			f.idx = j
			named[j] = true
		} else if f.required {
			missing = append(missing, f.Column)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("shadowserver: %s: required column(s) %q not in the header: the report's format has changed; update the schema", p.rep.FileName, missing)
	}
	for j, h := range p.header {
		if !named[j] && h != "" && (p.allow == nil || p.allow[h]) {
			p.extra = append(p.extra, j)
		}
	}
	p.state = make([]byte, len(fields))
	p.detailHint = len(p.extra) + len(p.constDetail) + 2 // ip, invalid
	for _, f := range p.fields {
		if f.idx >= 0 && (f.keep || f.target == tDetail && f.key == "tag") {
			p.detailHint++
		}
	}
	p.detailHint = min(p.detailHint, maxDetailKeys+2)
	return nil
}

// candidate is a constituent-side value a row offers.
type candidate struct {
	kind   intel.Kind
	value  string
	column string
}

// record turns one row into a normalized record, or says why not.
func (p *plan) record(fields []string, now time.Time) (intel.Record, string) {
	rec := intel.Record{Feed: p.feed, Confidence: p.conf, TLP: p.tlp, Category: p.category}
	if len(fields) != len(p.header) {
		return rec, fmt.Sprintf("the row has %d fields, the header %d", len(fields), len(p.header))
	}
	p.row.fields = fields
	clear(p.state)
	detail := make(map[string]string, p.detailHint)
	var (
		cands    [5]candidate // url, fqdn, ip, network, account: the order of preference
		tax, typ = p.constTax, p.constTyp
		tags     string
	)
	for i := range p.fields {
		f := &p.fields[i]
		if f.idx < 0 {
			continue
		}
		raw := strings.TrimSpace(fields[f.idx])
		v, ok, err := f.conv(raw, &p.row)
		if err != nil {
			if f.required {
				return rec, fmt.Sprintf("column %q: %v", f.Column, err)
			}
			p.state[f.idx] |= colRefused
			continue
		}
		if !ok {
			if f.validator && raw != "" {
				p.state[f.idx] |= colRefused
			}
			continue
		}
		p.state[f.idx] |= colUsed
		switch f.target {
		case tTime:
			t, err := parseTime(v)
			if err != nil {
				if f.required {
					return rec, fmt.Sprintf("column %q: %v", f.Column, err)
				}
				continue
			}
			rec.FirstSeen, rec.LastSeen = t, t
		case tURL:
			cands[0] = candidate{intel.KindURL, v, f.Column}
		case tFQDN:
			cands[1] = candidate{intel.KindDomain, v, f.Column}
		case tIP:
			cands[2] = candidate{intel.KindIPv4, v, f.Column}
			if a, err := netip.ParseAddr(v); err == nil && !a.Unmap().Is4() {
				cands[2].kind = intel.KindIPv6
			}
		case tNetwork:
			cands[3] = candidate{intel.KindCIDR, v, f.Column}
		case tAccount:
			if strings.IndexByte(v, '@') > 0 {
				cands[4] = candidate{intel.KindEmail, v, f.Column}
			}
			detail[f.key] = cutValue(v)
		case tMalware:
			rec.Labels = append(rec.Labels, p.label("malware:", v))
			detail[f.key] = cutValue(v)
		case tCVE:
			for c := range strings.SplitSeq(v, ",") {
				rec.Labels = append(rec.Labels, p.label("cve:", c))
			}
			detail[f.key] = v
		case tTaxonomy:
			tax = v
		case tType:
			typ = v
		case tDetail:
			if f.key == "tag" {
				tags = v
			}
			if f.keep && len(detail) < maxDetailKeys {
				detail[f.key] = cutValue(v)
			}
		}
	}
	for _, j := range p.extra {
		if v := strings.TrimSpace(fields[j]); v != "" && len(detail) < maxDetailKeys {
			detail[p.header[j]] = cutValue(v)
			if p.header[j] == "tag" && tags == "" {
				tags = v
			}
		}
	}
	for _, kv := range p.constDetail {
		if _, ok := detail[kv[0]]; !ok {
			detail[kv[0]] = kv[1]
		}
	}
	if tags != "" {
		for t := range strings.FieldsFuncSeq(tags, func(c rune) bool { return c == ',' || c == ';' }) {
			if t = strings.TrimSpace(t); t != "" && len(rec.Labels) < 16 {
				rec.Labels = append(rec.Labels, p.label("tag:", t))
			}
		}
	}
	if p.perRow {
		rec.Category = p.rep.Rampart.Category
		if rec.Category == "" {
			rec.Category = classify(tax, typ, p.rep.FileName)
		}
	}
	if reason := p.pickValue(&rec, cands[:], detail); reason != "" {
		return rec, reason
	}
	var invalid []string
	for j, st := range p.state {
		if st == colRefused {
			invalid = append(invalid, p.header[j])
		}
	}
	if invalid != nil {
		detail["invalid"] = strings.Join(invalid, ",")
	}
	rec.Detail = detail
	rec.Raw = p.encodeRaw(fields)
	if err := rec.Normalize(now); err != nil {
		return rec, strings.TrimPrefix(err.Error(), intel.ErrInvalid.Error()+": ")
	}
	return rec, ""
}

// pickValue sets the record's value to the first valid candidate (URL,
// name, address, network, account) and keeps the address in detail when
// the value is a URL or a name. A candidate that does not normalize is
// passed over and its column counted invalid; none valid rejects the row.
func (p *plan) pickValue(rec *intel.Record, cands []candidate, detail map[string]string) string {
	n := 0
	for _, c := range cands {
		if c.value != "" {
			n++
		}
	}
	var tried []string
	for _, c := range cands {
		if c.value == "" {
			continue
		}
		if n > 1 {
			if _, err := intel.NormalizeValue(c.kind, c.value); err != nil {
				tried = append(tried, fmt.Sprintf("%s %q", c.column, c.value))
				p.state[p.row.index[c.column]] = colRefused
				n--
				continue
			}
		}
		rec.Kind, rec.Value = c.kind, c.value
		if (c.kind == intel.KindURL || c.kind == intel.KindDomain) && cands[2].value != "" {
			detail["ip"] = cands[2].value
		}
		return ""
	}
	for _, f := range p.fields {
		switch f.target {
		case tIP, tNetwork, tURL, tFQDN, tAccount:
			if f.idx >= 0 && p.state[f.idx]&colUsed == 0 {
				if raw := strings.TrimSpace(p.row.fields[f.idx]); raw != "" && !slices.Contains(tried, fmt.Sprintf("%s %q", f.Column, raw)) {
					tried = append(tried, fmt.Sprintf("%s %q", f.Column, raw))
				}
			}
		}
	}
	if tried == nil {
		return "no address, network, name or URL in the row"
	}
	return "no valid address, network, name or URL: " + strings.Join(tried, ", ")
}

// label returns the label prefix+v (lower case), shared across rows:
// reports repeat a few tags and families over many rows.
func (p *plan) label(prefix, v string) string {
	if p.labels == nil {
		p.labels = make(map[string]map[string]string, 3)
	}
	m := p.labels[prefix]
	if l, ok := m[v]; ok {
		return l
	}
	l := strings.ToLower(prefix + v)
	if m == nil {
		m = make(map[string]string)
		p.labels[prefix] = m
	}
	if len(m) < 4096 {
		m[strings.Clone(v)] = l
	}
	return l
}

// encodeRaw writes the row back as one CSV line, cut to intel.MaxRaw.
func (p *plan) encodeRaw(fields []string) string {
	b := p.raw[:0]
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		if !needsQuotes(f) {
			b = append(b, f...)
		} else {
			b = append(b, '"')
			for k := 0; k < len(f); k++ {
				if f[k] == '"' {
					b = append(b, '"')
				}
				b = append(b, f[k])
			}
			b = append(b, '"')
		}
		if len(b) >= intel.MaxRaw {
			break
		}
	}
	p.raw = b
	if len(b) > intel.MaxRaw {
		b = b[:intel.MaxRaw]
		for len(b) > 0 && !utf8RuneStartAt(b) {
			b = b[:len(b)-1]
		}
	}
	return string(b)
}

// needsQuotes reports whether a CSV field must be quoted.
func needsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f[0] == ' ' || f[len(f)-1] == ' ' {
		return true
	}
	for i := 0; i < len(f); i++ {
		switch f[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	return false
}

// utf8RuneStartAt reports whether b ends on a whole rune (no rune cut).
func utf8RuneStartAt(b []byte) bool {
	i := len(b) - 1
	for i >= 0 && b[i]&0xc0 == 0x80 {
		i--
	}
	if i < 0 {
		return true
	}
	need := 1
	switch c := b[i]; {
	case c >= 0xf0:
		need = 4
	case c >= 0xe0:
		need = 3
	case c >= 0xc0:
		need = 2
	}
	return len(b)-i >= need
}

// classify derives a category from the IntelMQ classification of a report
// (its type first, then its taxonomy). A report type Shadowserver names
// scan_ or scan6_ is its own scan of exposed services.
func classify(taxonomy, typ, fileName string) intel.Category {
	switch typ {
	case "infected-system", "system-compromise", "compromised", "backdoor":
		return intel.CategoryCompromised
	case "c2-server":
		return intel.CategoryC2
	case "malware-distribution", "malware-configuration":
		return intel.CategoryMalware
	case "phishing", "masquerade":
		return intel.CategoryPhishing
	case "spam":
		return intel.CategorySpam
	case "scanner", "brute-force", "ddos", "exploit", "sniffing", "social-engineering":
		return intel.CategoryScanner
	case "vulnerable-system", "vulnerable-service", "potentially-unwanted-accessible", "weak-crypto",
		"information-disclosure", "ddos-amplifier", "vulnerable-client":
		return intel.CategoryExposed
	case "data-leak", "data-loss":
		return intel.CategoryLeak
	case "blacklist", "blocklist":
		return intel.CategoryBlocklist
	}
	switch taxonomy {
	case "vulnerable":
		return intel.CategoryExposed
	case "malicious-code", "intrusions":
		return intel.CategoryCompromised
	case "abusive-content":
		return intel.CategorySpam
	case "fraud":
		return intel.CategoryPhishing
	case "information-gathering", "intrusion-attempts", "availability":
		return intel.CategoryScanner
	case "information-content-security":
		return intel.CategoryLeak
	}
	if strings.HasPrefix(fileName, "scan_") || strings.HasPrefix(fileName, "scan6_") {
		return intel.CategoryExposed
	}
	return intel.CategoryBlocklist
}
