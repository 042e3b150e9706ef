package stix

import (
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// x_rampart_recipients names whom a TLP:RED indicator is for; on any
// other marking it means nothing and is dropped; a malformed one makes
// the indicator unreadable.
func TestRampartRecipients(t *testing.T) {
	const red = `"object_marking_refs": ["marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"]`
	const amber = `"object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"]`
	obj := func(id, value, marking, recipients string) string {
		return `{"type": "indicator", "spec_version": "2.1", "id": "indicator--` + id + `", "created": "2026-11-01T00:00:00Z", "modified": "2026-11-01T00:00:00Z",
			"pattern": "[ipv4-addr:value = '` + value + `']", "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z", ` + marking + recipients + `}`
	}
	bundle := `{"type": "bundle", "id": "bundle--11111111-1111-4111-8111-111111111111", "objects": [` + strings.Join([]string{
		obj("00000000-0000-4000-8000-000000000001", "203.0.113.1", red, `, "x_rampart_recipients": {"orgs": [7, 3, 7], "users": [12]}`),
		obj("00000000-0000-4000-8000-000000000002", "203.0.113.2", amber, `, "x_rampart_recipients": {"orgs": [7]}`),
		obj("00000000-0000-4000-8000-000000000003", "203.0.113.3", red, `, "x_rampart_recipients": {"teams": [1]}`),
		obj("00000000-0000-4000-8000-000000000004", "203.0.113.4", red, `, "x_rampart_recipients": {"orgs": [-1]}`),
	}, ",") + `]}`
	recs, res, err := parseBytes(t, []byte(bundle), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]intel.Record{}
	for _, r := range recs {
		got[r.Value] = r
	}
	if r := got["203.0.113.1"]; r.TLP != intel.TLPRed || !slices.Equal(r.Recipients.Orgs, []int64{3, 7}) || !slices.Equal(r.Recipients.Users, []int64{12}) {
		t.Errorf("RED with recipients: %+v", r)
	}
	if r := got["203.0.113.2"]; r.TLP != intel.TLPAmber || !r.Recipients.Empty() {
		t.Errorf("AMBER keeps recipients: %+v", r)
	}
	if len(recs) != 2 || res.Rejections.Count != 2 {
		t.Fatalf("%d records, %d rejections (%+v); want 2 and 2", len(recs), res.Rejections.Count, res.Rejections.List)
	}
}
