// Package finding holds what Rampart reports to owners: findings with a
// severity, evidence and a key that makes the same problem found twice the
// same finding; their lifecycle (open, acknowledged, fixed, reopened,
// risk-accepted, false-positive) and the policy that gives them due dates.
//
// It is a domain package: it imports the standard library only.
package finding

import (
	"fmt"
	"strings"
)

// Severity ranks a finding.
type Severity string

// The severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
)

// Severities lists every severity, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// Rank orders severities: critical 4 … info 0; unknown -1.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	case Info:
		return 0
	}
	return -1
}

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// ParseSeverity reads a severity, case-insensitively.
func ParseSeverity(v string) (Severity, error) {
	s := Severity(strings.ToLower(strings.TrimSpace(v)))
	if !s.Valid() {
		return "", fmt.Errorf("finding: severity %q is not one of critical, high, medium, low, info", v)
	}
	return s, nil
}

// AtLeast reports whether s is as severe as min or more.
func (s Severity) AtLeast(min Severity) bool { return s.Rank() >= min.Rank() }
