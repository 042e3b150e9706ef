package hub

import (
	"encoding/json"
	"testing"
)

// An early warning's evidence is written as json.Marshal writes it.
func TestWarningEvidenceAsMarshal(t *testing.T) {
	for _, ev := range []warningEvidence{
		{},
		{Feed: "shadowserver:scan_snmp", Seen: "2026-12-01T00:00:00Z", TLP: "AMBER", Indicator: &evidenceValue{"ipv4", "10.64.0.1"},
			Category: "exposed", Confidence: 90, FirstSeen: "2026-11-30T00:00:00Z", ExternalID: "x-1", Labels: []string{"tag:snmp", "a<b"},
			Detail: map[string]string{"port": "161", "sysdesc": "Linux <router> & \"co\"", "asn": "64512", "Tỉnh": "Hà Nội"}, Raw: "a,b,\"c\"\n"},
		{Feed: "hibp", Seen: "2026-12-01T00:00:00Z", TLP: "RED", Leak: "Collection #1", Accounts: []string{"a@moh.gov.vn"}, More: 3},
		{Feed: "f", Seen: "s", TLP: "RED", Indicator: &evidenceValue{"domain", "x.vn"}, Note: "ask", Labels: []string{}, Detail: map[string]string{}},
		{Feed: "bad \xff utf-8", Seen: "\u2028", TLP: "\x00", Confidence: -1, More: -2},
	} {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.appendJSON(nil); string(got) != string(want) {
			t.Errorf("appendJSON:\n%s\nwant\n%s", got, want)
		}
	}
}

func FuzzWarningEvidence(f *testing.F) {
	f.Add("feed", "10.0.0.1", "port", "161", "raw,row", 50, true)
	f.Add("f<", "\xff", "", "\u2028", "", 0, false)
	f.Fuzz(func(t *testing.T, feed, value, key, val, raw string, conf int, ind bool) {
		ev := warningEvidence{Feed: feed, Seen: value, TLP: raw, Confidence: conf, Raw: raw, Labels: []string{key, val},
			Detail: map[string]string{key: val, val: key, "z": raw}, Accounts: []string{value}}
		if ind {
			ev.Indicator = &evidenceValue{key, value}
		}
		want, _ := json.Marshal(ev)
		if got := ev.appendJSON(nil); string(got) != string(want) {
			t.Fatalf("appendJSON:\n%s\nwant\n%s", got, want)
		}
	})
}
