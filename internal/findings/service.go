package findings

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Sentinel errors.
var (
	// ErrNoScanner means scanning is not enabled in this process.
	ErrNoScanner = errors.New("findings: scanning is not enabled on this server")
	// ErrBadRequest means a request is malformed as a whole (names
	// neither or both of an asset and an organization, too many findings).
	ErrBadRequest = errors.New("findings: bad request")
)

// Store is what the service reads and writes: the store's contracts.
type Store interface {
	RecordFindings(ctx context.Context, b finding.Batch) ([]finding.Change, error)
	GetFinding(ctx context.Context, p auth.Principal, id int64) (finding.Finding, error)
	TransitionFinding(ctx context.Context, p auth.Principal, id int64, t finding.Transition) (finding.Finding, error)
	GetAsset(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error)
	ListAssets(ctx context.Context, p auth.Principal, f store.AssetFilter) (store.Page[asset.Asset], error)
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
	GetScanPolicy(ctx context.Context, p auth.Principal, orgID int64) (store.ScanPolicy, error)
	GetAssetScanProfile(ctx context.Context, p auth.Principal, assetID int64) (store.ScanProfile, error)
	CreateScanJob(ctx context.Context, p auth.Principal, j *store.ScanJob) error
	RecordScan(ctx context.Context, r store.ScanReport) error
}

// Scheduler builds scan jobs and queues them (the scan scheduler).
type Scheduler interface {
	Job(a asset.Asset, pol store.ScanPolicy, reason, by string, now time.Time) (store.ScanJob, error)
	Queue(ctx context.Context, j *store.ScanJob) error
}

// Scope finds the registered owner of an address or name.
type Scope interface {
	// LookupFor answers as principal p sees the registry: an owner
	// outside p's subtree is out of scope.
	LookupFor(p auth.Principal, target string) (asset.Match, error)
}

// Deps are the service's collaborators. Store is required; Scheduler
// (scans) and Scope (imports) may be nil where a process has none.
type Deps struct {
	Store     Store
	Scheduler Scheduler
	Scope     Scope
	// Policy gives new findings their due dates; zero uses
	// finding.DefaultPolicy.
	Policy finding.Policy
	// PlatformCheck reports whether the platform's own checks look for
	// what an imported result reports (a rule or CVE), so the service asks
	// for a verification scan of its asset. Nil: never.
	PlatformCheck func(ruleID string, cves []string) bool
	// Expiry overrides DefaultExpiry: days per source closed by expiry.
	Expiry map[finding.Source]int
	// KindExpiry overrides DefaultKindExpiry and the source's days: days
	// per finding kind ("intel.exposed-service").
	KindExpiry map[string]int
	// ManualJobsPerHour is each organization's quota of manual scan
	// jobs; 0 uses DefaultManualJobsPerHour.
	ManualJobsPerHour int
	Now               func() time.Time
	Logger            *slog.Logger
}

// Service is the findings service. Create it with New; it is safe for
// concurrent use.
type Service struct {
	d     Deps
	quota *quotas
}

// New returns a service.
func New(d Deps) *Service {
	if d.Policy == (finding.Policy{}) {
		d.Policy = finding.DefaultPolicy
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.ManualJobsPerHour <= 0 {
		d.ManualJobsPerHour = DefaultManualJobsPerHour
	}
	return &Service{d: d, quota: &quotas{perHour: float64(d.ManualJobsPerHour), buckets: map[int64]*bucket{}}}
}

// Policy is the due-date policy new findings get.
func (s *Service) Policy() finding.Policy { return s.d.Policy }

// ScanningEnabled reports whether RequestScan and verification scans can
// run.
func (s *Service) ScanningEnabled() bool { return s.d.Scheduler != nil }

// Record applies what one source reported (see finding.Reconcile) and
// returns the changes; their events are already in the store's outbox.
// Sources call it as the platform: tenancy is theirs to have checked.
func (s *Service) Record(ctx context.Context, b finding.Batch) ([]finding.Change, error) {
	if b.Policy == (finding.Policy{}) {
		b.Policy = s.d.Policy
	}
	if b.At.IsZero() {
		b.At = s.d.Now()
	}
	return s.d.Store.RecordFindings(ctx, b)
}

// May reports whether p may take action a on findings at all (the store
// then checks that the finding is in p's subtree). It is the one place
// that says who may do which transition.
func May(p auth.Principal, a finding.Action) error {
	if !finding.PersonAction(a) {
		return fmt.Errorf("%w: action %s is a source's own", finding.ErrInvalid, a)
	}
	if !p.Can(auth.PermTriage) {
		return fmt.Errorf("%w: changing a finding needs %s", store.ErrForbidden, auth.PermTriage)
	}
	return nil
}

// Transition applies a person's action to one finding. Asking for
// verification ("I fixed it") also queues a verification scan of the
// finding's asset, when the finding is a scan's and scanning is enabled.
//
// Obligations cannot be waived by those who carry them: accepting a risk
// or marking a false positive is a request (finding.Waiver) unless p
// decides for the finding's organization (MayDecide); the approver is
// always the person who decides, never free text.
func (s *Service) Transition(ctx context.Context, p auth.Principal, id int64, t finding.Transition) (finding.Finding, error) {
	if err := May(p, t.Action); err != nil {
		return finding.Finding{}, err
	}
	s.stamp(p, &t)
	if err := s.waiverRules(ctx, p, id, &t); err != nil {
		return finding.Finding{}, err
	}
	f, err := s.d.Store.TransitionFinding(ctx, p, id, t)
	if err != nil {
		return finding.Finding{}, err
	}
	if t.Action == finding.ActionRequestVerify && (f.Source == "" || f.Source == finding.SourceScan) {
		// In a blackout the verification waits for the next scheduled scan:
		// the request is recorded on the finding.
		if _, err := s.verify(ctx, p, f.AssetID); err != nil && !errors.Is(err, ErrBlackout) {
			return f, err
		}
	}
	return f, nil
}

// MaxBulk bounds one TransitionMany.
const MaxBulk = 500

// BulkResult says what TransitionMany did to each finding.
type BulkResult struct {
	Done   []finding.Finding
	Failed map[int64]error // refused findings and why (not found, not allowed …)
}

// TransitionMany applies one action to each finding on its own: the
// refused ones are reported, the others keep their change. A verification
// request queues one scan per asset. An error is returned only for the
// request as a whole (not allowed, too many) or an outage.
func (s *Service) TransitionMany(ctx context.Context, p auth.Principal, ids []int64, t finding.Transition) (BulkResult, error) {
	res := BulkResult{Failed: map[int64]error{}}
	if err := May(p, t.Action); err != nil {
		return res, err
	}
	if len(ids) > MaxBulk {
		return res, fmt.Errorf("%w: at most %d findings at once", ErrBadRequest, MaxBulk)
	}
	s.stamp(p, &t)
	verified := map[int64]bool{}
	for _, id := range ids {
		t := t
		if err := s.waiverRules(ctx, p, id, &t); err != nil {
			if !refusal(err) {
				return res, err
			}
			res.Failed[id] = err
			continue
		}
		f, err := s.d.Store.TransitionFinding(ctx, p, id, t)
		if err != nil {
			if !refusal(err) {
				return res, err
			}
			res.Failed[id] = err
			continue
		}
		res.Done = append(res.Done, f)
		if t.Action == finding.ActionRequestVerify && (f.Source == "" || f.Source == finding.SourceScan) && !verified[f.AssetID] {
			verified[f.AssetID] = true
			if _, err := s.verify(ctx, p, f.AssetID); err != nil {
				res.Failed[id] = err
			}
		}
	}
	return res, nil
}

// refusal reports whether err refuses one finding rather than the request.
func refusal(err error) bool {
	for _, e := range []error{store.ErrNotFound, store.ErrForbidden, store.ErrConflict, store.ErrInvalid, finding.ErrTransition, finding.ErrInvalid, ErrNoScanner} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// MayDecide reports whether p decides waivers (risk acceptances, false
// positives) of the organization at orgPath: the national level (platform
// admins, analysts) and the administrators of an organization above it.
// An organization's own members, its own administrators included, only
// ask. myPath is p's organization's current path.
func MayDecide(p auth.Principal, myPath, orgPath string) bool {
	switch {
	case p.System, p.Role == auth.RolePlatformAdmin, p.Role == auth.RoleAnalyst:
		return true
	case p.Role != auth.RoleOrgAdmin || myPath == "" || orgPath == myPath:
		return false
	}
	return strings.HasPrefix(orgPath, myPath)
}

// waiverRules turns a waiver by someone who may not decide it into a
// request, stamps the decider as the approver, and refuses approve and
// reject to those who may not decide.
func (s *Service) waiverRules(ctx context.Context, p auth.Principal, id int64, t *finding.Transition) error {
	switch t.Action {
	case finding.ActionAcceptRisk, finding.ActionFalsePositive, finding.ActionApprove, finding.ActionReject:
	default:
		return nil
	}
	f, err := s.d.Store.GetFinding(ctx, p, id)
	if err != nil {
		return err
	}
	decides, err := s.decides(ctx, p, f.OrgID)
	if err != nil {
		return err
	}
	switch {
	case t.Action == finding.ActionApprove || t.Action == finding.ActionReject:
		if !decides {
			return fmt.Errorf("%w: an administrator of an organization above (or the national level) decides this", store.ErrForbidden)
		}
	case decides:
		t.Approve, t.Request = p.Name, false
	default:
		t.Approve, t.Request = "", true
	}
	return nil
}

// decides reports MayDecide for the organization orgID, with both paths
// read fresh from the store.
func (s *Service) decides(ctx context.Context, p auth.Principal, orgID int64) (bool, error) {
	if p.System || p.Role.Global() {
		return true, nil
	}
	if p.Role != auth.RoleOrgAdmin {
		return false, nil
	}
	mine, err := s.d.Store.GetOrg(ctx, auth.SystemPrincipal, p.OrgID)
	if err != nil {
		return false, err
	}
	theirs, err := s.d.Store.GetOrg(ctx, auth.SystemPrincipal, orgID)
	if err != nil {
		return false, err
	}
	return MayDecide(p, mine.Path, theirs.Path), nil
}

func (s *Service) stamp(p auth.Principal, t *finding.Transition) {
	if t.At.IsZero() {
		t.At = s.d.Now()
	}
	if t.By == "" {
		t.By = p.Name
	}
	if t.ByRole == "" {
		t.ByRole = string(p.Role)
	}
	t.Reason, t.Approve = strings.TrimSpace(t.Reason), strings.TrimSpace(t.Approve)
}

// verify queues a "verify" scan of an asset. The person may triage the
// finding but not necessarily request scans, so the platform stores and
// queues the job on their behalf.
func (s *Service) verify(ctx context.Context, p auth.Principal, assetID int64) (store.ScanJob, error) {
	if s.d.Scheduler == nil {
		return store.ScanJob{}, ErrNoScanner
	}
	a, err := s.d.Store.GetAsset(ctx, auth.SystemPrincipal, assetID)
	if err != nil {
		return store.ScanJob{}, err
	}
	return s.queue(ctx, auth.SystemPrincipal, a, "verify", p.Name, nil)
}

// queue builds and queues one job for a; pols caches scan policies.
func (s *Service) queue(ctx context.Context, p auth.Principal, a asset.Asset, reason, by string, pols map[int64]store.ScanPolicy) (store.ScanJob, error) {
	j, err := s.job(ctx, p, a, reason, by, pols)
	if err != nil {
		return store.ScanJob{}, err
	}
	return j, s.enqueue(ctx, p, &j)
}

// job builds the scan job of a without queuing it.
func (s *Service) job(ctx context.Context, p auth.Principal, a asset.Asset, reason, by string, pols map[int64]store.ScanPolicy) (store.ScanJob, error) {
	pol, ok := pols[a.OrgID]
	if !ok {
		var err error
		if pol, err = s.d.Store.GetScanPolicy(ctx, p, a.OrgID); err != nil {
			return store.ScanJob{}, err
		}
		if pols != nil {
			pols[a.OrgID] = pol
		}
	}
	if err := s.inBlackout(pol); err != nil {
		return store.ScanJob{}, err
	}
	// The asset's scan profile overrides its organization's policy. It is
	// read as the platform: whoever may scan the asset gets its profile.
	prof, err := s.d.Store.GetAssetScanProfile(ctx, auth.SystemPrincipal, a.ID)
	if err != nil {
		return store.ScanJob{}, err
	}
	return s.d.Scheduler.Job(a, pol.ForAsset(prof), reason, by, s.d.Now())
}

// enqueue stores and publishes a built job.
func (s *Service) enqueue(ctx context.Context, p auth.Principal, j *store.ScanJob) error {
	if err := s.d.Store.CreateScanJob(ctx, p, j); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return s.d.Scheduler.Queue(ctx, j)
}

// ScanRequest asks for a manual scan of one asset or of every asset of one
// organization (not its subtree). Exactly one is set.
type ScanRequest struct {
	AssetID int64
	OrgID   int64
	// IdempotencyKey, when set, makes a retry of the same request (same
	// requester, same key) return the jobs the first attempt stored
	// instead of creating new ones (see keyedJobID).
	IdempotencyKey string
}

// MaxOrgScan bounds the jobs one "scan this organization" creates.
const MaxOrgScan = 10000

// RequestScan queues a manual scan. It needs auth.PermWriteAssets in the
// asset's subtree. ASN assets put no address in scope and are skipped.
func (s *Service) RequestScan(ctx context.Context, p auth.Principal, req ScanRequest) ([]store.ScanJob, error) {
	if s.d.Scheduler == nil {
		return nil, ErrNoScanner
	}
	if (req.AssetID == 0) == (req.OrgID == 0) {
		return nil, fmt.Errorf("%w: give exactly one of asset_id and org_id", ErrBadRequest)
	}
	if !p.Can(auth.PermWriteAssets) {
		return nil, fmt.Errorf("%w: your role may not request scans", store.ErrForbidden)
	}
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return nil, err
	}
	var assets []asset.Asset
	if req.AssetID != 0 {
		a, err := s.d.Store.GetAsset(ctx, p, req.AssetID)
		if err != nil {
			return nil, err
		}
		if !a.Verified() {
			return nil, fmt.Errorf("%w: asset %d: %w", store.ErrConflict, a.ID, asset.ErrNotVerified)
		}
		assets = append(assets, a)
	} else {
		if _, err := s.d.Store.GetOrg(ctx, p, req.OrgID); err != nil {
			return nil, err
		}
		f := store.AssetFilter{OrgID: req.OrgID, PageRequest: store.PageRequest{Limit: store.MaxLimit}}
		for {
			page, err := s.d.Store.ListAssets(ctx, p, f)
			if err != nil {
				return nil, err
			}
			assets = append(assets, page.Items...)
			if page.Next == "" || len(assets) >= MaxOrgScan {
				break
			}
			f.After = page.Next
		}
	}
	// An asset with a job already queued or running gets that job back,
	// not a second scan (F11).
	ids := map[int64]bool{}
	for _, a := range assets {
		ids[a.ID] = true
	}
	jf := store.JobFilter{AssetID: req.AssetID, OrgID: req.OrgID}
	if req.AssetID != 0 {
		jf.OrgID = 0
	}
	active, err := s.activeJobs(ctx, jf, ids)
	if err != nil {
		return nil, err
	}
	// Build every job before queuing any (F25): an asset that cannot be
	// scanned refuses the whole request instead of leaving it half done.
	// Claims not yet verified are skipped: they are out of scope.
	var planned, waiting []store.ScanJob
	pols := map[int64]store.ScanPolicy{}
	for _, a := range assets {
		if a.Kind == asset.KindASN || !a.Verified() {
			continue
		}
		if j, ok := active[a.ID]; ok {
			waiting = append(waiting, j)
			continue
		}
		j, err := s.job(ctx, p, a, "manual", p.Name, pols)
		if err != nil {
			return nil, err
		}
		if req.IdempotencyKey != "" {
			j.ID = keyedJobID(j, p, req.IdempotencyKey)
		}
		planned = append(planned, j)
	}
	if len(planned) > 0 && !s.quota.take(planned[0].OrgID, len(planned), s.d.Now()) {
		return nil, fmt.Errorf("%w (%d jobs an hour)", ErrQuota, s.d.ManualJobsPerHour)
	}
	jobs := append([]store.ScanJob{}, waiting...)
	for _, j := range planned {
		if err := s.enqueue(ctx, p, &j); err != nil {
			return jobs, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}
