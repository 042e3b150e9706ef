package finding

import (
	"errors"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	until := now.Add(30 * 24 * time.Hour)
	cases := []struct {
		from State
		tr   Transition
		want State
		err  error
	}{
		{StateOpen, Transition{Action: ActionAcknowledge}, StateAcknowledged, nil},
		{StateReopened, Transition{Action: ActionAcknowledge}, StateAcknowledged, nil},
		{StateFixed, Transition{Action: ActionAcknowledge}, StateFixed, ErrTransition},
		{StateOpen, Transition{Action: ActionNotSeen}, StateFixed, nil},
		{StateAcknowledged, Transition{Action: ActionNotSeen}, StateFixed, nil},
		{StateRiskAccepted, Transition{Action: ActionNotSeen}, StateRiskAccepted, nil},
		{StateFixed, Transition{Action: ActionSeen}, StateReopened, nil},
		{StateOpen, Transition{Action: ActionSeen}, StateOpen, nil},
		{StateFalsePositive, Transition{Action: ActionSeen}, StateFalsePositive, nil},
		{StateOpen, Transition{Action: ActionAcceptRisk, Reason: "compensating WAF", Approve: "ciso", Until: until, At: now}, StateRiskAccepted, nil},
		{StateOpen, Transition{Action: ActionAcceptRisk, Reason: "x", Until: until, At: now}, StateOpen, ErrInvalid},
		{StateOpen, Transition{Action: ActionAcceptRisk, Approve: "a", Until: until, At: now}, StateOpen, ErrInvalid},
		{StateOpen, Transition{Action: ActionFalsePositive, Reason: "x", At: now}, StateOpen, ErrInvalid},
		{StateOpen, Transition{Action: ActionFalsePositive, Reason: "x", Until: now.Add(400 * 24 * time.Hour), At: now}, StateOpen, ErrInvalid},
		{StateOpen, Transition{Action: ActionFalsePositive, Reason: "lab host", Until: until, At: now}, StateFalsePositive, nil},
		{StateFixed, Transition{Action: ActionFalsePositive, Reason: "x", Until: until, At: now}, StateFixed, ErrTransition},
		{StateRiskAccepted, Transition{Action: ActionExpire}, StateOpen, nil},
		{StateFalsePositive, Transition{Action: ActionReopen}, StateOpen, nil},
		{StateOpen, Transition{Action: ActionReopen}, StateOpen, ErrTransition},
		{StateOpen, Transition{Action: ActionRequestVerify}, StateOpen, nil},
		{StateFixed, Transition{Action: ActionRequestVerify}, StateFixed, ErrTransition},
		{StateOpen, Transition{Action: "explode"}, StateOpen, ErrInvalid},
	}
	for _, c := range cases {
		got, err := Next(c.from, c.tr)
		if got != c.want || !errors.Is(err, c.err) && !(err == nil && c.err == nil) {
			t.Errorf("Next(%s, %s) = %s, %v; want %s, %v", c.from, c.tr.Action, got, err, c.want, c.err)
		}
	}
}

func TestKeyStable(t *testing.T) {
	a := Key(7, "tls.cert-expired", "203.0.113.5:443", "")
	if a != Key(7, "tls.cert-expired", "203.0.113.5:443", "") {
		t.Fatal("key not stable")
	}
	for _, other := range []string{Key(8, "tls.cert-expired", "203.0.113.5:443", ""), Key(7, "tls.cert-expiring", "203.0.113.5:443", ""),
		Key(7, "tls.cert-expired", "203.0.113.5:8443", ""), Key(7, "tls.cert-expired", "203.0.113.5:443", "x")} {
		if other == a {
			t.Fatal("different inputs share a key")
		}
	}
}

func TestPolicy(t *testing.T) {
	p := DefaultPolicy
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		s    Severity
		kev  bool
		days int
	}{{Critical, false, 15}, {High, false, 30}, {Medium, false, 90}, {Low, false, 180}, {Info, false, 0}, {High, true, 14}, {Low, true, 14}, {Critical, true, 14}}
	for _, c := range cases {
		if got := p.Days(c.s, c.kev); got != c.days {
			t.Errorf("Days(%s, %v) = %d, want %d", c.s, c.kev, got, c.days)
		}
	}
	if due := p.DueAt(High, false, first); !due.Equal(first.AddDate(0, 0, 30)) {
		t.Errorf("due = %s", due)
	}
	if !p.DueAt(Info, false, first).IsZero() {
		t.Error("info has a due date")
	}
	if err := (Policy{High: -1}).Validate(); err == nil {
		t.Error("negative days accepted")
	}
}

func TestDebtWeight(t *testing.T) {
	if DebtWeight(High, false, 0) != 0 {
		t.Error("not overdue weighs")
	}
	if DebtWeight(Critical, false, 30) != 20 || DebtWeight(Critical, true, 30) != 40 || DebtWeight(Low, false, 60) != 3 {
		t.Error("weights differ from the documented formula")
	}
}

func TestSeverity(t *testing.T) {
	if s, err := ParseSeverity(" HIGH "); err != nil || s != High {
		t.Fatal(s, err)
	}
	if _, err := ParseSeverity("urgent"); err == nil {
		t.Fatal("unknown severity accepted")
	}
	if !Critical.AtLeast(High) || Low.AtLeast(Medium) {
		t.Fatal("ordering")
	}
}
