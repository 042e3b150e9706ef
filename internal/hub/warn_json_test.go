package hub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
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

// evidence writes a row's detail from the row's own map as json.Marshal
// writes a copy of it: secret keys left out (and the raw row with them),
// values cut to 512 bytes, keys sorted.
func TestEvidenceDetailAsMarshal(t *testing.T) {
	seen := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 600)
	for _, detail := range []map[string]string{
		nil,
		{},
		{"port": "161", "tag": "snmp", "sysdesc": "Linux <r> & co", "banner": long, "Tỉnh": "Hà Nội"},
		{"password": "hunter2", "port": "22"},
		{"api_token": "t"},
	} {
		rec := intel.Record{Kind: intel.KindIPv4, Value: "10.64.0.1", Feed: "shadowserver:scan_snmp", TLP: intel.TLPAmber, Category: intel.CategoryExposed,
			Confidence: 90, LastSeen: seen, Detail: detail, Raw: "2026-12-01,10.64.0.1,udp,161"}
		want := warningEvidence{Feed: rec.Feed, Seen: "2026-12-01T00:00:00Z", TLP: "AMBER", Indicator: &evidenceValue{"ipv4", "10.64.0.1"},
			Category: "exposed", Confidence: 90, Raw: rec.Raw}
		for k, v := range detail {
			if isSecretKey(k) {
				want.Raw = ""
				continue
			}
			if want.Detail == nil {
				want.Detail = map[string]string{}
			}
			want.Detail[k] = cut(v, 512)
		}
		w, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := evidence(&rec, intel.FindingExposedService); string(got) != string(w) {
			t.Errorf("evidence:\n%s\nwant\n%s", got, w)
		}
	}
}
