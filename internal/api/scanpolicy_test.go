package api_test

import (
	"fmt"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
)

// TestF26ScanPolicyNullBody: a PUT of the scan policy with a body of null,
// {} or one list missing is refused (422) and leaves the policy as it was;
// explicit empty lists still clear it, and a policy read back (with its
// route) can be written back as is.
func TestF26ScanPolicyNullBody(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	moh := e.createOrg(e.admin, "MOH", "ministry", vn)
	path := fmt.Sprintf("/api/v1/orgs/%d/scan-policy", moh)
	pol := map[string]any{"exclusions": []string{"192.0.2.7"},
		"blackouts": []map[string]any{{"days": []int{1}, "start": "08:00", "end": "17:00"}}}
	e.mustDo(e.admin, "PUT", path, pol, 200)
	for _, body := range []any{[]byte("null"), []byte("{}"), []byte(`{"exclusions":[]}`), []byte(`{"blackouts":[]}`),
		[]byte(`{"exclusions":null,"blackouts":[]}`)} {
		if r := e.do(e.admin, "PUT", path, body); r.status != 422 {
			t.Errorf("PUT %s: status %d, want 422: %s", body, r.status, r.body)
		}
	}
	var sp store.ScanPolicy
	e.mustDo(e.admin, "GET", path, nil, 200).json(t, &sp)
	if len(sp.Exclusions) != 1 || len(sp.Blackouts) != 1 {
		t.Fatalf("policy after refused PUTs: %+v", sp)
	}
	e.mustDo(e.admin, "PUT", path, sp, 200) // read back, written back (route included)
	e.mustDo(e.admin, "PUT", path, []byte(`{"exclusions":[],"blackouts":[]}`), 200).json(t, &sp)
	if len(sp.Exclusions) != 0 || len(sp.Blackouts) != 0 {
		t.Fatalf("explicit empty lists did not clear the policy: %+v", sp)
	}
}
