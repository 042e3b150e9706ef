package store

import (
	"context"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
)

// ClaimFilter narrows ListClaims.
type ClaimFilter struct {
	PageRequest
	State asset.State // "" means claimed (pending)
	OrgID int64       // only claims of this organization's subtree
	// Decidable keeps only claims the principal could decide by their
	// place in the tree: everything for the national level, claims of
	// organizations strictly below their own for an org-admin, nothing
	// for anyone else. The full rule (asset.MayApprove) is the service's.
	Decidable bool
}

// ClaimView is a claimed (or rejected) asset, its request and its owner.
type ClaimView struct {
	Asset   asset.Asset `json:"asset"`
	Claim   asset.Claim `json:"claim"`
	OrgCode string      `json:"org_code"`
	OrgPath string      `json:"-"`
}

// Claims keeps the ownership claims behind assets.
//
// The state of a new asset is the store's business: CreateAsset and
// ImportAssets store an asset registered by the platform itself or a
// platform administrator as verified ("national:<name>"), and anyone
// else's as a claim with a fresh verification token and an open request.
// UpdateAsset by someone below the national level that changes an asset's
// organization, kind or value turns it back into a claim with a new token.
// Which claims a person may approve is decided by the caller
// (asset.MayApprove, in the claims service); the store enforces tenancy
// and refuses a decision by anyone in the claimant's own organization.
type Claims interface {
	// GetClaim returns the claim behind a claimed or rejected asset the
	// principal sees; a verified asset is ErrNotFound.
	GetClaim(ctx context.Context, p auth.Principal, assetID int64) (ClaimView, error)
	// ListClaims lists claims in the principal's subtree in asset ID order.
	ListClaims(ctx context.Context, p auth.Principal, f ClaimFilter) (Page[ClaimView], error)
	// SetClaimEvidence stores the claimant's evidence (for a network, the
	// registry allocation); it needs auth.PermWriteAssets on the asset.
	SetClaimEvidence(ctx context.Context, p auth.Principal, assetID int64, evidence string) error
	// DecideClaim approves (the asset becomes verified, VerifiedBy "by")
	// or rejects (reason kept) a claimed asset, in one transaction with
	// its audit entry ("asset.approve", "asset.reject"). A decision on an
	// asset not claimed is ErrConflict.
	DecideClaim(ctx context.Context, p auth.Principal, assetID int64, approve bool, by, reason string) (asset.Asset, error)
	// RecordProof stores the result of an automatic proof check of a
	// claim (system only). ok verifies the asset with method (asset.
	// VerifiedByDNS or VerifiedByHTTP) when its token is still token;
	// otherwise result says why it failed. A claim already decided is
	// ErrConflict.
	RecordProof(ctx context.Context, assetID int64, token, method string, ok bool, result string, at time.Time) (asset.Asset, error)
	// DueClaims lists up to limit claims whose last check is unset or
	// before the given time, never checked first (system only).
	DueClaims(ctx context.Context, before time.Time, limit int) ([]asset.Asset, error)
}
