package api

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// FuzzReadPushRecords feeds the push API's JSON reader hostile bodies:
// it never panics, every record it accepts is normalized (normalizing it
// again changes nothing) and filed under the caller's feed, and a body it
// reads has every element either accepted or refused with a reason.
func FuzzReadPushRecords(f *testing.F) {
	for _, s := range []string{
		`[{"kind":"ipv4","value":"203.0.113.10","category":"c2","confidence":80,"tlp":"green","labels":["malware:Emotet"]}]`,
		`[{"kind":"domain","value":"A.Example.VN.","tlp":"CLEAR"},{"kind":"url","value":"http://evil.example.net/x?id=1","tlp":"amber+strict"}]`,
		`[{"kind":"cidr","value":"198.51.100.0/24","valid_until":"2031-01-01T00:00:00Z","first_seen":"2030-01-01T00:00:00Z"}]`,
		`[{"kind":"email","value":"Phish@Example.ORG"},{"kind":"sha256","value":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"},{"kind":"asn","value":"as64500"}]`,
		`[{"kind":"ipv5","value":"x"},{"kind":"ipv4","value":"203.0.113.13","colour":"red"},{"kind":"ipv4","value":"1.2.3.4","confidence":150}]`,
		`[1, "x", null, [], {}]`,
		`[]`, `{}`, `[{"kind":`, `[{"kind":"ipv4","value":"203.0.113.1"}] []`,
		`[{"kind":"ipv4","value":"192.0.2.20","category":"exposed","detail":{"Port":"161","tag":"snmp"},"external_id":"scan-7"}]`,
		`[{"kind":"domain","value":"red.example.org","tlp":"red","recipients":{"orgs":[3,3,1],"users":[9]}},{"kind":"domain","value":"g.example.org","tlp":"green","recipients":{"orgs":[1]}},{"kind":"domain","value":"n.example.org","tlp":"red","recipients":{"orgs":[-1]}}]`,
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2030, 5, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		recs, rejected, err := readPushRecords(strings.NewReader(string(body)), "push:test", now, nil)
		if err != nil {
			if recs != nil || rejected != nil {
				t.Fatalf("an error with results: %v", err)
			}
			return
		}
		var elems []json.RawMessage
		if json.Unmarshal(body, &elems) == nil && len(elems) != len(recs)+len(rejected) {
			t.Fatalf("%d elements, %d accepted, %d refused", len(elems), len(recs), len(rejected))
		}
		for _, rj := range rejected {
			if rj.Reason == "" || rj.Index < 0 {
				t.Fatalf("rejection without a reason: %+v", rj)
			}
		}
		for _, r := range recs {
			if r.Feed != "push:test" {
				t.Fatalf("feed %q", r.Feed)
			}
			if !r.Recipients.Empty() && r.TLP != intel.TLPRed {
				t.Fatalf("recipients on a %s record", r.TLP)
			}
			for k := range r.Detail {
				if k == "" || k != strings.ToLower(k) {
					t.Fatalf("detail key %q", k)
				}
			}
			again := r
			again.Labels = append([]string(nil), r.Labels...)
			if err := again.Normalize(now); err != nil || again.Value != r.Value || again.Kind != r.Kind || again.TLP != r.TLP {
				t.Fatalf("accepted record not normalized: %+v → %+v (%v)", r, again, err)
			}
		}
	})
}
