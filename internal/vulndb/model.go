package vulndb

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Sentinel errors. Wrapped errors name the file and the position.
var (
	// ErrBadRecord: one record (a CVE, a KEV entry, an EPSS row) is
	// invalid and was rejected; the rest of the file may still be good.
	ErrBadRecord = errors.New("vulndb: bad record")
	// ErrBadCPE: a CPE string could not be parsed.
	ErrBadCPE = errors.New("vulndb: bad cpe")
	// ErrFormat: the file is not in a format this package reads.
	ErrFormat = errors.New("vulndb: unknown or malformed format")
	// ErrTooLarge: a file or a record is over its size cap.
	ErrTooLarge = errors.New("vulndb: input too large")
	// ErrNoSnapshot: the directory holds no imported snapshot yet.
	ErrNoSnapshot = errors.New("vulndb: no snapshot")
	// ErrLocked: another import holds the snapshot directory.
	ErrLocked = errors.New("vulndb: snapshot directory locked by another import")
)

// CVE is one vulnerability as NVD describes it, reduced to what matching,
// findings and reports need.
type CVE struct {
	ID          string    `json:"id"`
	Published   time.Time `json:"published"`
	Modified    time.Time `json:"modified"`
	Status      string    `json:"status,omitempty"`      // NVD vulnStatus: Analyzed, Modified, Awaiting Analysis...
	Description string    `json:"description,omitempty"` // English
	CVSS        *CVSS     `json:"cvss,omitempty"`        // the preferred metric, nil when unscored
	CWEs        []string  `json:"cwes,omitempty"`
	References  []string  `json:"references,omitempty"`
	// Configurations holds one Node per NVD configuration; its Children
	// are that configuration's nodes, which hold the cpeMatch lists.
	Configurations []Node `json:"configurations,omitempty"`
	// CISA is the KEV data NVD copies into its record (cisaExploitAdd...);
	// used when the KEV catalog itself was not imported.
	CISA *KEVEntry `json:"cisa,omitempty"`
}

// CVSS is one CVSS base metric. Preference when NVD gives several: v3.1,
// then v3.0, then v4.0, then v2; within one version the NVD "Primary"
// metric before a CNA's "Secondary" one.
type CVSS struct {
	Version  string  `json:"version"` // "3.1", "3.0", "4.0", "2.0"
	Score    float64 `json:"score"`
	Severity string  `json:"severity,omitempty"` // as NVD gives it: CRITICAL, HIGH, MEDIUM, LOW
	Vector   string  `json:"vector,omitempty"`
	Source   string  `json:"source,omitempty"`
}

// Node is a node of an NVD configuration tree. Operator is "AND" or "OR"
// (empty means OR) and applies to Children and Match together; Negate
// inverts the node.
type Node struct {
	Operator string     `json:"operator,omitempty"`
	Negate   bool       `json:"negate,omitempty"`
	Children []Node     `json:"children,omitempty"`
	Match    []CPEMatch `json:"cpeMatch,omitempty"`
}

// CPEMatch is one NVD cpeMatch: criteria with wildcards and an optional
// version range. Vulnerable false marks a platform the vulnerable thing
// runs on (the OS under an application, the hardware under firmware).
type CPEMatch struct {
	Vulnerable            bool   `json:"vulnerable"`
	Criteria              string `json:"criteria"`
	VersionStartIncluding string `json:"versionStartIncluding,omitempty"`
	VersionStartExcluding string `json:"versionStartExcluding,omitempty"`
	VersionEndIncluding   string `json:"versionEndIncluding,omitempty"`
	VersionEndExcluding   string `json:"versionEndExcluding,omitempty"`

	crit     CPE  // parsed Criteria, set by compile
	compiled bool // crit is valid
}

// Range renders the version range ("2.4.0 <= v <= 2.4.55"), or "" when
// the criteria names one version.
func (m CPEMatch) Range() string {
	var lo, hi string
	switch {
	case m.VersionStartIncluding != "":
		lo = m.VersionStartIncluding + " <= "
	case m.VersionStartExcluding != "":
		lo = m.VersionStartExcluding + " < "
	}
	switch {
	case m.VersionEndIncluding != "":
		hi = " <= " + m.VersionEndIncluding
	case m.VersionEndExcluding != "":
		hi = " < " + m.VersionEndExcluding
	}
	if lo == "" && hi == "" {
		return ""
	}
	return lo + "v" + hi
}

func (m CPEMatch) hasRange() bool {
	return m.VersionStartIncluding != "" || m.VersionStartExcluding != "" ||
		m.VersionEndIncluding != "" || m.VersionEndExcluding != ""
}

// KEVEntry is one entry of the CISA Known Exploited Vulnerabilities catalog.
type KEVEntry struct {
	CVEID                      string    `json:"cveID"`
	VendorProject              string    `json:"vendorProject,omitempty"`
	Product                    string    `json:"product,omitempty"`
	VulnerabilityName          string    `json:"vulnerabilityName,omitempty"`
	DateAdded                  time.Time `json:"dateAdded"`
	ShortDescription           string    `json:"shortDescription,omitempty"`
	RequiredAction             string    `json:"requiredAction,omitempty"`
	DueDate                    time.Time `json:"dueDate,omitzero"`
	KnownRansomwareCampaignUse string    `json:"knownRansomwareCampaignUse,omitempty"` // "Known" or "Unknown"
	Notes                      string    `json:"notes,omitempty"`
	CWEs                       []string  `json:"cwes,omitempty"`
	// Catalog is the catalogVersion the entry came from ("2025.08.25");
	// "nvd" when taken from an NVD record's cisa* fields.
	Catalog string `json:"catalog,omitempty"`
}

// Ransomware reports whether CISA knows the CVE to be used in ransomware
// campaigns.
func (k *KEVEntry) Ransomware() bool {
	return strings.EqualFold(k.KnownRansomwareCampaignUse, "Known")
}

// EPSSScore is one row of a FIRST EPSS file.
type EPSSScore struct {
	CVE        string    `json:"cve"`
	EPSS       float64   `json:"epss"`       // probability of exploitation in the next 30 days, 0..1
	Percentile float64   `json:"percentile"` // 0..1
	Date       time.Time `json:"date,omitzero"`
	Model      string    `json:"model,omitempty"`
}

var cveIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`) })

// ValidCVEID reports whether id looks like CVE-YYYY-NNNN.
func ValidCVEID(id string) bool { return cveIDRE().MatchString(id) }

// compile parses every criteria of c; a bad one rejects the record.
func (c *CVE) compile() error {
	for i := range c.Configurations {
		if err := c.Configurations[i].compile(); err != nil {
			return err
		}
	}
	return nil
}

func (n *Node) compile() error {
	switch strings.ToUpper(n.Operator) {
	case "", "OR", "AND":
	default:
		return fmt.Errorf("configuration operator %q is not AND or OR", n.Operator)
	}
	for i := range n.Children {
		if err := n.Children[i].compile(); err != nil {
			return err
		}
	}
	for i := range n.Match {
		m := &n.Match[i]
		crit, err := ParseCPE(m.Criteria)
		if err != nil {
			return err
		}
		m.crit, m.compiled = crit, true
	}
	return nil
}
