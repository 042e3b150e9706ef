package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// DNSClientNetwork is a range of client addresses that members' machines
// ask the protective resolvers from, and the organization they belong
// to. It must lie inside an address asset of that organization (AssetID),
// whose findings the blocked queries become. Besides these, every
// verified address asset is a client network of its owner; the longest
// prefix wins.
type DNSClientNetwork struct {
	ID        int64     `json:"id"`
	OrgID     int64     `json:"org_id"`
	OrgCode   string    `json:"org_code"`
	Prefix    string    `json:"prefix"` // canonical CIDR
	AssetID   int64     `json:"asset_id"`
	Note      string    `json:"note,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// DNSBlocked is the blocked queries of one client address of one
// organization for one name, merged over every report: Count grows,
// First and Last widen.
type DNSBlocked struct {
	ID       int64     `json:"id"`
	OrgID    int64     `json:"org_id"`
	OrgCode  string    `json:"org_code"`
	AssetID  int64     `json:"asset_id"`
	Client   string    `json:"client"`
	Name     string    `json:"name"`
	List     string    `json:"list"`     // the list of the last report
	Resolver string    `json:"resolver"` // the resolver of the last report
	Count    int64     `json:"count"`
	Reports  int64     `json:"reports"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

// DNSBlockedReport is one resolver report as the ingester hands it to
// the store: items already mapped to their organization and asset. The
// resolver's name comes from the NATS subject, never from the payload.
type DNSBlockedReport struct {
	Resolver string
	ReportID string // the resolver's random ID of the report
	At       time.Time
	Items    []DNSBlocked // OrgID, AssetID, Client, Name, List, Count, First, Last
}

// DNSBlockedFilter narrows ListDNSBlocked (last seen first).
type DNSBlockedFilter struct {
	OrgID  int64     // 0: every organization the principal sees
	Client string    // "": every client
	Since  time.Time // last seen at or after; zero: any time
	Limit  int       // 0: DefaultLimit; capped at MaxLimit
}

// DNS keeps the protective DNS state: client networks and blocked
// queries. Like Sensors it is not part of Store: the ingester, the API
// and the console assert it on the store they are given.
//
// Reads are scoped to the principal's subtree, so a member sees the
// client addresses of its own organizations only. Writing client
// networks needs assets:write on the organization. The ingester writes
// as the platform (no principal) and is idempotent by report ID.
type DNS interface {
	// CreateDNSClientNetwork stores n (Prefix canonicalized; OrgCode,
	// AssetID, CreatedAt and ID filled). The prefix must lie inside an
	// address asset (ipv4, ipv6, cidr; not rejected) of n.OrgID:
	// ErrInvalid otherwise. The same prefix twice is ErrConflict.
	CreateDNSClientNetwork(ctx context.Context, p auth.Principal, n *DNSClientNetwork) error
	// DeleteDNSClientNetwork removes one network p sees.
	DeleteDNSClientNetwork(ctx context.Context, p auth.Principal, id int64) error
	// ListDNSClientNetworks lists the networks p sees, by prefix.
	ListDNSClientNetworks(ctx context.Context, p auth.Principal) ([]DNSClientNetwork, error)
	// RecordDNSBlocked adds a report's items to the totals kept per
	// organization, client and name, in one transaction, and returns
	// the items with their totals so far. A report ID already recorded
	// for the resolver writes nothing and returns duplicate true with
	// the current totals.
	RecordDNSBlocked(ctx context.Context, r DNSBlockedReport) (totals []DNSBlocked, duplicate bool, err error)
	// ListDNSBlocked lists the blocked queries p sees, last seen first.
	ListDNSBlocked(ctx context.Context, p auth.Principal, f DNSBlockedFilter) ([]DNSBlocked, error)
}
