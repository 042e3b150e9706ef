package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
)

// TestImportFindings: an organization's member imports Nuclei results
// through the API; a line on another organization's host refuses the
// file with its line number; re-importing changes nothing.
func TestImportFindings(t *testing.T) {
	e := newEnv(t)
	alfa := e.createOrg(e.admin, "ALFA", "ministry", 0)
	beta := e.createOrg(e.admin, "BETA", "ministry", 0)
	e.createAsset(e.admin, alfa, "ipv4", "127.61.0.1")
	e.createAsset(e.admin, beta, "domain", "beta.gov.vn")
	e.refresh()
	member := e.user("alfa-member", auth.RoleOrgMember, alfa)
	good := `{"template-id":"exposed-panel","info":{"name":"Admin panel exposed","severity":"high"},"host":"http://127.61.0.1:8080","ip":"127.61.0.1","port":"8080"}` + "\n"
	r := e.mustDo(member, "POST", "/api/v1/import/findings?tool=nuclei", good, 200)
	var rep struct {
		New, Results int
		JobID        string `json:"job_id"`
	}
	if err := json.Unmarshal(r.body, &rep); err != nil || rep.New != 1 || rep.Results != 1 || !strings.HasPrefix(rep.JobID, "import-nuclei-") {
		t.Fatalf("import: %s", r.body)
	}
	r = e.mustDo(member, "POST", "/api/v1/import/findings?tool=nuclei", good, 200)
	if err := json.Unmarshal(r.body, &rep); err != nil || rep.New != 0 {
		t.Fatalf("re-import: %s", r.body)
	}
	bad := good + `{"template-id":"x","info":{"severity":"low"},"host":"https://beta.gov.vn/"}` + "\n"
	r = e.mustDo(member, "POST", "/api/v1/import/findings?tool=nuclei", bad, 422)
	var eb struct {
		Error struct {
			Code  string
			Line  int
			Lines []struct{ Line int }
		}
	}
	if err := json.Unmarshal(r.body, &eb); err != nil || eb.Error.Code != "import_failed" || eb.Error.Line != 2 || len(eb.Error.Lines) != 1 {
		t.Fatalf("out of scope: %s", r.body)
	}
	if strings.Contains(string(r.body), "BETA") {
		t.Fatalf("the refusal names the other organization: %s", r.body)
	}
	e.mustDo(member, "POST", "/api/v1/import/findings?tool=burp", good, 400)
	r = e.mustDo(member, "GET", "/api/v1/findings?check=import.", nil, 200)
	if !strings.Contains(string(r.body), `"source":"import"`) || !strings.Contains(string(r.body), "Admin panel exposed") {
		t.Fatalf("imported finding not listed: %s", r.body)
	}
}
