package snapshot

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Where the platform publishes and edges read.
const (
	// Bucket is the JetStream object store bucket holding the snapshot.
	Bucket = "rampart-intel-snapshot"
	// ObjectName is the snapshot's name in Bucket.
	ObjectName = "snapshot"
	// DeltaSubject is the core NATS subject of the deltas.
	DeltaSubject = "rampart.intel.delta"
	// metaVersion is the object's metadata key holding its version, so a
	// follower can tell whether it is newer without reading it.
	metaVersion = "version"
)

// Bounds on what a decoder accepts.
const (
	// MaxEntries bounds a snapshot's entries.
	MaxEntries = 20_000_000
	// MaxSnapshotBytes bounds a snapshot's decompressed JSON.
	MaxSnapshotBytes = 4 << 30
	// MaxDeltaBytes bounds one delta message; a change larger than this
	// is announced as a Full delta and fetched with the snapshot.
	MaxDeltaBytes = 768 << 10
	// MaxValue bounds an entry's value.
	MaxValue = 2048
	// MaxAllow bounds the allowlist.
	MaxAllow = 1_000_000
	// MaxLists bounds the DNS policy's lists.
	MaxLists = 256
)

// ErrInvalid is wrapped by every error about a snapshot or delta refused.
var ErrInvalid = errors.New("snapshot: invalid")

// Entry is one enforceable indicator.
type Entry struct {
	Kind       intel.Kind     `json:"k"`
	Value      string         `json:"v"`
	Category   intel.Category `json:"c,omitempty"`
	Confidence int            `json:"n,omitempty"`
	// Feed is the source the indicator is listed under: the feed of its
	// most confident source.
	Feed string    `json:"f,omitempty"`
	TLP  intel.TLP `json:"t,omitempty"`
}

// Key identifies an entry: its kind and value.
type Key struct {
	Kind  intel.Kind `json:"k"`
	Value string     `json:"v"`
}

// Key returns e's key.
func (e Entry) Key() Key { return Key{e.Kind, e.Value} }

// Snapshot is everything an edge enforces, at one version.
type Snapshot struct {
	// Version grows with every change; deltas chain on it.
	Version int64     `json:"version"`
	Built   time.Time `json:"built"`
	// Entries are unique by Key, sorted by kind then value.
	Entries []Entry `json:"entries"`
	// Allow are names (and their subdomains) never blocked, whatever a
	// list says.
	Allow []string `json:"allow,omitempty"`
	// DNS is the protective DNS policy: the lists and their actions.
	DNS Policy `json:"dns"`
}

// Delta is one change of the snapshot: applied to version Prev it gives
// version Version.
type Delta struct {
	Version int64     `json:"version"`
	Prev    int64     `json:"prev"`
	Built   time.Time `json:"built"`
	// Add holds new entries and entries whose attributes changed.
	Add []Entry `json:"add,omitempty"`
	// Remove holds the keys of entries gone.
	Remove []Key `json:"remove,omitempty"`
	// Allow replaces the allowlist when AllowSet.
	Allow    []string `json:"allow,omitempty"`
	AllowSet bool     `json:"allow_set,omitempty"`
	// DNS replaces the DNS policy when not nil.
	DNS *Policy `json:"dns,omitempty"`
	// Full means the change was too large for a message: fetch the
	// snapshot of this version from the object store.
	Full bool `json:"full,omitempty"`
}

// Action is what a resolver answers for a blocked name.
type Action string

// The actions.
const (
	ActionNXDomain Action = "nxdomain" // the name does not exist
	ActionNoData   Action = "nodata"   // the name exists, without records of the type asked
	ActionRedirect Action = "redirect" // the walled garden's address
)

// ParseAction reads an action name.
func ParseAction(s string) (Action, error) {
	a := Action(strings.ToLower(strings.TrimSpace(s)))
	switch a {
	case ActionNXDomain, ActionNoData, ActionRedirect:
		return a, nil
	}
	return "", fmt.Errorf("%w: action %q is not nxdomain, nodata or redirect", ErrInvalid, s)
}

// Policy is how resolvers enforce the domain entries: which list each
// entry falls in and what each list answers. The platform's `dns:`
// configuration section fills it.
type Policy struct {
	// Lists are tried in order; an entry falls in the first list whose
	// feeds or categories name it. A list naming neither takes all.
	Lists []ListRule `json:"lists,omitempty"`
	// Default is the list of domain entries no rule takes: name
	// "rampart", action NXDOMAIN when empty.
	Default ListRule `json:"default"`
	// RedirectA and RedirectAAAA are the walled garden's addresses that
	// redirect answers point to; RedirectTTL their TTL in seconds.
	RedirectA    string `json:"redirect_a,omitempty"`
	RedirectAAAA string `json:"redirect_aaaa,omitempty"`
	RedirectTTL  int    `json:"redirect_ttl,omitempty"`
	// Contact is whom the walled garden tells a blocked user to contact.
	Contact string `json:"contact,omitempty"`
}

// ListRule is one list of the DNS policy.
type ListRule struct {
	Name       string           `json:"name"`
	Action     Action           `json:"action"`
	Feeds      []string         `json:"feeds,omitempty"`
	Categories []intel.Category `json:"categories,omitempty"`
}

// DefaultList is the name of the list that takes what no rule names.
const DefaultList = "rampart"

// ListOf returns the list rule an entry falls in.
func (p *Policy) ListOf(e *Entry) ListRule {
	for _, l := range p.Lists {
		if len(l.Feeds) == 0 && len(l.Categories) == 0 ||
			slices.Contains(l.Feeds, e.Feed) || slices.Contains(l.Categories, e.Category) {
			return l
		}
	}
	d := p.Default
	if d.Name == "" {
		d.Name = DefaultList
	}
	if d.Action == "" {
		d.Action = ActionNXDomain
	}
	return d
}

// Validate checks a policy read from configuration or from the wire.
func (p *Policy) Validate() error {
	if len(p.Lists) > MaxLists {
		return fmt.Errorf("%w: %d lists (at most %d)", ErrInvalid, len(p.Lists), MaxLists)
	}
	seen := map[string]bool{}
	for i, l := range append(slices.Clip(p.Lists), p.Default) {
		if i == len(p.Lists) && l.Name == "" && l.Action == "" {
			break // the default left to its defaults
		}
		if l.Name == "" || len(l.Name) > 64 || strings.ContainsAny(l.Name, " \t\r\n") {
			return fmt.Errorf("%w: list name %q (1 to 64 characters, no blanks)", ErrInvalid, l.Name)
		}
		if seen[l.Name] {
			return fmt.Errorf("%w: list %q named twice", ErrInvalid, l.Name)
		}
		seen[l.Name] = true
		if _, err := ParseAction(string(l.Action)); err != nil {
			return fmt.Errorf("list %s: %w", l.Name, err)
		}
		if len(l.Feeds) > 1000 || len(l.Categories) > len(intel.Categories) {
			return fmt.Errorf("%w: list %s names too many feeds or categories", ErrInvalid, l.Name)
		}
	}
	if p.RedirectTTL < 0 || p.RedirectTTL > 86400 {
		return fmt.Errorf("%w: redirect TTL %d (0 to 86400 seconds)", ErrInvalid, p.RedirectTTL)
	}
	if len(p.Contact) > 500 || len(p.RedirectA) > 64 || len(p.RedirectAAAA) > 64 {
		return fmt.Errorf("%w: contact or redirect address too long", ErrInvalid)
	}
	return nil
}

// validEntry checks one entry read from the wire.
func validEntry(e *Entry) error {
	if !e.Kind.Valid() {
		return fmt.Errorf("%w: kind %q", ErrInvalid, e.Kind)
	}
	if e.Value == "" || len(e.Value) > MaxValue {
		return fmt.Errorf("%w: %s value of %d bytes", ErrInvalid, e.Kind, len(e.Value))
	}
	if e.Confidence < 0 || e.Confidence > 100 {
		return fmt.Errorf("%w: confidence %d", ErrInvalid, e.Confidence)
	}
	if len(e.Feed) > 200 || len(e.Category) > 40 || len(e.TLP) > 20 {
		return fmt.Errorf("%w: entry attributes too long", ErrInvalid)
	}
	return nil
}

func validAllow(names []string) error {
	if len(names) > MaxAllow {
		return fmt.Errorf("%w: %d allowlist names (at most %d)", ErrInvalid, len(names), MaxAllow)
	}
	for _, n := range names {
		if n == "" || len(n) > 253 {
			return fmt.Errorf("%w: allowlist name of %d bytes", ErrInvalid, len(n))
		}
	}
	return nil
}

// Validate checks a snapshot read from the wire or the cache.
func (s *Snapshot) Validate() error {
	if s.Version <= 0 {
		return fmt.Errorf("%w: version %d", ErrInvalid, s.Version)
	}
	if len(s.Entries) > MaxEntries {
		return fmt.Errorf("%w: %d entries (at most %d)", ErrInvalid, len(s.Entries), MaxEntries)
	}
	for i := range s.Entries {
		if err := validEntry(&s.Entries[i]); err != nil {
			return err
		}
	}
	if err := validAllow(s.Allow); err != nil {
		return err
	}
	return s.DNS.Validate()
}

// Validate checks a delta read from the wire.
func (d *Delta) Validate() error {
	if d.Version <= 0 || d.Prev < 0 || d.Prev >= d.Version {
		return fmt.Errorf("%w: delta from version %d to %d", ErrInvalid, d.Prev, d.Version)
	}
	for i := range d.Add {
		if err := validEntry(&d.Add[i]); err != nil {
			return err
		}
	}
	for _, k := range d.Remove {
		if err := validEntry(&Entry{Kind: k.Kind, Value: k.Value}); err != nil {
			return err
		}
	}
	if err := validAllow(d.Allow); err != nil {
		return err
	}
	if d.DNS != nil {
		return d.DNS.Validate()
	}
	return nil
}

// DecodeDelta reads one delta message.
func DecodeDelta(b []byte) (*Delta, error) {
	if len(b) > MaxDeltaBytes {
		return nil, fmt.Errorf("%w: delta of %d bytes (at most %d)", ErrInvalid, len(b), MaxDeltaBytes)
	}
	var d Delta
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%w: delta: %v", ErrInvalid, err)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// EncodeDelta writes one delta message.
func EncodeDelta(d *Delta) ([]byte, error) {
	return json.Marshal(d)
}

// WriteSnapshot writes s as gzip-compressed JSON.
func WriteSnapshot(w io.Writer, s *Snapshot) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	if err := json.NewEncoder(bw).Encode(s); err != nil {
		return fmt.Errorf("snapshot: encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("snapshot: encode: %w", err)
	}
	return nil
}

// ReadSnapshot reads a snapshot WriteSnapshot wrote, refusing one whose
// decompressed form exceeds MaxSnapshotBytes or that does not validate.
func ReadSnapshot(r io.Reader) (*Snapshot, error) {
	return readSnapshot(r, MaxSnapshotBytes)
}

func readSnapshot(r io.Reader, limit int64) (*Snapshot, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %v", ErrInvalid, err)
	}
	defer zr.Close()
	lr := &io.LimitedReader{R: zr, N: limit + 1}
	var s Snapshot
	dec := json.NewDecoder(bufio.NewReaderSize(lr, 64<<10))
	if err := dec.Decode(&s); err != nil {
		if lr.N <= 0 {
			return nil, fmt.Errorf("%w: snapshot larger than %d bytes", ErrInvalid, limit)
		}
		return nil, fmt.Errorf("%w: snapshot: %v", ErrInvalid, err)
	}
	if lr.N <= 0 {
		return nil, fmt.Errorf("%w: snapshot larger than %d bytes", ErrInvalid, limit)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Apply changes s by d, which must follow it (d.Prev == s.Version) and
// not be Full. Entries stay sorted and unique.
func (s *Snapshot) Apply(d *Delta) error {
	if d.Full || d.Prev != s.Version {
		return fmt.Errorf("%w: delta %d→%d does not follow version %d", ErrInvalid, d.Prev, d.Version, s.Version)
	}
	if len(d.Add) > 0 || len(d.Remove) > 0 {
		gone := make(map[Key]bool, len(d.Remove)+len(d.Add))
		for _, k := range d.Remove {
			gone[k] = true
		}
		for _, e := range d.Add {
			gone[e.Key()] = true
		}
		kept := slices.DeleteFunc(s.Entries, func(e Entry) bool { return gone[e.Key()] })
		adds := slices.Clone(d.Add)
		SortEntries(adds)
		adds = slices.CompactFunc(adds, func(a, b Entry) bool { return a.Key() == b.Key() })
		// Both are sorted: merge them in one pass rather than sorting a
		// million entries for a handful of changes.
		out := make([]Entry, 0, len(kept)+len(adds))
		i, j := 0, 0
		for i < len(kept) && j < len(adds) {
			if compareEntries(kept[i], adds[j]) <= 0 {
				out = append(out, kept[i])
				i++
			} else {
				out = append(out, adds[j])
				j++
			}
		}
		out = append(append(out, kept[i:]...), adds[j:]...)
		s.Entries = out
	}
	if d.AllowSet {
		s.Allow = slices.Clone(d.Allow)
	}
	if d.DNS != nil {
		s.DNS = *d.DNS
	}
	s.Version, s.Built = d.Version, d.Built
	return nil
}

// SortEntries sorts entries by kind, then value.
func SortEntries(es []Entry) { slices.SortFunc(es, compareEntries) }

func compareEntries(a, b Entry) int {
	if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
		return c
	}
	return strings.Compare(a.Value, b.Value)
}

// Diff returns the delta that turns old into new (both sorted by
// SortEntries).
func Diff(old, new *Snapshot) *Delta {
	d := &Delta{Version: new.Version, Prev: old.Version, Built: new.Built}
	i, j := 0, 0
	for i < len(old.Entries) || j < len(new.Entries) {
		switch {
		case j == len(new.Entries):
			d.Remove = append(d.Remove, old.Entries[i].Key())
			i++
		case i == len(old.Entries):
			d.Add = append(d.Add, new.Entries[j])
			j++
		default:
			a, b := old.Entries[i], new.Entries[j]
			c := strings.Compare(string(a.Kind), string(b.Kind))
			if c == 0 {
				c = strings.Compare(a.Value, b.Value)
			}
			switch {
			case c < 0:
				d.Remove = append(d.Remove, a.Key())
				i++
			case c > 0:
				d.Add = append(d.Add, b)
				j++
			default:
				if a != b {
					d.Add = append(d.Add, b)
				}
				i++
				j++
			}
		}
	}
	if !slices.Equal(old.Allow, new.Allow) {
		d.Allow, d.AllowSet = new.Allow, true
	}
	if !policyEqual(&old.DNS, &new.DNS) {
		p := new.DNS
		d.DNS = &p
	}
	return d
}

// Empty reports whether d changes nothing but the version.
func (d *Delta) Empty() bool {
	return len(d.Add) == 0 && len(d.Remove) == 0 && !d.AllowSet && d.DNS == nil && !d.Full
}

func policyEqual(a, b *Policy) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
