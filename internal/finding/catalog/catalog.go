// Package catalog names every kind of finding Rampart can hold and gives
// each its bilingual texts: the checks of the scanner, and the kinds that
// other sources mint (third-party imports, threat-intelligence feeds,
// sensors, protective DNS, discovery, monitoring, people).
//
// Readers of findings (the console, the API, reports, mails) ask the
// catalog, never the check registry, for a finding's title, description
// and remediation, so a finding from a feed needs not pose as a check.
//
// A kind's ID is namespaced ("tls.cert-expired", "intel.blocklisted"). An ID
// ending in '.' ("import.nuclei.", "intel.") is a prefix kind: it stands
// for every kind under it that a source mints at run time
// ("import.nuclei.cve-2021-41773"), so Lookup finds texts for those too.
//
// Protective DNS kinds are named pdns.*, not dns.*: the dns family already
// holds the scanner's DNS checks.
//
// It is a domain package: it imports the standard library and
// internal/finding only.
package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Sentinel errors.
var (
	ErrInvalidKind = errors.New("catalog: invalid kind")
	ErrDuplicateID = errors.New("catalog: duplicate kind id")
)

// Text is a string in both console languages.
type Text struct {
	EN string `json:"en" yaml:"en"`
	VI string `json:"vi" yaml:"vi"`
}

// In returns the text in lang ("vi" or "en"), falling back to the other.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" || t.VI == "" {
		return t.EN
	}
	return t.VI
}

// Kind describes one kind of finding.
type Kind struct {
	ID          string           `json:"id"`     // "tls.cert-expired", "intel.blocklisted", "import.nuclei."
	Family      string           `json:"family"` // "tls", "intel", "import"
	Source      finding.Source   `json:"source"` // who reports findings of this kind
	Severity    finding.Severity `json:"severity"`
	Title       Text             `json:"title"`
	Description Text             `json:"description"`
	Remediation Text             `json:"remediation"`
	References  []string         `json:"references,omitempty"` // "CWE-295", "CVE-2014-3566", URLs, standards
}

var (
	idRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+\.[a-z0-9][a-z0-9.-]*$`) })
	prefixRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+\.([a-z0-9][a-z0-9-]*\.)*$`) })
)

// Prefix reports whether k is a prefix kind (its ID ends in '.').
func (k Kind) Prefix() bool { return strings.HasSuffix(k.ID, ".") }

// Validate checks k with the rules of check metadata: a namespaced ID (or
// a prefix ID ending in '.'), a family, a known severity and source, a
// title and a remediation in both languages.
func (k Kind) Validate() error {
	switch {
	case k.Prefix() && !prefixRE().MatchString(k.ID):
		return fmt.Errorf("%w: prefix id %q must look like family. or family.name.", ErrInvalidKind, k.ID)
	case !k.Prefix() && !idRE().MatchString(k.ID):
		return fmt.Errorf("%w: id %q must look like family.name", ErrInvalidKind, k.ID)
	case k.Family == "":
		return fmt.Errorf("%w: %s: family is empty", ErrInvalidKind, k.ID)
	case !k.Source.Valid():
		return fmt.Errorf("%w: %s: source %q", ErrInvalidKind, k.ID, k.Source)
	case !k.Severity.Valid():
		return fmt.Errorf("%w: %s: severity %q", ErrInvalidKind, k.ID, k.Severity)
	case k.Title.EN == "" || k.Title.VI == "":
		return fmt.Errorf("%w: %s: title needs en and vi", ErrInvalidKind, k.ID)
	case k.Remediation.EN == "" || k.Remediation.VI == "":
		return fmt.Errorf("%w: %s: remediation needs en and vi", ErrInvalidKind, k.ID)
	}
	return nil
}

// Catalog holds kinds by ID. Safe for concurrent use; the zero value is
// not usable, create one with New. A nil *Catalog is an empty one to
// readers (Get, Lookup, Describe, Title, All, Families, HasFamily), so an
// optional catalog needs no nil checks.
type Catalog struct {
	mu    sync.RWMutex
	kinds map[string]Kind
}

// New returns an empty catalog. Builtin returns one with the kinds of the
// sources other than the scanner.
func New() *Catalog { return &Catalog{kinds: map[string]Kind{}} }

// Register adds k; an invalid kind or an ID already present is an error.
func (c *Catalog) Register(k Kind) error {
	if err := k.Validate(); err != nil {
		return err
	}
	k.References = slices.Clone(k.References)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.kinds[k.ID]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicateID, k.ID)
	}
	c.kinds[k.ID] = k
	return nil
}

// Get returns the kind registered under exactly id.
func (c *Catalog) Get(id string) (Kind, bool) {
	if c == nil {
		return Kind{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.kinds[id]
	return k, ok
}

// Lookup returns the kind that describes a finding of kind id: the kind
// registered under id, else the longest prefix kind whose ID starts id
// ("import.nuclei." for "import.nuclei.cve-2021-41773", then "import.").
// A prefix kind is returned as registered, with its own ID. ok is false
// when nothing covers id; readers then fall back to the finding's own
// title.
func (c *Catalog) Lookup(id string) (k Kind, ok bool) {
	if c == nil {
		return Kind{}, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if k, ok := c.kinds[id]; ok {
		return k, true
	}
	// Try "a.b.c." then "a.b." then "a." (never id itself, even when it
	// ends in '.': that was the exact lookup).
	p := strings.TrimSuffix(id, ".")
	for {
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			return Kind{}, false
		}
		p = p[:i]
		if k, ok := c.kinds[p+"."]; ok {
			return k, true
		}
	}
}

// Describe returns the kind that explains a finding of kind id whose
// source titled it title. It is Lookup, except that when only a prefix
// kind covers id ("import.nuclei." for an imported template) the
// finding's own title, more specific than the family's, replaces the
// kind's in both languages; the description and remediation stay the
// family's bilingual texts.
func (c *Catalog) Describe(id, title string) (Kind, bool) {
	k, ok := c.Lookup(id)
	if ok && k.ID != id && title != "" {
		k.Title = Text{EN: title, VI: title}
	}
	return k, ok
}

// Title is the title of kind id in lang (via Lookup), or "" when the
// catalog does not cover id.
func (c *Catalog) Title(id, lang string) string {
	if k, ok := c.Lookup(id); ok {
		return k.Title.In(lang)
	}
	return ""
}

// All returns every kind, prefix kinds included, sorted by ID.
func (c *Catalog) All() []Kind {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Kind, 0, len(c.kinds))
	for _, k := range c.kinds {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Kind) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Families returns the families of the registered kinds, sorted and
// without repeats.
func (c *Catalog) Families() []string {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, k := range c.kinds {
		out = append(out, k.Family)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// FamiliesOf returns the families of the kinds that src reports, sorted
// and without repeats: FamiliesOf(finding.SourceScan) are the check
// families a scan profile may choose.
func (c *Catalog) FamiliesOf(src finding.Source) []string {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for _, k := range c.kinds {
		if k.Source == src {
			out = append(out, k.Family)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// HasFamily reports whether some registered kind belongs to family.
func (c *Catalog) HasFamily(family string) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, k := range c.kinds {
		if k.Family == family {
			return true
		}
	}
	return false
}
