package misp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/intel"
)

// ErrMalformed is wrapped by every error about malformed MISP input (as
// opposed to errors of the reader or of emit).
var ErrMalformed = errors.New("misp: malformed input")

// Options tune the parsers. The zero value is ready to use.
type Options struct {
	// Now is the time of records that state none; zero: time.Now().
	Now time.Time
	// DefaultTLP marks attributes of events without a TLP tag; empty
	// leaves them to intel.Record.Normalize (AMBER).
	DefaultTLP intel.TLP
	// MaxEvent bounds one event file in bytes; default DefaultMaxEvent.
	MaxEvent int64
	// Since makes ReadFeed skip the events whose manifest timestamp is
	// not after it (the events read last time).
	Since time.Time
}

// DefaultMaxEvent is the default bound of one event file.
const DefaultMaxEvent = 64 << 20

// Result counts what a parse read.
type Result struct {
	Events     int // events read
	Attributes int // attributes seen (of the event and of its objects)
	Records    int // records emitted
	Skipped    int // attributes passed over: not to_ids, deleted, a type we do not carry
	// SkippedBy counts the skipped attributes by reason: "not to_ids",
	// "deleted", or the MISP type ("filename", "regkey|value" …).
	SkippedBy  map[string]int
	Rejections intel.Rejections
}

func (r *Result) skip(why string) {
	r.Skipped++
	if r.SkippedBy == nil {
		r.SkippedBy = map[string]int{}
	}
	r.SkippedBy[why]++
}

// add folds another result in.
func (r *Result) add(o *Result) {
	r.Events += o.Events
	r.Attributes += o.Attributes
	r.Records += o.Records
	r.Skipped += o.Skipped
	for k, v := range o.SkippedBy {
		if r.SkippedBy == nil {
			r.SkippedBy = map[string]int{}
		}
		r.SkippedBy[k] += v
	}
	r.Rejections.Count += o.Rejections.Count
	for _, x := range o.Rejections.List {
		if len(r.Rejections.List) < intel.MaxRejections {
			r.Rejections.List = append(r.Rejections.List, x)
		}
	}
}

// flexBool reads true, "1", 1, "true", "True".
type flexBool bool

func (b *flexBool) UnmarshalJSON(d []byte) error {
	switch strings.ToLower(strings.Trim(string(d), `"`)) {
	case "true", "1":
		*b = true
	case "false", "0", "", "null":
		*b = false
	default:
		return fmt.Errorf("%q is not a boolean", d)
	}
	return nil
}

// flexInt reads 123 and "123".
type flexInt int64

func (n *flexInt) UnmarshalJSON(d []byte) error {
	s := strings.Trim(string(d), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", d)
	}
	*n = flexInt(v)
	return nil
}

type tag struct {
	Name string `json:"name"`
}

type galaxy struct {
	GalaxyCluster []struct {
		TagName string `json:"tag_name"`
	} `json:"GalaxyCluster"`
}

type event struct {
	UUID      string  `json:"uuid"`
	Info      string  `json:"info"`
	Timestamp flexInt `json:"timestamp"`
	Orgc      struct {
		Name string `json:"name"`
	} `json:"Orgc"`
	Tag       []tag             `json:"Tag"`
	Galaxy    []galaxy          `json:"Galaxy"`
	Attribute []json.RawMessage `json:"Attribute"`
	Object    []object          `json:"Object"`
}

type object struct {
	Name      string            `json:"name"`
	Deleted   flexBool          `json:"deleted"`
	Attribute []json.RawMessage `json:"Attribute"`
}

type attribute struct {
	UUID      string   `json:"uuid"`
	Type      string   `json:"type"`
	Category  string   `json:"category"`
	Value     string   `json:"value"`
	Comment   string   `json:"comment"`
	ToIDs     flexBool `json:"to_ids"`
	Deleted   flexBool `json:"deleted"`
	Timestamp flexInt  `json:"timestamp"`
	FirstSeen *string  `json:"first_seen"`
	LastSeen  *string  `json:"last_seen"`
	Tag       []tag    `json:"Tag"`
	Galaxy    []galaxy `json:"Galaxy"`
}

// capReader fails once more than n bytes are read.
type capReader struct {
	r io.Reader
	n int64
}

var errTooLarge = errors.New("too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.n < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > c.n+1 {
		p = p[:c.n+1]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n < 0 {
		return n, errTooLarge
	}
	return n, err
}

// ParseEvent reads one MISP event file ({"Event": {…}}) and emits one
// record per value of each to_ids attribute of the event and of its
// objects. See ParseEventWith.
func ParseEvent(ctx context.Context, r io.Reader, feed string, emit intel.Emit) (*intel.Rejections, error) {
	res, err := ParseEventWith(ctx, r, feed, emit, Options{})
	if res == nil {
		return nil, err
	}
	return &res.Rejections, err
}

// ParseEventWith is ParseEvent with options and counts. Attributes
// without to_ids, deleted ones and types Rampart does not carry are
// skipped and counted; an attribute with a bad value is rejected whole,
// with the reason. The event is read whole (at most Options.MaxEvent
// bytes) before the first record is emitted, so a malformed event emits
// nothing; its error wraps ErrMalformed. An error from emit stops the
// parse and is returned as is.
func ParseEventWith(ctx context.Context, r io.Reader, feed string, emit intel.Emit, opt Options) (*Result, error) {
	if feed == "" {
		return nil, errors.New("misp: no feed name")
	}
	if opt.MaxEvent <= 0 {
		opt.MaxEvent = DefaultMaxEvent
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	res := &Result{}
	dec := json.NewDecoder(&capReader{r: r, n: opt.MaxEvent})
	var file struct {
		Event *event `json:"Event"`
	}
	if err := dec.Decode(&file); err != nil {
		return res, decodeErr(err, opt.MaxEvent)
	}
	if _, err := dec.Token(); err != io.EOF {
		var se *json.SyntaxError
		if err != nil && !errors.As(err, &se) {
			return res, decodeErr(err, opt.MaxEvent)
		}
		return res, fmt.Errorf("%w: data after the event", ErrMalformed)
	}
	if file.Event == nil {
		return res, fmt.Errorf(`%w: no "Event" object`, ErrMalformed)
	}
	p := eventParser{opt: opt, feed: feed, emit: emit, res: res, ev: file.Event}
	return res, p.run(ctx)
}

func decodeErr(err error, max int64) error {
	switch {
	case errors.Is(err, errTooLarge):
		return fmt.Errorf("%w: event larger than %d bytes", ErrMalformed, max)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the event ends early", ErrMalformed)
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	if errors.As(err, &se) || errors.As(err, &te) || strings.HasPrefix(err.Error(), "json: ") {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if strings.Contains(err.Error(), "is not a") { // flexBool, flexInt
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fmt.Errorf("misp: read event: %w", err)
}

type eventParser struct {
	opt  Options
	feed string
	emit intel.Emit
	res  *Result
	ev   *event
	// What the event's tags say, for every attribute.
	tags tagSet
}

// tagSet is the meaning of a list of tags.
type tagSet struct {
	tlp        intel.TLP
	labels     []string
	confidence int
	category   intel.Category
}

func readTags(tags []tag, galaxies []galaxy) tagSet {
	s := tagSet{confidence: -1}
	names := make([]string, 0, len(tags))
	for _, t := range tags {
		names = append(names, t.Name)
	}
	for _, g := range galaxies {
		for _, c := range g.GalaxyCluster {
			names = append(names, c.TagName)
		}
	}
	for _, n := range names {
		m := ReadTag(n)
		if m.TLP != "" {
			if s.tlp == "" {
				s.tlp = m.TLP
			} else {
				s.tlp = intel.Stricter(s.tlp, m.TLP)
			}
		}
		if m.Label != "" && !slices.Contains(s.labels, m.Label) {
			s.labels = append(s.labels, m.Label)
		}
		if m.Confidence >= 0 {
			s.confidence = m.Confidence
		}
		if m.Category != "" && (s.category == "" || s.category == intel.CategoryMalware) {
			s.category = m.Category
		}
	}
	return s
}

func (p *eventParser) run(ctx context.Context) error {
	p.res.Events++
	p.tags = readTags(p.ev.Tag, p.ev.Galaxy)
	for i, raw := range p.ev.Attribute {
		if err := p.attribute(raw, fmt.Sprintf("Attribute[%d]", i), ""); err != nil {
			return err
		}
		if i&255 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	for i, o := range p.ev.Object {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j, raw := range o.Attribute {
			if o.Deleted {
				p.res.Attributes++
				p.res.skip("deleted")
				continue
			}
			if err := p.attribute(raw, fmt.Sprintf("Object[%d].Attribute[%d]", i, j), o.Name); err != nil {
				return err
			}
		}
	}
	return nil
}

// value is one indicator value an attribute carries.
type value struct {
	kind  intel.Kind
	value string
}

// attribute reads one attribute and emits its records.
func (p *eventParser) attribute(raw json.RawMessage, where, objectName string) error {
	p.res.Attributes++
	var a attribute
	if err := json.Unmarshal(raw, &a); err != nil {
		p.res.Rejections.Add(where, "malformed attribute: "+err.Error())
		return nil
	}
	if a.UUID != "" {
		where = "attribute " + a.UUID
	}
	switch {
	case bool(a.Deleted):
		p.res.skip("deleted")
		return nil
	case !bool(a.ToIDs):
		p.res.skip("not to_ids")
		return nil
	}
	vals, detail, ok := split(a.Type, a.Value)
	if !ok {
		p.res.skip(cutText(strings.ToLower(a.Type), 40))
		return nil
	}
	own := readTags(a.Tag, a.Galaxy)
	base := intel.Record{
		Feed:       p.feed,
		ExternalID: a.UUID,
		Confidence: intel.DefaultConfidence,
		TLP:        p.opt.DefaultTLP,
		Raw:        rawCut(raw),
	}
	if base.ExternalID == "" {
		base.ExternalID = p.ev.UUID + "/" + where
	}
	// The attribute's own tags override the event's.
	switch {
	case own.tlp != "":
		base.TLP = own.tlp
	case p.tags.tlp != "":
		base.TLP = p.tags.tlp
	}
	switch {
	case own.confidence >= 0:
		base.Confidence = own.confidence
	case p.tags.confidence >= 0:
		base.Confidence = p.tags.confidence
	}
	base.Labels = append(slices.Clone(p.tags.labels), own.labels...)
	ts := time.Unix(int64(a.Timestamp), 0).UTC()
	if a.Timestamp <= 0 {
		ts = time.Unix(int64(p.ev.Timestamp), 0).UTC()
		if p.ev.Timestamp <= 0 {
			ts = time.Time{}
		}
	}
	base.FirstSeen, base.LastSeen = ts, ts
	if t, ok := seen(a.FirstSeen); ok {
		base.FirstSeen = t
	}
	if t, ok := seen(a.LastSeen); ok {
		base.LastSeen = t
	}
	if base.LastSeen.Before(base.FirstSeen) {
		base.LastSeen = base.FirstSeen
	}
	d := map[string]string{
		"event":         p.ev.UUID,
		"event_info":    cutText(p.ev.Info, 200),
		"org":           cutText(p.ev.Orgc.Name, 100),
		"misp_type":     cutText(a.Type, 40),
		"misp_category": cutText(a.Category, 60),
		"comment":       cutText(a.Comment, 200),
		"object":        cutText(objectName, 60),
	}
	maps.Copy(d, detail)
	maps.DeleteFunc(d, func(_, v string) bool { return v == "" })
	if len(d) > 0 {
		base.Detail = d
	}

	recs := make([]intel.Record, 0, len(vals))
	for _, v := range vals {
		r := base
		r.Kind, r.Value = v.kind, v.value
		r.Category = p.category(own.category, a, v.kind)
		r.Labels = slices.Clone(base.Labels)
		r.Detail = maps.Clone(base.Detail)
		if err := r.Normalize(p.opt.Now); err != nil {
			p.res.Rejections.Add(where, fmt.Sprintf("%s value %q: %v", cutText(a.Type, 40), cutText(v.value, 100), errors.Unwrap(err)))
			return nil
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		if err := p.emit(r); err != nil {
			return err
		}
		p.res.Records++
	}
	return nil
}

func seen(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	return t.UTC(), err == nil
}

// split returns the indicator values of an attribute type, with what else
// the value says (a port, a file name); ok is false for a type Rampart
// does not carry. link attributes are references to reports, not
// indicators, even when marked to_ids, and are skipped.
func split(typ, v string) (vals []value, detail map[string]string, ok bool) {
	t := strings.ToLower(strings.TrimSpace(typ))
	left, right, pair := strings.Cut(v, "|")
	switch t {
	case "ip-src", "ip-dst":
		return []value{ipValue(v)}, nil, true
	case "ip-src|port", "ip-dst|port":
		if !pair {
			return []value{ipValue(v)}, nil, true
		}
		return []value{ipValue(left)}, map[string]string{"port": cutText(right, 10)}, true
	case "domain", "hostname":
		return []value{{intel.KindDomain, v}}, nil, true
	case "hostname|port":
		if !pair {
			return []value{{intel.KindDomain, v}}, nil, true
		}
		return []value{{intel.KindDomain, left}}, map[string]string{"port": cutText(right, 10)}, true
	case "domain|ip":
		if !pair {
			return []value{{intel.KindDomain, v}}, nil, true
		}
		return []value{{intel.KindDomain, left}, ipValue(right)}, nil, true
	case "url":
		return []value{{intel.KindURL, v}}, nil, true
	case "email", "email-src", "email-dst", "email-reply-to":
		return []value{{intel.KindEmail, v}}, nil, true
	case "md5", "sha1", "sha256":
		return []value{{intel.Kind(t), v}}, nil, true
	case "filename|md5", "filename|sha1", "filename|sha256", "malware-sample":
		k := intel.Kind(strings.TrimPrefix(t, "filename|"))
		if t == "malware-sample" {
			k = intel.KindMD5
		}
		if !pair {
			return []value{{k, v}}, nil, true
		}
		return []value{{k, right}}, map[string]string{"filename": cutText(left, 200)}, true
	case "as":
		return []value{{intel.KindASN, v}}, nil, true
	}
	return nil, nil, false
}

func ipValue(s string) value {
	s = strings.TrimSpace(s)
	switch {
	case strings.Contains(s, "/"):
		return value{intel.KindCIDR, s}
	case strings.Contains(s, ":"):
		return value{intel.KindIPv6, s}
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
		return value{intel.KindIPv6, s}
	}
	return value{intel.KindIPv4, s}
}

// category decides what an attribute means: a hint of its own tags, then
// of the event's tags; else by type and MISP category: an e-mail sender
// is phishing, a file hash malware, what delivers or installs a payload
// malware, a destination of network activity command and control; else
// a blocklist entry.
func (p *eventParser) category(own intel.Category, a attribute, k intel.Kind) intel.Category {
	if own != "" {
		return own
	}
	if p.tags.category != "" {
		return p.tags.category
	}
	t := strings.ToLower(a.Type)
	switch {
	case t == "email-src" || t == "email-reply-to":
		return intel.CategoryPhishing
	case k.IsHash():
		return intel.CategoryMalware
	}
	switch strings.ToLower(a.Category) {
	case "payload delivery", "payload installation", "artifacts dropped", "payload type":
		return intel.CategoryMalware
	case "network activity":
		// Where malware connects to; an attack's source (ip-src) or an
		// AS is only listed.
		switch t {
		case "ip-dst", "ip-dst|port", "domain", "hostname", "hostname|port", "domain|ip", "url":
			return intel.CategoryC2
		}
	}
	return intel.CategoryBlocklist
}

// rawCut is the attribute's text cut to intel.MaxRaw on a character
// boundary, compacted when it is indented.
func rawCut(raw []byte) string {
	if bytes.ContainsAny(raw, "\n\t") {
		var b bytes.Buffer
		if json.Compact(&b, raw) == nil {
			raw = b.Bytes()
		}
	}
	return cutText(string(raw), intel.MaxRaw)
}

// cutText shortens s to at most n bytes on a character boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
