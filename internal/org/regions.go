package org

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// MaxRegions bounds the regions one organization or asset names.
const MaxRegions = 16

// regionRE is the configuration's region pattern (config.Config.Region):
// a region is a vantage point, the token in rampart.jobs.<region>.<type>.
var regionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9-]{1,32}$`) })

// ValidRegion reports whether r is a well-formed region name.
func ValidRegion(r string) bool { return regionRE().MatchString(r) }

// NormalizeRegions trims, lower-cases, drops empties and duplicates and
// sorts regions, then checks each against the region pattern and the
// count against MaxRegions. The result is never nil. A bad entry is
// ErrInvalid naming it.
func NormalizeRegions(in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, r := range in {
		r = strings.ToLower(strings.TrimSpace(r))
		if r == "" {
			continue
		}
		if !ValidRegion(r) {
			return nil, fmt.Errorf("%w: region %q: want 1-32 characters of a-z, 0-9 and -", ErrInvalid, r)
		}
		out = append(out, r)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > MaxRegions {
		return nil, fmt.Errorf("%w: at most %d regions, not %d", ErrInvalid, MaxRegions, len(out))
	}
	return out, nil
}

// Route is where scans of an organization's assets run: the regions
// (vantage points) whose workers may scan them, and whether each scan runs
// from every one of them (a cross-check) rather than from one.
type Route struct {
	Regions    []string `json:"regions,omitempty"`
	CrossCheck bool     `json:"cross_check,omitempty"`
	// FromOrgID is the organization that set the route, the nearest one
	// up the tree that names regions; 0 when none does and the platform's
	// default region applies.
	FromOrgID int64 `json:"from_org_id,omitempty"`
}

// InheritRoute returns the route of the last organization of chain, the
// path from a root down to it (as Path lists them): the nearest
// organization, itself first, then its parent and so on up, that names
// regions gives both its regions and its cross-check setting. When none
// does, the route is zero and the caller applies the platform's default
// region. CrossCheck set on an organization without regions means nothing
// on its own: a cross-check needs the regions it checks across.
func InheritRoute(chain []Organization) Route {
	for i := len(chain) - 1; i >= 0; i-- {
		if o := chain[i]; len(o.Regions) > 0 {
			return Route{Regions: slices.Clone(o.Regions), CrossCheck: o.CrossCheck, FromOrgID: o.ID}
		}
	}
	return Route{}
}

// PathIDs returns the organization IDs of a materialized path, root
// first: "/1/7/42/" is [1 7 42]. Malformed elements are skipped.
func PathIDs(path string) []int64 {
	var ids []int64
	for _, s := range strings.Split(strings.Trim(path, "/"), "/") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}
