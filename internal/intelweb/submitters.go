package intelweb

import (
	"context"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
)

// PushPrefix starts the name of the feed an organization's submissions
// through the push API are filed under: "push:<organization code>".
const PushPrefix = "push:"

// OrgGetter reads an organization.
type OrgGetter interface {
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
}

// PushFeed is the feed p's own submissions are filed under:
// "push:<code>" of its organization, "push:national" for a principal of
// no organization.
func PushFeed(ctx context.Context, st OrgGetter, p auth.Principal) (string, error) {
	if p.OrgID == 0 {
		return PushPrefix + "national", nil
	}
	// Read as the platform: a producer token may not read the registry,
	// and this is its own organization's code.
	o, err := st.GetOrg(ctx, sys, p.OrgID)
	if err != nil {
		return "", fmt.Errorf("intelweb: organization %d: %w", p.OrgID, err)
	}
	return PushPrefix + strings.ToLower(o.Code), nil
}

// HideSubmitters keeps a member from learning which other organization
// submitted an indicator: below the national level, a source filed under
// another organization's push feed shows as "push", without its id.
// own is the reader's own push feed (PushFeed).
func HideSubmitters(p auth.Principal, own string, sources []intel.Source) {
	if p.SeesAll() {
		return
	}
	for i := range sources {
		if strings.HasPrefix(sources[i].Feed, PushPrefix) && sources[i].Feed != own {
			sources[i].Feed, sources[i].ExternalID = "push", ""
		}
	}
}

// HidesFeed reports whether a member filtering by feed would probe
// another organization's submissions: the filter matches nothing for it.
func HidesFeed(p auth.Principal, own, feed string) bool {
	return !p.SeesAll() && strings.HasPrefix(feed, PushPrefix) && feed != own
}
