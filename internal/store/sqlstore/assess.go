package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Campaigns and reminders. Questionnaires, answers and evidence are in
// assess_questionnaire.go.
//
// A campaign is visible to whoever sees its owner organization, and to
// whoever sees one of its targets (an agency must see the campaign it has
// to answer); the latter see only the targets in their own subtree.

var _ store.Assessments = (*Store)(nil)

// frameworkRE and controlRE bound the identifiers the store keeps; the
// framework files (package assess) use the same shapes.
var (
	frameworkRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) })
	controlRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })
)

type campaignRow struct {
	store.Campaign
	ownerPath string
	// targetPaths are the paths of all targets, by ID, for visibility.
	targetPaths map[int64]string
}

// ownedBy reports whether sc governs the campaign (sees its owner).
func (c campaignRow) ownedBy(sc scope) bool { return sc.contains(c.ownerPath) }

// loadCampaign reads one campaign and its targets. A campaign neither
// owned nor targeted inside sc is not found; for a target-only viewer
// Targets keeps those in sc.
func (s *Store) loadCampaign(ctx context.Context, q querier, sc scope, id int64) (campaignRow, error) {
	var c campaignRow
	err := q.QueryRowContext(ctx, s.q(`SELECT c.id, c.owner_org_id, c.framework, c.title, c.deadline, c.created_by, c.created_at, o.path
		FROM assess_campaigns c JOIN orgs o ON o.id = c.owner_org_id WHERE c.id = ?`), id).
		Scan(&c.ID, &c.OwnerOrg, &c.Framework, &c.Title, &c.Deadline, &c.CreatedBy, &c.CreatedAt, &c.ownerPath)
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("campaign", id)
	}
	if err != nil {
		return c, err
	}
	c.Deadline, c.CreatedAt = c.Deadline.UTC(), c.CreatedAt.UTC()
	rows, err := q.QueryContext(ctx, s.q(`SELECT t.org_id, o.path FROM assess_campaign_targets t JOIN orgs o ON o.id = t.org_id
		WHERE t.campaign_id = ? ORDER BY t.org_id`), id)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	c.targetPaths = map[int64]string{}
	owned := c.ownedBy(sc)
	c.Targets = []int64{}
	for rows.Next() {
		var (
			oid  int64
			path string
		)
		if err := rows.Scan(&oid, &path); err != nil {
			return c, err
		}
		c.targetPaths[oid] = path
		if owned || sc.contains(path) {
			c.Targets = append(c.Targets, oid)
		}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	if !owned && len(c.Targets) == 0 {
		return campaignRow{}, notFound("campaign", id)
	}
	return c, nil
}

// CreateCampaign resolves the targets and stores the campaign.
func (s *Store) CreateCampaign(ctx context.Context, p auth.Principal, c *store.Campaign) error {
	const op = "create campaign"
	c.Title = strings.TrimSpace(c.Title)
	c.Framework = strings.TrimSpace(c.Framework)
	switch {
	case !p.Can(auth.PermWriteOrgs):
		return s.fail(op, forbidden("opening a campaign needs "+string(auth.PermWriteOrgs)))
	case c.Title == "" || len(c.Title) > 300:
		return s.fail(op, invalid("campaign title must be 1-300 bytes"))
	case !frameworkRE().MatchString(c.Framework):
		return s.fail(op, invalid("framework %q is not a framework ID", c.Framework))
	case c.Deadline.IsZero():
		return s.fail(op, invalid("campaign deadline is required"))
	case c.TargetRoot != 0 && len(c.TargetOrgIDs) > 0:
		return s.fail(op, invalid("give target organizations as a subtree or a list, not both"))
	}
	for _, k := range c.TargetKinds {
		if !k.Valid() {
			return s.fail(op, invalid("target kind %q is not an organization kind", k))
		}
	}
	if c.OwnerOrg == 0 {
		c.OwnerOrg = p.OrgID
	}
	if c.OwnerOrg == 0 {
		return s.fail(op, invalid("campaign owner organization is required"))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		owner, err := s.loadOrg(ctx, tx, sc, c.OwnerOrg, false)
		if err != nil {
			return err
		}
		targets, err := s.resolveTargets(ctx, tx, sc, owner, c)
		if err != nil {
			return err
		}
		t := now()
		c.Deadline = c.Deadline.UTC().Truncate(time.Microsecond)
		c.CreatedBy, _ = actorOf(p)
		c.CreatedAt = t
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assess_campaigns (owner_org_id, framework, title, deadline, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), c.OwnerOrg, c.Framework, c.Title, c.Deadline, c.CreatedBy, t).Scan(&c.ID)
		if err != nil {
			return err
		}
		stmt := func(n int) string {
			return s.q("INSERT INTO assess_campaign_targets (campaign_id, org_id) VALUES " + placeholders(n, 2))
		}
		err = batches(ctx, tx, targets, stmt, func(st *sql.Stmt, chunk []int64) error {
			args := make([]any, 0, 2*len(chunk))
			for _, id := range chunk {
				args = append(args, c.ID, id)
			}
			_, err := st.ExecContext(ctx, args...)
			return err
		})
		if err != nil {
			return err
		}
		c.Targets = targets
		return s.audit(ctx, tx, p, change{orgID: owner.ID, orgPath: owner.Path, action: "campaign.create", objType: "campaign", objID: c.ID, after: c})
	})
}

// resolveTargets returns the campaign's target IDs in ascending order.
func (s *Store) resolveTargets(ctx context.Context, tx *sql.Tx, sc scope, owner org.Organization, c *store.Campaign) ([]int64, error) {
	var out []int64
	if len(c.TargetOrgIDs) > 0 {
		seen := map[int64]bool{}
		for _, id := range c.TargetOrgIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			o, err := s.loadOrg(ctx, tx, sc, id, false)
			if err != nil {
				return nil, err
			}
			if !org.InSubtree(o.Path, owner.Path) {
				return nil, invalid("target %s is outside the owner's subtree", o.Code)
			}
			out = append(out, id)
		}
		slices.Sort(out)
		return out, nil
	}
	root := owner
	if c.TargetRoot != 0 {
		var err error
		if root, err = s.loadOrg(ctx, tx, sc, c.TargetRoot, false); err != nil {
			return nil, err
		}
		if !org.InSubtree(root.Path, owner.Path) {
			return nil, invalid("target root %s is outside the owner's subtree", root.Code)
		}
	}
	var w where
	cond, args := subtreeRange("path", root.Path)
	w.add(cond, args...)
	if len(c.TargetKinds) > 0 {
		w.add("kind IN ("+placeholders(len(c.TargetKinds), 1)+")", kindArgs(c.TargetKinds)...)
	}
	rows, err := tx.QueryContext(ctx, s.q("SELECT id FROM orgs"+w.String()+" ORDER BY id"), w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, invalid("the campaign has no target organization")
	}
	return out, nil
}

func kindArgs(ks []org.Kind) []any {
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}

// GetCampaign returns one visible campaign with its targets.
func (s *Store) GetCampaign(ctx context.Context, p auth.Principal, id int64) (store.Campaign, error) {
	const op = "get campaign"
	if err := needRead(p); err != nil {
		return store.Campaign{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.Campaign{}, s.fail(op, err)
	}
	c, err := s.loadCampaign(ctx, s.r, sc, id)
	return c.Campaign, s.fail(op, err)
}

// ListCampaigns lists visible campaigns newest first (keyset on
// descending id), without their targets.
func (s *Store) ListCampaigns(ctx context.Context, p auth.Principal, f store.CampaignFilter) (store.Page[store.Campaign], error) {
	const op = "list campaigns"
	var page store.Page[store.Campaign]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	switch {
	case sc.none():
		w.add("1 = 0")
	case !sc.all:
		cond, args := sc.cond("o.path")
		tcond, targs := sc.cond("ot.path")
		w.add("(("+cond+") OR EXISTS (SELECT 1 FROM assess_campaign_targets t JOIN orgs ot ON ot.id = t.org_id WHERE t.campaign_id = c.id AND "+tcond+"))",
			append(args, targs...)...)
	}
	if f.Framework != "" {
		w.add("c.framework = ?", f.Framework)
	}
	if after > 0 {
		w.add("c.id < ?", after)
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT c.id, c.owner_org_id, c.framework, c.title, c.deadline, c.created_by, c.created_at
		FROM assess_campaigns c JOIN orgs o ON o.id = c.owner_org_id`+w.String()+" ORDER BY c.id DESC LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	defer rows.Close()
	var items []store.Campaign
	for rows.Next() {
		var c store.Campaign
		if err := rows.Scan(&c.ID, &c.OwnerOrg, &c.Framework, &c.Title, &c.Deadline, &c.CreatedBy, &c.CreatedAt); err != nil {
			return page, s.fail(op, err)
		}
		c.Deadline, c.CreatedAt = c.Deadline.UTC(), c.CreatedAt.UTC()
		items = append(items, c)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(c store.Campaign) int64 { return c.ID }), nil
}

// CampaignStatus returns where each target in the caller's subtree stands.
func (s *Store) CampaignStatus(ctx context.Context, p auth.Principal, campaignID int64) ([]store.TargetStatus, error) {
	const op = "campaign status"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	if _, err := s.loadCampaign(ctx, s.r, sc, campaignID); err != nil {
		return nil, s.fail(op, err)
	}
	cond, args := sc.cond("o.path")
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT t.org_id, a.id, a.state, a.submitted_at, a.updated_at,
			(SELECT COUNT(*) FROM assessment_answers x WHERE x.assessment_id = a.id)
		FROM assess_campaign_targets t JOIN orgs o ON o.id = t.org_id
		LEFT JOIN assessments a ON a.campaign_id = t.campaign_id AND a.org_id = t.org_id
		WHERE t.campaign_id = ? AND `+cond+" ORDER BY t.org_id"), append([]any{campaignID}, args...)...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []store.TargetStatus{}
	for rows.Next() {
		var (
			ts           store.TargetStatus
			aid          sql.NullInt64
			state        sql.NullString
			sub, updated sql.NullTime
		)
		if err := rows.Scan(&ts.OrgID, &aid, &state, &sub, &updated, &ts.Answered); err != nil {
			return nil, s.fail(op, err)
		}
		ts.AssessmentID = aid.Int64
		ts.State = store.AssessmentState(state.String)
		ts.SubmittedAt, ts.UpdatedAt = timePtr(sub), timePtr(updated)
		out = append(out, ts)
	}
	return out, s.fail(op, rows.Err())
}

// RecordReminder stores a reminder of some of a campaign's targets.
func (s *Store) RecordReminder(ctx context.Context, p auth.Principal, r *store.Reminder) error {
	const op = "record reminder"
	if !p.Can(auth.PermWriteOrgs) {
		return s.fail(op, forbidden("reminding needs "+string(auth.PermWriteOrgs)))
	}
	if len(r.Error) > 2000 {
		r.Error = r.Error[:2000]
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		c, err := s.loadCampaign(ctx, tx, sc, r.CampaignID)
		if err != nil {
			return err
		}
		if !c.ownedBy(sc) {
			return forbidden("only the campaign's owner reminds its targets")
		}
		for _, id := range r.OrgIDs {
			if _, ok := c.targetPaths[id]; !ok {
				return invalid("organization %d is not a target of campaign %d", id, c.ID)
			}
		}
		if r.OrgIDs == nil {
			r.OrgIDs = []int64{}
		}
		if r.At.IsZero() {
			r.At = now()
		}
		r.At = r.At.UTC().Truncate(time.Microsecond)
		r.Actor, _ = actorOf(p)
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assess_reminders (campaign_id, at, actor, org_ids, error) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			r.CampaignID, r.At, r.Actor, mustJSON(r.OrgIDs), r.Error).Scan(&r.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: c.OwnerOrg, orgPath: c.ownerPath, action: "campaign.remind", objType: "campaign", objID: c.ID, after: r})
	})
}

// ListReminders returns a campaign's reminders oldest first; a viewer who
// sees only some targets sees only those in each reminder.
func (s *Store) ListReminders(ctx context.Context, p auth.Principal, campaignID int64) ([]store.Reminder, error) {
	const op = "list reminders"
	if err := needRead(p); err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	c, err := s.loadCampaign(ctx, s.r, sc, campaignID)
	if err != nil {
		return nil, s.fail(op, err)
	}
	owned := c.ownedBy(sc)
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, campaign_id, at, actor, org_ids, error FROM assess_reminders WHERE campaign_id = ? ORDER BY id`), campaignID)
	if err != nil {
		return nil, s.fail(op, err)
	}
	defer rows.Close()
	out := []store.Reminder{}
	for rows.Next() {
		var (
			r   store.Reminder
			ids string
		)
		if err := rows.Scan(&r.ID, &r.CampaignID, &r.At, &r.Actor, &ids, &r.Error); err != nil {
			return nil, s.fail(op, err)
		}
		r.At = r.At.UTC()
		if err := json.Unmarshal([]byte(ids), &r.OrgIDs); err != nil {
			return nil, s.fail(op, err)
		}
		if !owned {
			r.OrgIDs = slices.DeleteFunc(r.OrgIDs, func(id int64) bool { return !sc.contains(c.targetPaths[id]) })
			if len(r.OrgIDs) == 0 {
				continue
			}
			r.Error = ""
		}
		out = append(out, r)
	}
	return out, s.fail(op, rows.Err())
}
