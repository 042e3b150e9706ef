package store

import (
	"context"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// Regions keeps where scans run (reliability F1): the regions an
// organization or an asset names, and why queued jobs wait.
//
// Routing is decided from above: an organization's administrators may
// not pick the vantage points that scan their own organization or its
// assets. Changing an organization's regions needs auth.PermWriteOrgs and
// the organization strictly below the principal's own (a parent's
// administrator) or a platform-wide role; an asset's, the same over the
// asset's organization. Out-of-subtree objects are ErrNotFound, the own
// organization ErrForbidden. Both are audited ("org.regions",
// "asset.regions") with before and after, and writing what is stored
// writes nothing.
//
// The effective route of an organization (org.InheritRoute over its path)
// comes with its scan policy (ScanPolicy.Route).
type Regions interface {
	// SetOrgRegions replaces an organization's regions (normalized by
	// org.NormalizeRegions: a bad name is ErrInvalid) and cross-check
	// setting, and returns the organization as stored. No regions means
	// inherited.
	SetOrgRegions(ctx context.Context, p auth.Principal, orgID int64, regions []string, crossCheck bool) (org.Organization, error)
	// SetAssetRegions replaces an asset's own regions (none: its
	// organization's route) and returns the asset as stored.
	SetAssetRegions(ctx context.Context, p auth.Principal, assetID int64, regions []string) (asset.Asset, error)

	// QueuedRegions lists the regions of queued jobs, sorted (platform
	// only).
	QueuedRegions(ctx context.Context) ([]string, error)
	// SetWaitingReason sets the waiting reason of every queued job of
	// region ("" clears it) and returns how many changed (platform only).
	// Starting or finishing a job clears its reason (SetJobState).
	SetWaitingReason(ctx context.Context, region, reason string) (int64, error)
}
