package intel

import (
	"fmt"
	"slices"
)

// Recipients name who may read a TLP:RED indicator: member organizations
// (every member of each, through its own collection) and people (user
// IDs). TLP 2.0 RED is "for the eyes and ears of individual recipients
// only": the source names them, and the hub delivers to nobody else —
// not to the hub's own analysts by role, not to a parent organization.
// An indicator of a lesser marking has no recipients (its marking already
// says who may read it).
type Recipients struct {
	Orgs  []int64 `json:"orgs,omitempty"`
	Users []int64 `json:"users,omitempty"`
}

// MaxRecipients bounds the organizations and people one record names.
const MaxRecipients = 1000

// Empty reports whether r names nobody.
func (r Recipients) Empty() bool { return len(r.Orgs) == 0 && len(r.Users) == 0 }

// Equal reports whether r and o name the same recipients (both normalized).
func (r Recipients) Equal(o Recipients) bool {
	return slices.Equal(r.Orgs, o.Orgs) && slices.Equal(r.Users, o.Users)
}

// HasOrg reports whether organization id is named.
func (r Recipients) HasOrg(id int64) bool { return id != 0 && slices.Contains(r.Orgs, id) }

// HasUser reports whether person id is named.
func (r Recipients) HasUser(id int64) bool { return id != 0 && slices.Contains(r.Users, id) }

// normalize sorts the IDs, drops duplicates and refuses IDs that are not
// positive or lists longer than MaxRecipients.
func (r *Recipients) normalize() error {
	for _, l := range []*[]int64{&r.Orgs, &r.Users} {
		if len(*l) > MaxRecipients {
			return fmt.Errorf("%w: more than %d recipients", ErrInvalid, MaxRecipients)
		}
		for _, id := range *l {
			if id <= 0 {
				return fmt.Errorf("%w: recipient ID %d is not positive", ErrInvalid, id)
			}
		}
		slices.Sort(*l)
		*l = slices.Compact(*l)
		if len(*l) == 0 {
			*l = nil
		}
	}
	return nil
}

// union adds o's recipients to r, keeping r normalized.
func (r *Recipients) union(o Recipients) {
	for _, p := range []struct{ dst, src *[]int64 }{{&r.Orgs, &o.Orgs}, {&r.Users, &o.Users}} {
		for _, id := range *p.src {
			if i, found := slices.BinarySearch(*p.dst, id); !found {
				*p.dst = slices.Insert(*p.dst, i, id)
			}
		}
	}
}
