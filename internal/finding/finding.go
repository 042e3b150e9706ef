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

// Policy gives due dates: days from first seen to fix, by severity, and a
// shorter deadline for vulnerabilities in the KEV catalog.
type Policy struct {
	KEV      int `json:"kev" yaml:"kev"`
	Critical int `json:"critical" yaml:"critical"`
	High     int `json:"high" yaml:"high"`
	Medium   int `json:"medium" yaml:"medium"`
	Low      int `json:"low" yaml:"low"`
	Info     int `json:"info" yaml:"info"` // 0: no due date
}

// DefaultPolicy follows the US binding operational directives' style:
// KEV 14 days, critical 15, high 30, medium 90, low 180.
var DefaultPolicy = Policy{KEV: 14, Critical: 15, High: 30, Medium: 90, Low: 180}

// Validate checks the numbers.
func (p Policy) Validate() error {
	for name, d := range map[string]int{"kev": p.KEV, "critical": p.Critical, "high": p.High, "medium": p.Medium, "low": p.Low, "info": p.Info} {
		if d < 0 || d > 3650 {
			return fmt.Errorf("%w: policy %s = %d days (0..3650)", ErrInvalid, name, d)
		}
	}
	return nil
}

// Days returns the days allowed for a finding; 0 means no due date.
func (p Policy) Days(s Severity, kev bool) int {
	d := 0
	switch s {
	case Critical:
		d = p.Critical
	case High:
		d = p.High
	case Medium:
		d = p.Medium
	case Low:
		d = p.Low
	case Info:
		d = p.Info
	}
	if kev && p.KEV > 0 && (d == 0 || p.KEV < d) {
		d = p.KEV
	}
	return d
}

// DueAt returns when a finding first seen at firstSeen must be fixed; the
// zero time means never.
func (p Policy) DueAt(s Severity, kev bool, firstSeen time.Time) time.Time {
	d := p.Days(s, kev)
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
