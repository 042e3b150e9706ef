package taxii

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
)

func TestMayRead(t *testing.T) {
	const orgA, orgB, parent = 10, 20, 1
	member := func(org int64, user int64, role auth.Role) auth.Principal {
		return auth.Principal{UserID: user, OrgID: org, Role: role, Name: "u"}
	}
	aliceA := member(orgA, 101, auth.RoleViewer)
	bobB := member(orgB, 202, auth.RoleOrgAdmin)
	feedA := auth.Principal{TokenID: 7, OrgID: orgA, Role: auth.RoleFeedConsumer} // a machine token, no person
	analyst := member(parent, 303, auth.RoleAnalyst)
	admin := member(parent, 404, auth.RolePlatformAdmin)
	parentAdmin := member(parent, 505, auth.RoleOrgAdmin)
	workerA := auth.Principal{TokenID: 8, OrgID: orgA, Role: auth.RoleWorker}
	sensorA := auth.Principal{TokenID: 9, OrgID: orgA, Role: auth.RoleSensor}
	anon := auth.Principal{}

	aud := func(tlp intel.TLP) Audience {
		return Audience{TLP: tlp, Orgs: []int64{orgA}, People: []int64{101, 303}}
	}
	cases := []struct {
		name string
		p    auth.Principal
		a    Audience
		want bool
	}{
		{"clear to another org", bobB, aud(intel.TLPClear), true},
		{"green to another org", bobB, aud(intel.TLPGreen), true},
		{"amber to another org's member", bobB, aud(intel.TLPAmber), true},
		{"amber to a feed token", feedA, aud(intel.TLPAmber), true},
		{"amber+strict to the org concerned", aliceA, aud(intel.TLPAmberStrict), true},
		{"amber+strict to the org's feed token", feedA, aud(intel.TLPAmberStrict), true},
		{"amber+strict not to another org", bobB, aud(intel.TLPAmberStrict), false},
		{"amber+strict not to the parent org", parentAdmin, aud(intel.TLPAmberStrict), false},
		{"amber+strict to the hub's analyst", analyst, aud(intel.TLPAmberStrict), true},
		{"amber+strict with no org concerned", aliceA, Audience{TLP: intel.TLPAmberStrict}, false},
		{"red to a named person", aliceA, aud(intel.TLPRed), true},
		{"red to a named analyst", analyst, aud(intel.TLPRed), true},
		{"red not to an unnamed platform admin", admin, aud(intel.TLPRed), false},
		{"red not to the org's feed token", feedA, aud(intel.TLPRed), false},
		{"red not to another org", bobB, aud(intel.TLPRed), false},
		{"red not to a person of the org concerned who is not named", member(orgA, 999, auth.RoleOrgAdmin), aud(intel.TLPRed), false},
		{"unknown marking counts as red", bobB, Audience{TLP: "PURPLE", People: []int64{202}}, true},
		{"unknown marking not to the unnamed", aliceA, Audience{TLP: "PURPLE", Orgs: []int64{orgA}}, false},
		{"worker reads nothing", workerA, aud(intel.TLPClear), false},
		{"sensor reads nothing", sensorA, aud(intel.TLPClear), false},
		{"nobody reads nothing", anon, aud(intel.TLPClear), false},
		{"the system reads red", auth.SystemPrincipal, aud(intel.TLPRed), true},
		{"red to a member of a named org", bobB, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{orgB}}, true},
		{"red to the feed token of a named org", feedA, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{orgA}}, true},
		{"red not to the parent of a named org", parentAdmin, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{orgA}}, false},
		{"red not to an org it only concerns", aliceA, Audience{TLP: intel.TLPRed, Orgs: []int64{orgA}, RecipientOrgs: []int64{orgB}}, false},
		{"red not to an analyst by role when an org is named", analyst, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{orgA}}, false},
		{"recipient orgs mean nothing below red", bobB, Audience{TLP: intel.TLPAmberStrict, RecipientOrgs: []int64{orgB}}, false},
	}
	for _, c := range cases {
		if got := MayRead(c.p, c.a); got != c.want {
			t.Errorf("%s: MayRead = %v, want %v", c.name, got, c.want)
		}
		// MayKnow is MayRead for whoever may read feeds.
		if c.p.Can(auth.PermReadFeeds) && MayKnow(c.p, c.a) != c.want {
			t.Errorf("%s: MayKnow = %v, want %v", c.name, !c.want, c.want)
		}
	}
}

func TestMayKnowWithoutFeeds(t *testing.T) {
	sensorA := auth.Principal{TokenID: 9, OrgID: 10, Role: auth.RoleSensor}
	for _, c := range []struct {
		a    Audience
		want bool
	}{
		{Audience{TLP: intel.TLPAmber}, true},
		{Audience{TLP: intel.TLPAmberStrict, Orgs: []int64{20}}, false},
		{Audience{TLP: intel.TLPAmberStrict, Orgs: []int64{10}}, true},
		{Audience{TLP: intel.TLPRed, Orgs: []int64{10}}, false},
		{Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{10}}, true},
	} {
		if got := MayKnow(sensorA, c.a); got != c.want {
			t.Errorf("sensor, %+v: MayKnow = %v, want %v", c.a, got, c.want)
		}
		if MayRead(sensorA, c.a) {
			t.Errorf("sensor, %+v: MayRead", c.a)
		}
	}
}

func TestMaySeeAndHolds(t *testing.T) {
	a := auth.Principal{UserID: 1, OrgID: 10, Role: auth.RoleViewer}
	b := auth.Principal{UserID: 2, OrgID: 20, Role: auth.RoleOrgMember}
	analyst := auth.Principal{UserID: 3, OrgID: 1, Role: auth.RoleAnalyst}
	worker := auth.Principal{OrgID: 10, Role: auth.RoleWorker}
	see := []struct {
		name string
		p    auth.Principal
		s    Scope
		want bool
	}{
		{"national to a member", b, Scope{Ceiling: intel.TLPRed}, true},
		{"own org's collection", a, Scope{OrgID: 10}, true},
		{"another org's collection", b, Scope{OrgID: 10}, false},
		{"analyst sees every org's", analyst, Scope{OrgID: 10}, true},
		{"worker sees no national", worker, Scope{Ceiling: intel.TLPClear}, false},
		{"worker sees not its own org's", worker, Scope{OrgID: 10}, false},
	}
	for _, c := range see {
		if got := MaySee(c.p, c.s); got != c.want {
			t.Errorf("%s: MaySee = %v, want %v", c.name, got, c.want)
		}
	}
	holds := []struct {
		name string
		s    Scope
		a    Audience
		want bool
	}{
		{"green in national amber", Scope{Ceiling: intel.TLPAmber}, Audience{TLP: intel.TLPGreen}, true},
		{"amber in national amber", Scope{Ceiling: intel.TLPAmber}, Audience{TLP: intel.TLPAmber}, true},
		{"amber+strict not in national amber", Scope{Ceiling: intel.TLPAmber}, Audience{TLP: intel.TLPAmberStrict}, false},
		{"red in national red", Scope{Ceiling: intel.TLPRed}, Audience{TLP: intel.TLPRed}, true},
		{"org's indicator in its collection", Scope{OrgID: 10}, Audience{TLP: intel.TLPRed, Orgs: []int64{20, 10}}, true},
		{"another org's not in it", Scope{OrgID: 10}, Audience{TLP: intel.TLPClear, Orgs: []int64{20}}, false},
		{"red naming the org in its collection", Scope{OrgID: 10}, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{10}}, true},
		{"red naming another org not in it", Scope{OrgID: 10}, Audience{TLP: intel.TLPRed, RecipientOrgs: []int64{20}}, false},
	}
	for _, c := range holds {
		if got := c.s.Holds(c.a); got != c.want {
			t.Errorf("%s: Holds = %v, want %v", c.name, got, c.want)
		}
	}
}
