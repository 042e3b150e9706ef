package scope

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// ClaimStore is what the claims service reads and writes.
type ClaimStore interface {
	store.Assets
	store.Claims
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
}

// Prover checks a claim's published proofs (package proof).
type Prover interface {
	Prove(ctx context.Context, a asset.Asset) (method string, err error)
}

// ClaimsDeps are what the claims service needs. Store and Guard are
// required.
type ClaimsDeps struct {
	Store  ClaimStore
	Guard  *Guard
	Prover Prover       // nil: claims are only approved, never proven
	Limits asset.Limits // config internal_deployment and the prefix limits
	Now    func() time.Time
	Logger *slog.Logger
	// Recheck is how often the loop checks a pending claim's proofs
	// again; 0 means 15 minutes.
	Recheck time.Duration
}

// Claims is the one place where ownership claims are registered, proven,
// approved and rejected; the API and the console call it.
type Claims struct{ d ClaimsDeps }

// NewClaims returns the claims service.
func NewClaims(d ClaimsDeps) *Claims {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Recheck <= 0 {
		d.Recheck = 15 * time.Minute
	}
	return &Claims{d: d}
}

// Limits returns the claim limits in force.
func (c *Claims) Limits() asset.Limits { return c.d.Limits }

// nationalLevel reports whether p registers and approves without limits.
func nationalLevel(p auth.Principal) bool { return p.System || p.Role == auth.RolePlatformAdmin }

// Check reports why p may not register a (prepared or not): the claim
// limits bind everyone below the national level.
func (c *Claims) Check(p auth.Principal, a *asset.Asset) error {
	if err := a.Prepare(); err != nil {
		return fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	if nationalLevel(p) {
		return nil
	}
	return limitErr(c.d.Limits.Check(*a))
}

// limitErr gives a limit's error the store category the faces map.
func limitErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, asset.ErrNeedsNational):
		return fmt.Errorf("%w: %w", store.ErrForbidden, err)
	case errors.Is(err, asset.ErrOverlap):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return fmt.Errorf("%w: %w", store.ErrInvalid, err)
}

// CheckImport checks every row of an import against the limits; the first
// refused row is a *store.ImportError with its line.
func (c *Claims) CheckImport(p auth.Principal, rows []store.ImportRow) error {
	if nationalLevel(p) {
		return nil
	}
	for _, r := range rows {
		a := r.Asset
		a.OrgID = max(a.OrgID, 1) // the owner is resolved by the store
		if err := a.Prepare(); err != nil {
			continue // the store reports it with its line
		}
		if err := c.d.Limits.Check(a); err != nil {
			return &store.ImportError{Line: r.Line, Reason: err.Error(), Err: limitErr(err)}
		}
	}
	return nil
}

// Register stores a new asset. Below the national level it is a claim;
// evidence (for a network: the registry allocation) goes with it. A
// claim its registrant may approve (an admin registering for an
// organization below their own) is approved at once, unless it conflicts
// with an asset beyond their reach.
func (c *Claims) Register(ctx context.Context, p auth.Principal, a *asset.Asset, evidence string) error {
	if err := c.Check(p, a); err != nil {
		return err
	}
	if err := c.d.Store.CreateAsset(ctx, p, a); err != nil {
		return err
	}
	if a.State != asset.StateClaimed {
		c.d.Guard.Invalidate()
		return nil
	}
	if evidence != "" {
		if err := c.d.Store.SetClaimEvidence(ctx, p, a.ID, evidence); err != nil {
			return err
		}
	}
	c.refresh(ctx)
	if c.mayDecide(p, *a) == nil {
		v, err := c.d.Store.DecideClaim(ctx, p, a.ID, true, asset.VerifiedByApproval+":"+p.Name, "registered by an admin above the owner")
		if err != nil {
			return err
		}
		*a = v
		c.d.Guard.Invalidate()
	}
	return nil
}

// Update changes an asset after checking the limits; the store turns a
// changed asset back into a claim.
func (c *Claims) Update(ctx context.Context, p auth.Principal, a *asset.Asset) error {
	if err := c.Check(p, a); err != nil {
		return err
	}
	if err := c.d.Store.UpdateAsset(ctx, p, a); err != nil {
		return err
	}
	c.d.Guard.Invalidate()
	return nil
}

// Import imports assets after checking every row against the limits.
func (c *Claims) Import(ctx context.Context, p auth.Principal, rows []store.ImportRow) (store.ImportSummary, error) {
	if err := c.CheckImport(p, rows); err != nil {
		return store.ImportSummary{Rows: len(rows)}, err
	}
	sum, err := c.d.Store.ImportAssets(ctx, p, rows)
	if err == nil {
		c.d.Guard.Invalidate()
	}
	return sum, err
}

func (c *Claims) refresh(ctx context.Context) {
	if err := c.d.Guard.Refresh(ctx); err != nil {
		c.d.Logger.Warn("claims: scope refresh", "err", err)
	}
}

// approver describes p for asset.MayApprove, with its organization's path
// as the tree is now.
func (c *Claims) approver(p auth.Principal) asset.Approver {
	if nationalLevel(p) {
		return asset.Approver{National: true}
	}
	if p.Role != auth.RoleOrgAdmin || p.OrgID <= 0 {
		return asset.Approver{}
	}
	path := c.d.Guard.OrgPath(p.OrgID)
	if path == "" {
		path = p.OrgPath
	}
	return asset.Approver{AdminOf: path}
}

// conflictPaths lists the organizations whose verified assets a overlaps.
func (c *Claims) conflictPaths(a asset.Asset) []string {
	var out []string
	for _, e := range c.d.Guard.Conflicts(a.ID) {
		if e.OrgID == a.OrgID {
			continue
		}
		if path := c.d.Guard.OrgPath(e.OrgID); path != "" {
			out = append(out, path)
		}
	}
	return out
}

// mayDecide is asset.MayApprove for p and the claimed asset a.
func (c *Claims) mayDecide(p auth.Principal, a asset.Asset) error {
	path := c.d.Guard.OrgPath(a.OrgID)
	if path == "" {
		return fmt.Errorf("%w: organization %d unknown to the scope guard", asset.ErrNotApprover, a.OrgID)
	}
	return asset.MayApprove(c.approver(p), a.Kind, path, c.conflictPaths(a))
}

// decisionErr gives a rule's error the store category the faces map.
func decisionErr(err error) error {
	switch {
	case errors.Is(err, asset.ErrOverlap):
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	case errors.Is(err, asset.ErrNotApprover), errors.Is(err, asset.ErrNeedsNational):
		return fmt.Errorf("%w: %w", store.ErrForbidden, err)
	}
	return err
}

// Decide approves or rejects a pending claim p sees.
func (c *Claims) Decide(ctx context.Context, p auth.Principal, id int64, approve bool, reason string) (asset.Asset, error) {
	v, err := c.d.Store.GetClaim(ctx, p, id)
	if err != nil {
		return asset.Asset{}, err
	}
	if v.Asset.State != asset.StateClaimed {
		return asset.Asset{}, fmt.Errorf("%w: %w", store.ErrConflict, asset.ErrNotClaimed)
	}
	c.refresh(ctx)
	if err := c.mayDecide(p, v.Asset); err != nil {
		return asset.Asset{}, decisionErr(err)
	}
	by := asset.VerifiedByApproval + ":" + p.Name
	if nationalLevel(p) {
		by = asset.VerifiedByNational + ":" + p.Name
	}
	a, err := c.d.Store.DecideClaim(ctx, p, id, approve, by, reason)
	if err == nil {
		c.d.Guard.Invalidate()
	}
	return a, err
}

// Verify checks a pending claim's proofs now, for someone who may edit the
// asset. A claim that overlaps another organization's verified asset is
// not verified by a proof: an approver settles it.
func (c *Claims) Verify(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error) {
	a, err := c.d.Store.GetAsset(ctx, p, id)
	if err != nil {
		return a, err
	}
	if !p.Can(auth.PermWriteAssets) {
		return a, fmt.Errorf("%w: verifying a claim needs %s", store.ErrForbidden, auth.PermWriteAssets)
	}
	return c.verify(ctx, a)
}

// ErrNoProver means the platform checks no proofs (none configured).
var ErrNoProver = errors.New("scope: claims: automatic proofs are not configured")

func (c *Claims) verify(ctx context.Context, a asset.Asset) (asset.Asset, error) {
	if a.State != asset.StateClaimed {
		return a, fmt.Errorf("%w: %w", store.ErrConflict, asset.ErrNotClaimed)
	}
	if c.d.Prover == nil {
		return a, fmt.Errorf("%w: %w", store.ErrConflict, ErrNoProver)
	}
	c.refresh(ctx)
	now := c.d.Now()
	if len(c.conflictPaths(a)) > 0 {
		_, err := c.d.Store.RecordProof(ctx, a.ID, a.VerifyToken, "", false, asset.ErrOverlap.Error(), now)
		if err != nil {
			return a, err
		}
		return a, fmt.Errorf("%w: %w: an admin of the organizations' common parent decides", store.ErrConflict, asset.ErrOverlap)
	}
	method, perr := c.d.Prover.Prove(ctx, a)
	result := ""
	if perr != nil {
		result = perr.Error()
	}
	v, err := c.d.Store.RecordProof(ctx, a.ID, a.VerifyToken, method, perr == nil, result, now)
	if err != nil {
		return a, err
	}
	if v.State == asset.StateVerified {
		c.d.Guard.Invalidate()
		c.d.Logger.Info("claims: verified", "asset_id", a.ID, "method", method)
		return v, nil
	}
	return v, fmt.Errorf("%w: %w: %w", store.ErrConflict, ErrNotProven, perr)
}

// ErrNotProven wraps a proof check that found nothing.
var ErrNotProven = errors.New("scope: claims: not proven")

// Pending is a claim as an approver sees it.
type Pending struct {
	store.ClaimView
	Conflict  bool   `json:"conflict"`      // overlaps another organization's verified asset
	MayDecide bool   `json:"may_decide"`    // this principal may approve or reject it
	Why       string `json:"why,omitempty"` // why not, when MayDecide is false
}

// Pending lists the claims p could decide by their place in the tree,
// marking conflicts and whether p may decide each under the full rule.
func (c *Claims) Pending(ctx context.Context, p auth.Principal, f store.ClaimFilter) (store.Page[Pending], error) {
	var out store.Page[Pending]
	page, err := c.d.Store.ListClaims(ctx, p, f)
	if err != nil {
		return out, err
	}
	c.refresh(ctx)
	out.Next = page.Next
	out.Items = make([]Pending, 0, len(page.Items))
	for _, v := range page.Items {
		pd := Pending{ClaimView: v, Conflict: len(c.conflictPaths(v.Asset)) > 0}
		if v.Asset.State == asset.StateClaimed {
			if err := c.mayDecide(p, v.Asset); err != nil {
				pd.Why = err.Error()
			} else {
				pd.MayDecide = true
			}
		}
		out.Items = append(out.Items, pd)
	}
	return out, nil
}

// Detail is what the asset page shows about an asset's ownership.
type Detail struct {
	Asset        asset.Asset  `json:"asset"`
	Claim        *asset.Claim `json:"claim,omitempty"`
	Proof        asset.Proof  `json:"proof"`
	Conflict     bool         `json:"conflict"`
	MayDecide    bool         `json:"may_decide"`
	NationalOnly bool         `json:"national_only"`
}

// Detail returns the claim behind asset id as p sees it. A verified asset
// has no claim.
func (c *Claims) Detail(ctx context.Context, p auth.Principal, id int64) (Detail, error) {
	a, err := c.d.Store.GetAsset(ctx, p, id)
	if err != nil {
		return Detail{}, err
	}
	d := Detail{Asset: a, NationalOnly: asset.NationalOnly(a.Kind)}
	if a.State == asset.StateVerified {
		return d, nil
	}
	v, err := c.d.Store.GetClaim(ctx, p, id)
	if err != nil {
		return d, err
	}
	d.Claim = &v.Claim
	if a.State == asset.StateClaimed {
		d.Proof = asset.ProofFor(a)
		d.Conflict = len(c.conflictPaths(a)) > 0
		d.MayDecide = c.mayDecide(p, a) == nil
	}
	return d, nil
}

// Run checks pending claims' proofs until ctx ends: each claim at most
// once per Recheck, a batch every minute.
func (c *Claims) Run(ctx context.Context) {
	if c.d.Prover == nil {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := c.Tick(ctx); err != nil && ctx.Err() == nil {
			c.d.Logger.Warn("claims: check pending claims", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick checks the proofs of the claims due for a check and returns how
// many it verified.
func (c *Claims) Tick(ctx context.Context) (int, error) {
	due, err := c.d.Store.DueClaims(ctx, c.d.Now().Add(-c.d.Recheck), 50)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range due {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		v, err := c.verify(ctx, a)
		if err == nil && v.State == asset.StateVerified {
			n++
		}
	}
	return n, nil
}
