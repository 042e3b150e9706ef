// Package assess runs self-assessments: control frameworks are data (YAML
// files, the baseline one shipped in frameworks/, a national one loaded
// beside it from a directory), organizations answer questionnaires with
// comments and evidence files, the automatic evidence of Rampart's own
// scans is shown beside each control, and campaigns ask many
// organizations at once, remind the late ones and give the synthesis
// rolled up the hierarchy.
//
// It builds on the store contracts (store.Assessments for questionnaires
// and campaigns, store.Findings for automatic evidence); it does not send
// mail itself: reminders go through the Reminders interface, which the
// notifier implements.
package assess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Store is what the service needs from the store.
type Store interface {
	store.Orgs
	store.Assets
	store.Findings
	store.Assessments
}

// Reminders delivers campaign reminders to the contacts of the given
// organizations (package notify implements it).
type Reminders interface {
	Remind(ctx context.Context, orgIDs []int64, c store.Campaign) error
}

// Service runs assessments over a store and a framework catalog.
type Service struct {
	Store      Store
	Frameworks *Catalog
	Reminders  Reminders        // nil: reminders are recorded but sent nowhere
	Now        func() time.Time // nil: time.Now
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) framework(id string) (*Framework, error) {
	f, ok := s.Frameworks.Get(id)
	if !ok {
		return nil, fmt.Errorf("%w: framework %q", ErrUnknown, id)
	}
	return f, nil
}

// OpenCampaign checks that the framework exists and opens the campaign.
func (s *Service) OpenCampaign(ctx context.Context, p auth.Principal, c *store.Campaign) error {
	if _, err := s.framework(c.Framework); err != nil {
		return err
	}
	return s.Store.CreateCampaign(ctx, p, c)
}

// Start returns (creating if needed) the questionnaire of an organization
// for a framework and campaign (0: none). The level comes from the
// registry: the highest security level among the organization's own
// assets (1 when it has none). Only the national level (platform
// administrators, analysts) may set a lower level; an organization may
// hold itself to a higher level than its registry's, never a lower one
// (security review F9: a target lowering its own level to answer fewer
// controls and show full compliance in the national synthesis).
func (s *Service) Start(ctx context.Context, p auth.Principal, orgID int64, frameworkID string, campaignID int64, level int) (store.Assessment, error) {
	if _, err := s.framework(frameworkID); err != nil {
		return store.Assessment{}, err
	}
	registry, err := s.orgLevel(ctx, auth.SystemPrincipal, orgID)
	if err != nil {
		return store.Assessment{}, err
	}
	switch {
	case level == 0:
		level = registry
	case level < registry:
		above, err := s.above(ctx, p, orgID)
		if err != nil {
			return store.Assessment{}, err
		}
		if above {
			break
		}
		return store.Assessment{}, fmt.Errorf("%w: level %d is below the organization's registry level (%d); only the national level sets a lower one", store.ErrInvalid, level, registry)
	}
	a, _, err := s.Store.OpenAssessment(ctx, p, store.Assessment{OrgID: orgID, Framework: frameworkID, CampaignID: campaignID, Level: level})
	return a, err
}

// above reports whether p speaks for a level above the organization: the
// national level (platform administrators, analysts) or an administrator
// of an organization above it.
func (s *Service) above(ctx context.Context, p auth.Principal, orgID int64) (bool, error) {
	if p.System || p.Role.Global() {
		return true, nil
	}
	if p.Role != auth.RoleOrgAdmin {
		return false, nil
	}
	mine, err := s.Store.GetOrg(ctx, auth.SystemPrincipal, p.OrgID)
	if err != nil {
		return false, err
	}
	theirs, err := s.Store.GetOrg(ctx, auth.SystemPrincipal, orgID)
	if err != nil {
		return false, err
	}
	return theirs.Path != mine.Path && strings.HasPrefix(theirs.Path, mine.Path), nil
}

func (s *Service) orgLevel(ctx context.Context, p auth.Principal, orgID int64) (int, error) {
	level := 1
	f := store.AssetFilter{OrgID: orgID, PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := s.Store.ListAssets(ctx, p, f)
		if err != nil {
			return 0, err
		}
		for _, a := range page.Items {
			level = max(level, min(int(a.SecurityLevel), 5))
		}
		if page.Next == "" {
			return level, nil
		}
		f.After = page.Next
	}
}

// Answer saves answers after checking that each control exists in the
// questionnaire's framework and applies at its level.
func (s *Service) Answer(ctx context.Context, p auth.Principal, assessmentID int64, answers []store.ControlAnswer) error {
	a, err := s.Store.GetAssessment(ctx, p, assessmentID)
	if err != nil {
		return err
	}
	f, err := s.framework(a.Framework)
	if err != nil {
		return err
	}
	for _, ans := range answers {
		c, ok := f.Control(strings.TrimSpace(ans.ControlID))
		if !ok {
			return fmt.Errorf("%w: control %q is not in framework %s", ErrUnknown, ans.ControlID, f.ID)
		}
		if !c.AppliesAt(a.Level) {
			return fmt.Errorf("%w: control %s does not apply at level %d", store.ErrInvalid, c.ID, a.Level)
		}
	}
	return s.Store.SaveAnswers(ctx, p, assessmentID, answers)
}

// Item is one control of a questionnaire with its answer, the evidence
// files and the automatic evidence.
type Item struct {
	Control  Control              `json:"control"`
	Answer   *store.ControlAnswer `json:"answer,omitempty"`
	Files    []store.EvidenceFile `json:"files,omitempty"`
	Findings []store.Finding      `json:"findings,omitempty"` // open findings of the mapped checks, at most MaxFindingsPerControl
	Open     int                  `json:"open"`               // all open findings of the mapped checks
}

// MaxFindingsPerControl caps the findings listed beside one control.
const MaxFindingsPerControl = 20

// Questionnaire is an assessment as its organization fills it in.
type Questionnaire struct {
	Assessment store.Assessment `json:"assessment"`
	Framework  *Framework       `json:"-"`
	Items      []Item           `json:"items"`
}

// Questionnaire returns the controls that apply at the assessment's level,
// each with its answer, files and the open findings in the organization's
// subtree whose checks evidence it.
func (s *Service) Questionnaire(ctx context.Context, p auth.Principal, assessmentID int64) (*Questionnaire, error) {
	a, err := s.Store.GetAssessment(ctx, p, assessmentID)
	if err != nil {
		return nil, err
	}
	f, err := s.framework(a.Framework)
	if err != nil {
		return nil, err
	}
	q := &Questionnaire{Assessment: a, Framework: f}
	for _, c := range f.ControlsAt(a.Level) {
		it := Item{Control: c}
		for i := range a.Answers {
			if a.Answers[i].ControlID == c.ID {
				it.Answer = &a.Answers[i]
			}
		}
		for _, e := range a.Evidence {
			if e.ControlID == c.ID {
				it.Files = append(it.Files, e)
			}
		}
		q.Items = append(q.Items, it)
	}
	err = eachFinding(ctx, s.Store, p, store.FindingFilter{OrgID: a.OrgID, Active: true}, func(fd store.Finding) error {
		for i := range q.Items {
			it := &q.Items[i]
			if it.Control.Evidences(fd.Check) {
				it.Open++
				if len(it.Findings) < MaxFindingsPerControl {
					it.Findings = append(it.Findings, fd)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// eachFinding pages through a findings listing.
func eachFinding(ctx context.Context, st store.Findings, p auth.Principal, f store.FindingFilter, fn func(store.Finding) error) error {
	f.Limit = store.MaxLimit
	for {
		page, err := st.ListFindings(ctx, p, f)
		if err != nil {
			return err
		}
		for _, fd := range page.Items {
			if err := fn(fd); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		f.After = page.Next
	}
}

// Pending returns the targets of a campaign (in the caller's subtree)
// that have not submitted, in ID order.
func (s *Service) Pending(ctx context.Context, p auth.Principal, campaignID int64) ([]int64, error) {
	st, err := s.Store.CampaignStatus(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, t := range st {
		if !t.Submitted() {
			out = append(out, t.OrgID)
		}
	}
	return out, nil
}

// ErrNothingPending is returned by Remind when every target has submitted.
var ErrNothingPending = errors.New("assess: every target has submitted")

// Remind sends a reminder to the targets that have not submitted and
// records it (with the notifier's error, if any, which it also returns).
func (s *Service) Remind(ctx context.Context, p auth.Principal, campaignID int64) (store.Reminder, error) {
	c, err := s.Store.GetCampaign(ctx, p, campaignID)
	if err != nil {
		return store.Reminder{}, err
	}
	// The store refuses to record a reminder by anyone but the campaign's
	// owner; ask the same before anything is sent.
	if !p.Can(auth.PermWriteOrgs) {
		return store.Reminder{}, fmt.Errorf("assess: remind: %w: reminding needs %s", store.ErrForbidden, auth.PermWriteOrgs)
	}
	if _, err := s.Store.GetOrg(ctx, p, c.OwnerOrg); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.Reminder{}, fmt.Errorf("assess: remind: %w: only the campaign's owner reminds its targets", store.ErrForbidden)
		}
		return store.Reminder{}, err
	}
	pending, err := s.Pending(ctx, p, campaignID)
	if err != nil {
		return store.Reminder{}, err
	}
	if len(pending) == 0 {
		return store.Reminder{}, ErrNothingPending
	}
	r := store.Reminder{CampaignID: c.ID, OrgIDs: pending, At: s.now()}
	var sendErr error
	if s.Reminders != nil {
		if sendErr = s.Reminders.Remind(ctx, slices.Clone(pending), c); sendErr != nil {
			r.Error = sendErr.Error()
		}
	}
	if err := s.Store.RecordReminder(ctx, p, &r); err != nil {
		return r, errors.Join(sendErr, err)
	}
	if sendErr != nil {
		return r, fmt.Errorf("assess: remind campaign %d: %w", c.ID, sendErr)
	}
	return r, nil
}
