package stix

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// namespace is the UUIDv5 name space of Rampart's indicator IDs: the same
// kind and value always get the same STIX ID, on every server, so a
// consumer sees a new version of one indicator rather than a new one.
var namespace = [16]byte{0x3d, 0x0c, 0x28, 0xdb, 0x46, 0xe9, 0x44, 0xf3, 0x98, 0x8f, 0xb2, 0xeb, 0x12, 0x1a, 0xcc, 0x38}

// IndicatorID returns the STIX ID of the indicator of a kind and a
// normalized value: "indicator--" and the UUIDv5 (RFC 9562) of
// "kind|value" in Rampart's name space.
func IndicatorID(k intel.Kind, value string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(string(k) + "|" + value))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return "indicator--" + formatUUID(u)
}

func formatUUID(u [16]byte) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hexd[c>>4], hexd[c&15])
	}
	return string(b)
}

// PatternFor returns the STIX pattern that names one normalized value.
func PatternFor(k intel.Kind, value string) (string, error) {
	q := func(path string) string {
		r := strings.NewReplacer(`\`, `\\`, `'`, `\'`)
		return "[" + path + " = '" + r.Replace(value) + "']"
	}
	switch k {
	case intel.KindIPv4:
		return q("ipv4-addr:value"), nil
	case intel.KindIPv6:
		return q("ipv6-addr:value"), nil
	case intel.KindCIDR:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "", fmt.Errorf("stix: %q is not a network: %w", value, err)
		}
		if p.Addr().Is4() {
			return q("ipv4-addr:value"), nil
		}
		return q("ipv6-addr:value"), nil
	case intel.KindDomain:
		return q("domain-name:value"), nil
	case intel.KindURL:
		return q("url:value"), nil
	case intel.KindEmail:
		return q("email-addr:value"), nil
	case intel.KindMD5:
		return q("file:hashes.MD5"), nil
	case intel.KindSHA1:
		return q("file:hashes.'SHA-1'"), nil
	case intel.KindSHA256:
		return q("file:hashes.'SHA-256'"), nil
	case intel.KindASN:
		n := strings.TrimPrefix(strings.ToUpper(value), "AS")
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return "", fmt.Errorf("stix: %q is not an AS number", value)
		}
		return "[autonomous-system:number = " + n + "]", nil
	}
	return "", fmt.Errorf("stix: no STIX pattern for kind %q", k)
}

// ExportOptions describe the producer of exported objects.
type ExportOptions struct {
	// CreatedBy is the STIX identity ID of the producer, if any.
	CreatedBy string
	// Now stands in for an indicator's missing first seen; zero:
	// time.Now().
	Now time.Time
	// BundleID is the bundle's ID; empty: a random one.
	BundleID string
}

// stixTime formats a STIX timestamp: UTC, milliseconds.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// indicatorTypes is the STIX indicator-type vocabulary for a category.
func indicatorTypes(c intel.Category) []string {
	switch c {
	case intel.CategoryCompromised, intel.CategoryLeak:
		return []string{"compromised"}
	case intel.CategoryScanner, intel.CategoryExposed:
		return []string{"anomalous-activity"}
	}
	return []string{"malicious-activity"}
}

type indicatorJSON struct {
	Type              string   `json:"type"`
	SpecVersion       string   `json:"spec_version"`
	ID                string   `json:"id"`
	CreatedByRef      string   `json:"created_by_ref,omitempty"`
	Created           string   `json:"created"`
	Modified          string   `json:"modified"`
	Name              string   `json:"name"`
	IndicatorTypes    []string `json:"indicator_types"`
	Pattern           string   `json:"pattern"`
	PatternType       string   `json:"pattern_type"`
	PatternVersion    string   `json:"pattern_version"`
	ValidFrom         string   `json:"valid_from"`
	ValidUntil        string   `json:"valid_until,omitempty"`
	Confidence        int      `json:"confidence"`
	Labels            []string `json:"labels,omitempty"`
	ObjectMarkingRefs []string `json:"object_marking_refs"`
	Category          string   `json:"x_rampart_category,omitempty"`
}

// IndicatorObject returns the STIX 2.1 indicator object of in: its
// deterministic ID (IndicatorID), the pattern of its value, created and
// valid_from its first seen, modified its last seen, valid_until, its
// confidence, labels and category (as x_rampart_category), and the TLP
// 2.0 marking of its TLP.
func IndicatorObject(in *intel.Indicator, opt ExportOptions) ([]byte, error) {
	pattern, err := PatternFor(in.Kind, in.Value)
	if err != nil {
		return nil, err
	}
	first, last := in.FirstSeen, in.LastSeen
	if first.IsZero() {
		first = opt.Now
		if first.IsZero() {
			first = time.Now()
		}
	}
	if last.Before(first) {
		last = first
	}
	o := indicatorJSON{
		Type:              "indicator",
		SpecVersion:       "2.1",
		ID:                IndicatorID(in.Kind, in.Value),
		CreatedByRef:      opt.CreatedBy,
		Created:           stixTime(first),
		Modified:          stixTime(last),
		Name:              cut(string(in.Kind)+" "+in.Value, 250),
		IndicatorTypes:    indicatorTypes(in.Category),
		Pattern:           pattern,
		PatternType:       "stix",
		PatternVersion:    "2.1",
		ValidFrom:         stixTime(first),
		Confidence:        min(max(in.Confidence, 0), 100),
		Labels:            in.Labels,
		ObjectMarkingRefs: []string{MarkingID(in.TLP)},
		Category:          string(in.Category),
	}
	// valid_until must be later than valid_from.
	if in.ValidUntil.Truncate(time.Millisecond).After(first.Truncate(time.Millisecond)) {
		o.ValidUntil = stixTime(in.ValidUntil)
	}
	return json.Marshal(o)
}

// WriteIndicator writes in as one STIX 2.1 indicator object (see
// IndicatorObject), without a line end.
func WriteIndicator(w io.Writer, in *intel.Indicator, opt ExportOptions) error {
	b, err := IndicatorObject(in, opt)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("stix: write indicator: %w", err)
	}
	return nil
}

// MarkingDefinition returns the TLP 2.0 marking-definition object of t,
// as OASIS publishes it, for bundles that carry their markings.
func MarkingDefinition(t intel.TLP) []byte {
	if _, err := intel.ParseTLP(string(t)); err != nil {
		t = intel.TLPRed
	}
	return fmt.Appendf(nil, `{"type":"marking-definition","spec_version":"2.1","id":%q,"created":"2022-10-01T00:00:00.000Z",`+
		`"name":"TLP:%s","extensions":{%q:{"extension_type":"property-extension","tlp_2_0":%q}}}`,
		MarkingID(t), t, TLP2Extension, strings.ToLower(string(t)))
}

// BundleWriter streams a STIX 2.1 bundle of indicators: Write each
// indicator, then Close, which adds the marking definitions of the TLPs
// used and ends the bundle. Memory does not grow with the indicators.
type BundleWriter struct {
	w       *bufio.Writer
	opt     ExportOptions
	started bool
	closed  bool
	used    [5]bool // by TLP rank
	n       int     // objects written
	err     error
}

// NewBundleWriter starts a bundle on w.
func NewBundleWriter(w io.Writer, opt ExportOptions) *BundleWriter {
	return &BundleWriter{w: bufio.NewWriterSize(w, 64<<10), opt: opt}
}

func (b *BundleWriter) start() {
	if b.started {
		return
	}
	b.started = true
	id := b.opt.BundleID
	if id == "" {
		var u [16]byte
		_, _ = rand.Read(u[:])
		u[6] = u[6]&0x0f | 0x40
		u[8] = u[8]&0x3f | 0x80
		id = "bundle--" + formatUUID(u)
	}
	fmt.Fprintf(b.w, `{"type":"bundle","id":%q,"objects":[`, id)
}

// object adds one object; the first write error sticks.
func (b *BundleWriter) object(o []byte) {
	sep := ",\n"
	if b.n == 0 {
		sep = "\n"
	}
	b.n++
	if _, err := b.w.WriteString(sep); err != nil {
		b.err = fmt.Errorf("stix: write bundle: %w", err)
		return
	}
	if _, err := b.w.Write(o); err != nil {
		b.err = fmt.Errorf("stix: write bundle: %w", err)
	}
}

// Write adds one indicator.
func (b *BundleWriter) Write(in *intel.Indicator) error {
	if b.err != nil {
		return b.err
	}
	if b.closed {
		return errors.New("stix: write to a closed bundle")
	}
	o, err := IndicatorObject(in, b.opt)
	if err != nil {
		return err
	}
	b.start()
	b.object(o)
	b.used[in.TLP.Rank()] = true
	return nil
}

// Close adds the marking definitions and ends the bundle.
func (b *BundleWriter) Close() error {
	if b.closed {
		return b.err
	}
	b.closed = true
	if b.err != nil {
		return b.err
	}
	b.start()
	for rank, used := range b.used {
		if used {
			b.object(MarkingDefinition(intel.TLPs[rank]))
		}
	}
	if b.err != nil {
		return b.err
	}
	if _, err := b.w.WriteString("\n]}\n"); err != nil {
		b.err = fmt.Errorf("stix: write bundle: %w", err)
	} else if err := b.w.Flush(); err != nil {
		b.err = fmt.Errorf("stix: write bundle: %w", err)
	}
	return b.err
}

// Bundle writes the indicators as one STIX 2.1 bundle.
func Bundle(w io.Writer, indicators []intel.Indicator, opt ExportOptions) error {
	bw := NewBundleWriter(w, opt)
	for i := range indicators {
		if err := bw.Write(&indicators[i]); err != nil {
			return err
		}
	}
	return bw.Close()
}
