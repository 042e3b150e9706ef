package sqlstore

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// fullChange is a change with every field of the change and of its
// finding set (reflection fills the finding, so a field added to
// finding.Finding is covered, or fails here when of a new type).
func fullChange(t *testing.T) finding.Change {
	t.Helper()
	at := time.Date(2026, 12, 1, 8, 30, 15, 123456000, time.UTC)
	var f finding.Finding
	v := reflect.ValueOf(&f).Elem()
	for i := range v.NumField() {
		fv := v.Field(i)
		switch fv.Interface().(type) {
		case string, finding.Source, finding.Severity, finding.State:
			fv.SetString("v<" + v.Type().Field(i).Name + ">")
		case int64:
			fv.SetInt(int64(1000 + i))
		case bool:
			fv.SetBool(true)
		case float64:
			fv.SetFloat(0.97531)
		case time.Time:
			fv.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Hour)))
		case *time.Time:
			tt := at.Add(time.Duration(i) * time.Minute)
			fv.Set(reflect.ValueOf(&tt))
		case []string:
			fv.Set(reflect.ValueOf([]string{"CVE-2024-0001", "CVE-2024-0002"}))
		case json.RawMessage:
			fv.Set(reflect.ValueOf(json.RawMessage(`{"a": [1, 2], "b":"x y <z>"}`)))
		case *finding.Waiver:
			fv.Set(reflect.ValueOf(&finding.Waiver{Action: finding.ActionAcceptRisk, Reason: "r", Until: at}))
		default:
			t.Fatalf("finding.Finding.%s: a field of type %s: teach appendFindingJSON and this test", v.Type().Field(i).Name, fv.Type())
		}
	}
	return finding.Change{Kind: finding.ChangeNew, Finding: f, At: at, Action: finding.ActionAcceptRisk, From: finding.StateOpen,
		To: finding.StateRiskAccepted, Actor: "an.analyst"}
}

func sameAsMarshal(t *testing.T, c finding.Change, valid validEvidence) bool {
	t.Helper()
	want, werr := json.Marshal(c)
	got, ok := appendChangeJSON(nil, &c, valid)
	switch {
	case werr != nil && ok:
		t.Fatalf("json.Marshal refuses (%v) but appendChangeJSON wrote %s", werr, got)
	case werr == nil && ok && !bytes.Equal(got, want):
		t.Fatalf("appendChangeJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
	return ok
}

// A new finding's change as the hub records it is written here, not
// handed back to json.Marshal.
func TestAppendChangeJSONCommonPath(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	due := at.Add(72 * time.Hour)
	ev := json.RawMessage(`{"feed":"shadowserver","raw":"\"2026-12-01 00:00:00\",10.64.0.1,udp,161,,\"Linux router 4.14.0 #1 SMP\""}`)
	c := finding.Change{Kind: finding.ChangeNew, At: at, Finding: finding.Finding{ID: 42, Key: "0123abcd", OrgID: 3, AssetID: 4,
		Source: finding.SourceIntel, SourceRef: "shadowserver", Check: "intel.exposed-service", Family: "intel", Severity: finding.Medium,
		Target: "10.64.0.1:161", Subject: "snmp", Title: "Exposed service snmp on 10.64.0.1:161", Evidence: ev, CVE: []string{},
		State: finding.StateOpen, FirstSeen: at, LastSeen: at, DueAt: &due, LastJobID: "run-1", UpdatedAt: at}}
	if !sameAsMarshal(t, c, validSeen([]finding.Finding{c.Finding}, false)) {
		t.Fatal("handed back to json.Marshal")
	}
	// The hub's evidence, written as json.Marshal writes it, is taken as
	// it is.
	if !sameAsMarshal(t, c, validSeen([]finding.Finding{c.Finding}, true)) {
		t.Fatal("handed back to json.Marshal")
	}
}

func TestAppendChangeJSONAsMarshal(t *testing.T) {
	full := fullChange(t)
	sameAsMarshal(t, full, nil)
	// Each field of the finding left at its zero value in turn: the
	// omissions must be json.Marshal's.
	fv := reflect.ValueOf(&full.Finding).Elem()
	for i := range fv.NumField() {
		c := full
		reflect.ValueOf(&c.Finding).Elem().Field(i).SetZero()
		t.Run(fv.Type().Field(i).Name, func(t *testing.T) { sameAsMarshal(t, c, nil) })
	}
	cases := map[string]func(c *finding.Change){
		"plain strings": func(c *finding.Change) {
			f := &c.Finding
			f.Key, f.Source, f.SourceRef, f.Check, f.Family, f.Severity = "0a1b", finding.SourceIntel, "feed", "intel.exposed-service", "intel", finding.Medium
			f.Target, f.Subject, f.Title, f.State, f.Reason, f.Approver, f.LastJobID = "10.0.0.1:161", "snmp", "Exposed service snmp on 10.0.0.1:161",
				finding.StateOpen, "why", "who", "job-1"
			f.Evidence = json.RawMessage(`{"feed":"f","raw":"a, b"}`)
		},
		"no transition": func(c *finding.Change) { c.At, c.Action, c.From, c.To, c.Actor = time.Time{}, "", "", "", "" },
		"empty cve":     func(c *finding.Change) { c.Finding.CVE = []string{} },
		"compact evidence": func(c *finding.Change) {
			c.Finding.Evidence = json.RawMessage(`{"raw":"a, \"b\" \\ c","n":[1,2.5e3,null,true],"s":"\u003c"}`)
		},
		"evidence with U+2028": func(c *finding.Change) { c.Finding.Evidence = json.RawMessage("{\"a\":\"x\u2028y\"}") },
		"evidence with &":      func(c *finding.Change) { c.Finding.Evidence = json.RawMessage(`{"a":"x&y"}`) },
		"evidence not JSON":    func(c *finding.Change) { c.Finding.Evidence = json.RawMessage(`{"a":`) },
		"unicode title":        func(c *finding.Change) { c.Finding.Title = "Dịch vụ SNMP mở trên 10.0.0.1 \u2029 \xff" },
		"control characters":   func(c *finding.Change) { c.Finding.Subject = "a\tb\nc\x01\"\\" },
		"tiny epss":            func(c *finding.Change) { c.Finding.EPSS = 1e-7 },
		"huge epss":            func(c *finding.Change) { c.Finding.EPSS = 1e22 },
		"NaN epss":             func(c *finding.Change) { c.Finding.EPSS = math.NaN() },
		"negative zero epss":   func(c *finding.Change) { c.Finding.EPSS = math.Copysign(0, -1) },
		"time in a zone": func(c *finding.Change) {
			c.Finding.FirstSeen = c.Finding.FirstSeen.In(time.FixedZone("ICT", 7*3600))
		},
		"time out of range": func(c *finding.Change) { c.Finding.LastSeen = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"negative year":     func(c *finding.Change) { c.At = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) },
		"whole seconds":     func(c *finding.Change) { c.Finding.UpdatedAt = c.Finding.UpdatedAt.Truncate(time.Second) },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := fullChange(t)
			edit(&c)
			sameAsMarshal(t, c, nil)
		})
	}
}

// Evidence the batch validated is not validated again: it is written as
// it is when compact.
func TestAppendChangeJSONValidEvidence(t *testing.T) {
	c := fullChange(t)
	c.Finding.Evidence = json.RawMessage(`{"feed":"f","raw":"a b"}`)
	seen := []finding.Finding{{Evidence: c.Finding.Evidence}}
	sameAsMarshal(t, c, validSeen(seen, false))
	// The same bytes elsewhere are not known valid: checked, still equal.
	c.Finding.Evidence = bytes.Clone(c.Finding.Evidence)
	if validSeen(seen, false).has(c.Finding.Evidence) {
		t.Fatal("a copy counts as the validated evidence")
	}
	sameAsMarshal(t, c, validSeen(seen, false))
	// A prefix of validated evidence is not known valid.
	c.Finding.Evidence = seen[0].Evidence[:5]
	if validSeen(seen, false).has(c.Finding.Evidence) {
		t.Fatal("a prefix counts as the validated evidence")
	}
	if _, ok := appendChangeJSON(nil, &c, validSeen(seen, false)); ok {
		t.Fatal("invalid evidence written")
	}
}

func FuzzAppendChangeJSON(f *testing.F) {
	f.Add("Exposed service snmp", "snmp", `{"feed":"shadowserver","raw":"\"2026-12-01\",10.0.0.1,udp"}`, 0.5, int64(0))
	f.Add("<b>&", "a\u2028b", `{ "a" : [ 1 , 2 ] }`, 1e-9, int64(123456789))
	f.Add("\xff", "", `"x\u2029y"`, 0.0, int64(-1))
	f.Add("t", "s", `{"a":"b\\"}`, 3.0, int64(999))
	f.Fuzz(func(t *testing.T, title, subject, evidence string, epss float64, nanos int64) {
		c := fullChange(t)
		c.Finding.Title, c.Finding.Subject, c.Finding.EPSS = title, subject, epss
		c.Finding.Evidence = json.RawMessage(evidence)
		c.Finding.LastSeen = time.Unix(0, nanos).UTC()
		sameAsMarshal(t, c, nil)
		if json.Valid(c.Finding.Evidence) && len(evidence) > 0 {
			sameAsMarshal(t, c, validSeen([]finding.Finding{c.Finding}, false))
			if m, _ := json.Marshal(c.Finding.Evidence); string(m) == evidence {
				sameAsMarshal(t, c, validSeen([]finding.Finding{c.Finding}, true))
			}
		}
	})
}
