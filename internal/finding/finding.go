package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// State is where a finding is in its lifecycle.
type State string

// The states.
const (
	StateOpen          State = "open"           // seen, nobody has acted yet
	StateAcknowledged  State = "acknowledged"   // the owner knows and is working on it
	StateFixed         State = "fixed"          // a rescan reached the target and no longer sees it
	StateReopened      State = "reopened"       // seen again after it was fixed
	StateRiskAccepted  State = "risk-accepted"  // the owner accepts it until an expiry, with approver and reason
	StateFalsePositive State = "false-positive" // not a real problem, until an expiry, with reason
)

// States lists every state.
var States = []State{StateOpen, StateAcknowledged, StateFixed, StateReopened, StateRiskAccepted, StateFalsePositive}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// Active reports whether the finding still counts against its owner
// (it is open work with a due date).
func (s State) Active() bool {
	return s == StateOpen || s == StateAcknowledged || s == StateReopened
}

// Sentinel errors.
var (
	ErrInvalid    = errors.New("finding: invalid")
	ErrTransition = errors.New("finding: transition not allowed")
)

// Key derives the stable identity of a finding from its asset, check and
// subject (port, name, URL, CVE …): the same problem found again has the
// same key, so re-ingesting a result never creates a duplicate.
func Key(assetID int64, checkID, target, subject string) string {
	h := sha256.New()
	h.Write([]byte(strconv.FormatInt(assetID, 10)))
	h.Write([]byte{0})
	h.Write([]byte(checkID))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(target)))
	h.Write([]byte{0})
	h.Write([]byte(subject))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Action is what a person (or the scanner) does to a finding.
type Action string

// The actions.
const (
	ActionAcknowledge   Action = "acknowledge"
	ActionAcceptRisk    Action = "accept-risk"
	ActionFalsePositive Action = "false-positive"
	ActionReopen        Action = "reopen"         // a person undoes an acceptance or false positive
	ActionRequestVerify Action = "request-verify" // "I fixed it": ask for a rescan; state does not change
	// Scanner actions.
	ActionSeen    Action = "seen"     // a scan saw the problem
	ActionNotSeen Action = "not-seen" // a scan reached the target and did not see it
	ActionExpire  Action = "expire"   // an acceptance or false positive ran out
)

// Transition is one requested change.
type Transition struct {
	Action  Action
	Reason  string
	Until   time.Time // accept-risk and false-positive: when it expires
	By      string    // who
	ByRole  string
	At      time.Time
	Approve string // accept-risk: the approver
	// Request makes accept-risk and false-positive a request that the
	// level above approves (see Apply): the finding keeps its state.
	Request bool
}

// MaxAcceptance bounds how long a risk acceptance or false positive lasts.
const MaxAcceptance = 366 * 24 * time.Hour

// Next returns the state after applying t to a finding in state s. It
// enforces what people may do; scanner actions always succeed.
func Next(s State, t Transition) (State, error) {
	switch t.Action {
	case ActionSeen:
		switch s {
		case StateFixed:
			return StateReopened, nil
		default:
			return s, nil // accepted and false positives stay so until expiry
		}
	case ActionNotSeen:
		if s.Active() {
			return StateFixed, nil
		}
		return s, nil
	case ActionExpire:
		if s == StateRiskAccepted || s == StateFalsePositive {
			return StateOpen, nil
		}
		return s, nil
	case ActionAcknowledge:
		if s == StateOpen || s == StateReopened {
			return StateAcknowledged, nil
		}
	case ActionAcceptRisk, ActionFalsePositive:
		if strings.TrimSpace(t.Reason) == "" {
			return s, fmt.Errorf("%w: a reason is required", ErrInvalid)
		}
		if t.Until.IsZero() || !t.Until.After(t.At) {
			return s, fmt.Errorf("%w: an expiry in the future is required", ErrInvalid)
		}
		if t.Until.Sub(t.At) > MaxAcceptance {
			return s, fmt.Errorf("%w: an expiry at most %d days ahead is allowed", ErrInvalid, int(MaxAcceptance.Hours()/24))
		}
		if t.Action == ActionAcceptRisk && !t.Request && strings.TrimSpace(t.Approve) == "" {
			return s, fmt.Errorf("%w: accepting a risk needs an approver", ErrInvalid)
		}
		if s.Active() {
			if t.Action == ActionAcceptRisk {
				return StateRiskAccepted, nil
			}
			return StateFalsePositive, nil
		}
	case ActionReopen:
		if s == StateRiskAccepted || s == StateFalsePositive {
			return StateOpen, nil
		}
	case ActionRequestVerify:
		if s.Active() {
			return s, nil
		}
	default:
		return s, fmt.Errorf("%w: unknown action %q", ErrInvalid, t.Action)
	}
	return s, fmt.Errorf("%w: %s from %s", ErrTransition, t.Action, s)
}

// Policy gives due dates: days from first seen to fix, by severity, a
// shorter deadline for vulnerabilities in the KEV catalog, and shorter
// rows still for assets that matter more (Tiers). The inline fields are
// the base row, which assets of the normal tier (and findings whose asset
// tier is not known) get.
type Policy struct {
	KEV      int `json:"kev" yaml:"kev"`
	Critical int `json:"critical" yaml:"critical"`
	High     int `json:"high" yaml:"high"`
	Medium   int `json:"medium" yaml:"medium"`
	Low      int `json:"low" yaml:"low"`
	Info     int `json:"info" yaml:"info"` // 0: no due date
	// Tiers holds the rows of the higher asset tiers; a zero field of a
	// row keeps the base row's days.
	Tiers Tiers `json:"tiers,omitzero" yaml:"tiers,omitempty"`
}

// Days is one row of the policy table: days to fix by severity and for a
// KEV-listed vulnerability. A zero field means "as the base row" in a
// tier's row.
type Days struct {
	KEV      int `json:"kev,omitempty" yaml:"kev,omitempty"`
	Critical int `json:"critical,omitempty" yaml:"critical,omitempty"`
	High     int `json:"high,omitempty" yaml:"high,omitempty"`
	Medium   int `json:"medium,omitempty" yaml:"medium,omitempty"`
	Low      int `json:"low,omitempty" yaml:"low,omitempty"`
	Info     int `json:"info,omitempty" yaml:"info,omitempty"`
}

// Tiers are the rows of the asset tiers above normal.
type Tiers struct {
	Important Days `json:"important,omitzero" yaml:"important,omitempty"`
	Critical  Days `json:"critical,omitzero" yaml:"critical,omitempty"`
	National  Days `json:"national,omitzero" yaml:"national,omitempty"`
}

// Tier is how much an asset matters, for deadlines.
type Tier string

// The tiers, lowest first.
const (
	TierNormal    Tier = "normal"
	TierImportant Tier = "important"
	TierCritical  Tier = "critical"
	TierNational  Tier = "national"
)

// TierOf places an asset by the registry's two measures of it, taking the
// higher: its criticality to its owner's mission (normal, important,
// critical, national) and the security level of the information system
// it belongs to (1-5, the grading of information systems by their
// importance: level 3 important, level 4 critical, level 5 of national
// importance). An unknown criticality counts as normal; a level outside
// 1-5 as none.
func TierOf(criticality string, securityLevel int) Tier {
	rank := 0
	switch strings.ToLower(strings.TrimSpace(criticality)) {
	case "important":
		rank = 1
	case "critical":
		rank = 2
	case "national":
		rank = 3
	}
	if securityLevel >= 3 && securityLevel <= 5 && securityLevel-2 > rank {
		rank = securityLevel - 2
	}
	return [...]Tier{TierNormal, TierImportant, TierCritical, TierNational}[rank]
}

// DefaultPolicy follows the US binding operational directives' style for
// the base row (KEV 14 days, critical 15, high 30, medium 90, low 180) and
// shortens it for assets that matter more: important 10/10/21/60/120,
// critical 7/7/14/45/90, national 3/3/7/30/60 (KEV/critical/high/medium/
// low). Informational findings have no due date in any tier. See
// docs/deadlines.md.
var DefaultPolicy = Policy{KEV: 14, Critical: 15, High: 30, Medium: 90, Low: 180, Tiers: Tiers{
	Important: Days{KEV: 10, Critical: 10, High: 21, Medium: 60, Low: 120},
	Critical:  Days{KEV: 7, Critical: 7, High: 14, Medium: 45, Low: 90},
	National:  Days{KEV: 3, Critical: 3, High: 7, Medium: 30, Low: 60},
}}

// Validate checks the numbers.
func (p Policy) Validate() error {
	rows := map[string]Days{"": p.base(), "tiers.important.": p.Tiers.Important, "tiers.critical.": p.Tiers.Critical, "tiers.national.": p.Tiers.National}
	for prefix, r := range rows {
		for name, d := range map[string]int{"kev": r.KEV, "critical": r.Critical, "high": r.High, "medium": r.Medium, "low": r.Low, "info": r.Info} {
			if d < 0 || d > 3650 {
				return fmt.Errorf("%w: policy %s%s = %d days (0..3650)", ErrInvalid, prefix, name, d)
			}
		}
	}
	return nil
}

func (p Policy) base() Days {
	return Days{KEV: p.KEV, Critical: p.Critical, High: p.High, Medium: p.Medium, Low: p.Low, Info: p.Info}
}

// Row returns the days of tier t: its row over the base row (a zero field
// keeps the base's). The normal tier, and an unknown one, get the base.
func (p Policy) Row(t Tier) Days {
	b := p.base()
	var r Days
	switch t {
	case TierImportant:
		r = p.Tiers.Important
	case TierCritical:
		r = p.Tiers.Critical
	case TierNational:
		r = p.Tiers.National
	default:
		return b
	}
	pick := func(v, base int) int {
		if v != 0 {
			return v
		}
		return base
	}
	return Days{KEV: pick(r.KEV, b.KEV), Critical: pick(r.Critical, b.Critical), High: pick(r.High, b.High),
		Medium: pick(r.Medium, b.Medium), Low: pick(r.Low, b.Low), Info: pick(r.Info, b.Info)}
}

// Days returns the days allowed for a finding on an asset of the normal
// tier; 0 means no due date.
func (p Policy) Days(s Severity, kev bool) int { return p.DaysFor(s, kev, TierNormal) }

// DaysFor returns the days allowed for a finding on an asset of tier t;
// 0 means no due date. A KEV-listed vulnerability gets the shorter of its
// severity's days and the KEV days.
func (p Policy) DaysFor(s Severity, kev bool, t Tier) int {
	r := p.Row(t)
	d := 0
	switch s {
	case Critical:
		d = r.Critical
	case High:
		d = r.High
	case Medium:
		d = r.Medium
	case Low:
		d = r.Low
	case Info:
		d = r.Info
	}
	if kev && r.KEV > 0 && (d == 0 || r.KEV < d) {
		d = r.KEV
	}
	return d
}

// DueAt returns when a finding first seen at firstSeen on an asset of the
// normal tier must be fixed; the zero time means never.
func (p Policy) DueAt(s Severity, kev bool, firstSeen time.Time) time.Time {
	return p.DueAtFor(s, kev, TierNormal, firstSeen)
}

// DueAtFor is DueAt for an asset of tier t.
func (p Policy) DueAtFor(s Severity, kev bool, t Tier, firstSeen time.Time) time.Time {
	d := p.DaysFor(s, kev, t)
	if d == 0 {
		return time.Time{}
	}
	return firstSeen.Add(time.Duration(d) * 24 * time.Hour)
}

// Weight of one overdue finding for compliance debt: the severity weight
// times (1 + days overdue / 30), KEV-listed counting double. Documented in
// docs/scoring.md; used the same everywhere.
func DebtWeight(s Severity, kev bool, daysOverdue float64) float64 {
	if daysOverdue <= 0 {
		return 0
	}
	var w float64 // a switch, not a map literal: the dashboard calls this thousands of times a request
	switch s {
	case Critical:
		w = 10
	case High:
		w = 5
	case Medium:
		w = 2
	case Low:
		w = 1
	}
	if kev {
		w *= 2
	}
	return w * (1 + daysOverdue/30)
}
