package taxii

import (
	"slices"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
)

// Audience says who an indicator may reach: its TLP marking, the
// organizations it concerns (their assets are in it, or they reported
// seeing it), and for TLP:RED its recipients: the people (user IDs) and
// the organizations named on it.
type Audience struct {
	TLP    intel.TLP `json:"tlp"`
	Orgs   []int64   `json:"orgs,omitempty"`
	People []int64   `json:"people,omitempty"`
	// RecipientOrgs are the organizations a TLP:RED indicator names:
	// their members (people and machine tokens) read it.
	RecipientOrgs []int64 `json:"recipient_orgs,omitempty"`
}

// MayRead is the reference TLP 2.0 policy of the hub: whether p may read
// an indicator of audience a.
//
//   - Nobody without the feeds:read permission (workers, sensors).
//   - CLEAR, GREEN, AMBER: every authenticated member who may read feeds.
//     AMBER is "the recipient's organization and its clients on a need to
//     know": the constituency is the hub's client base, and each member
//     receives it through its own collection and the national one.
//   - AMBER+STRICT: the organizations the indicator concerns, and the
//     hub's own analysts (platform roles: the CERT is the recipient that
//     holds it). A parent organization is not the organization concerned.
//   - RED: the people named on it and the members of the organizations
//     named on it, and no one else; not an organization it merely
//     concerns, not a parent of a named one, not even an analyst or a
//     platform administrator by role.
//
// An unknown marking counts as RED. The platform itself (p.System) reads
// everything: it never reaches a request.
func MayRead(p auth.Principal, a Audience) bool {
	if p.System {
		return true
	}
	return p.Can(auth.PermReadFeeds) && MayKnow(p, a)
}

// MayKnow is MayRead without the feeds:read permission: whether p may
// learn that the hub holds an indicator of audience a, as a sensor or a
// member reporting a sighting does. Whoever may not is answered as if
// the hub held nothing.
func MayKnow(p auth.Principal, a Audience) bool {
	if p.System {
		return true
	}
	switch t := a.TLP; {
	case t == intel.TLPClear || t == intel.TLPGreen || t == intel.TLPAmber:
		return true
	case t == intel.TLPAmberStrict:
		return p.Role.Global() || p.OrgID != 0 && slices.Contains(a.Orgs, p.OrgID)
	default:
		return p.UserID != 0 && slices.Contains(a.People, p.UserID) ||
			p.OrgID != 0 && slices.Contains(a.RecipientOrgs, p.OrgID)
	}
}

// Scope is the audience of a collection: national up to a TLP ceiling,
// or one organization's.
type Scope struct {
	// Ceiling: a national collection holds the indicators marked up to
	// and including it. Empty for an organization's collection.
	Ceiling intel.TLP
	// OrgID: an organization's collection holds the indicators that
	// concern it.
	OrgID int64
}

// National reports whether s is a national collection.
func (s Scope) National() bool { return s.OrgID == 0 }

// MaySee reports whether p may see (list and open) a collection of scope
// s: national collections to every member who may read feeds (each
// indicator in them still passes MayRead), an organization's collection
// to its own members and the hub's analysts.
func MaySee(p auth.Principal, s Scope) bool {
	if p.System {
		return true
	}
	if !p.Can(auth.PermReadFeeds) {
		return false
	}
	if s.National() {
		return true
	}
	return p.Role.Global() || p.OrgID == s.OrgID
}

// Holds reports whether an indicator of audience a belongs in a
// collection of scope s: an organization's holds those that concern it
// and the TLP:RED ones naming it.
func (s Scope) Holds(a Audience) bool {
	if s.National() {
		return a.TLP.Rank() <= s.Ceiling.Rank()
	}
	return slices.Contains(a.Orgs, s.OrgID) || slices.Contains(a.RecipientOrgs, s.OrgID)
}
