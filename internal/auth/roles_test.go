package auth_test

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
)

// TestIntelPermissions pins who may read, submit and administer threat
// intelligence: the TAXII server and blocklists ask for feeds:read, the
// push API for feeds:write, the review queue and consumers for
// intel:review.
func TestIntelPermissions(t *testing.T) {
	cases := []struct {
		role                 auth.Role
		read, write, review  bool
		sensor, triage, jobs bool
	}{
		{auth.RolePlatformAdmin, true, true, true, true, true, true},
		{auth.RoleAnalyst, true, true, true, false, true, false},
		{auth.RoleOrgAdmin, true, false, false, false, true, false},
		{auth.RoleOrgMember, true, false, false, false, true, false},
		{auth.RoleViewer, true, false, false, false, false, false},
		{auth.RoleWorker, false, false, false, false, false, true},
		{auth.RoleSensor, false, false, false, true, false, false},
		{auth.RoleFeedConsumer, true, false, false, false, false, false},
		// A producer submits indicators and sightings (the store takes a
		// sighting for sensor:send) and reads feeds; it triages nothing.
		{auth.RoleFeedProducer, true, true, false, true, false, false},
	}
	for _, c := range cases {
		got := [6]bool{c.role.Can(auth.PermReadFeeds), c.role.Can(auth.PermWriteFeeds), c.role.Can(auth.PermReviewIntel),
			c.role.Can(auth.PermSendSensor), c.role.Can(auth.PermTriage), c.role.Can(auth.PermRunJobs)}
		want := [6]bool{c.read, c.write, c.review, c.sensor, c.triage, c.jobs}
		if got != want {
			t.Errorf("%s: read, write, review, sensor, triage, jobs = %v, want %v", c.role, got, want)
		}
	}
	if string(auth.PermReadFeeds) != "feeds:read" || string(auth.PermWriteFeeds) != "feeds:write" || string(auth.PermReviewIntel) != "intel:review" {
		t.Errorf("permission names changed: %s %s %s", auth.PermReadFeeds, auth.PermWriteFeeds, auth.PermReviewIntel)
	}
}

func TestFeedProducerRole(t *testing.T) {
	r := auth.RoleFeedProducer
	if !r.Valid() || !r.Machine() || r.Global() {
		t.Fatalf("feed-producer: valid %v machine %v global %v", r.Valid(), r.Machine(), r.Global())
	}
	if auth.Role("feed-producer") != r {
		t.Fatalf("role name %q", r)
	}
	// An organization's administrator may issue one for its own systems;
	// members and viewers may not, nor may a producer issue anything.
	for grantor, want := range map[auth.Role]bool{
		auth.RolePlatformAdmin: true, auth.RoleOrgAdmin: true, auth.RoleOrgMember: false,
		auth.RoleViewer: false, auth.RoleFeedProducer: false, auth.RoleAnalyst: false,
	} {
		if got := grantor.MayGrant(r); got != want {
			t.Errorf("%s may grant feed-producer = %v, want %v", grantor, got, want)
		}
	}
	if r.MayGrant(auth.RoleFeedConsumer) {
		t.Error("a producer grants nothing")
	}
}
