package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Questionnaires: one per organization, framework and campaign. Tenancy
// follows the assessed organization's path.

const assessmentCols = "a.id, a.org_id, a.framework, a.campaign_id, a.level, a.state, a.submitted_at, a.submitted_by, a.created_at, a.updated_at"

type assessmentRow struct {
	store.Assessment
	path string // the organization's path
}

func scanAssessment(sc scanner, extra ...any) (assessmentRow, error) {
	var (
		r     assessmentRow
		a     = &r.Assessment
		state string
		sub   sql.NullTime
	)
	dest := append([]any{&a.ID, &a.OrgID, &a.Framework, &a.CampaignID, &a.Level, &state, &sub, &a.SubmittedBy, &a.CreatedAt, &a.UpdatedAt}, extra...)
	err := sc.Scan(dest...)
	a.State = store.AssessmentState(state)
	a.SubmittedAt = timePtr(sub)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return r, err
}

func (s *Store) loadAssessment(ctx context.Context, q querier, sc scope, id int64, lock bool) (assessmentRow, error) {
	query := "SELECT " + assessmentCols + ", o.path FROM assessments a JOIN orgs o ON o.id = a.org_id WHERE a.id = ?"
	if lock {
		query += s.d.forUpdate()
	}
	var path string
	r, err := scanAssessment(q.QueryRowContext(ctx, s.q(query), id), &path)
	r.path = path
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(path)) {
		return assessmentRow{}, notFound("assessment", id)
	}
	return r, err
}

// fillAssessments adds answers and evidence metadata to as, which are the
// rows of the query "SELECT a.id FROM assessments a ..." given by sub and
// args.
func (s *Store) fillAssessments(ctx context.Context, q querier, as []store.Assessment, sub string, args []any) error {
	if len(as) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(as))
	for i, a := range as {
		idx[a.ID] = i
		as[i].Answers = []store.ControlAnswer{}
		as[i].Evidence = []store.EvidenceFile{}
	}
	rows, err := q.QueryContext(ctx, s.q(`SELECT x.assessment_id, x.control_id, x.answer, x.comment, x.updated_by, x.updated_at
		FROM assessment_answers x WHERE x.assessment_id IN (`+sub+`) ORDER BY x.assessment_id, x.control_id`), args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			aid int64
			ca  store.ControlAnswer
			ans string
		)
		if err := rows.Scan(&aid, &ca.ControlID, &ans, &ca.Comment, &ca.UpdatedBy, &ca.UpdatedAt); err != nil {
			rows.Close()
			return err
		}
		ca.Answer, ca.UpdatedAt = store.Answer(ans), ca.UpdatedAt.UTC()
		if i, ok := idx[aid]; ok {
			as[i].Answers = append(as[i].Answers, ca)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, s.q(`SELECT e.id, e.assessment_id, e.control_id, e.name, e.content_type, e.size, e.sha256, e.uploaded_by, e.uploaded_at
		FROM assessment_evidence e WHERE e.assessment_id IN (`+sub+`) ORDER BY e.assessment_id, e.id`), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEvidenceMeta(rows)
		if err != nil {
			return err
		}
		if i, ok := idx[e.AssessmentID]; ok {
			as[i].Evidence = append(as[i].Evidence, e)
		}
	}
	return rows.Err()
}

func scanEvidenceMeta(sc scanner, extra ...any) (store.EvidenceFile, error) {
	var e store.EvidenceFile
	err := sc.Scan(append([]any{&e.ID, &e.AssessmentID, &e.ControlID, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.UploadedBy, &e.UploadedAt}, extra...)...)
	e.UploadedAt = e.UploadedAt.UTC()
	return e, err
}

// OpenAssessment returns or creates the questionnaire of an organization
// for a framework and campaign.
func (s *Store) OpenAssessment(ctx context.Context, p auth.Principal, a store.Assessment) (store.Assessment, bool, error) {
	const op = "open assessment"
	if err := needRead(p); err != nil {
		return store.Assessment{}, false, s.fail(op, err)
	}
	a.Framework = strings.TrimSpace(a.Framework)
	if !frameworkRE().MatchString(a.Framework) {
		return store.Assessment{}, false, s.fail(op, invalid("framework %q is not a framework ID", a.Framework))
	}
	if a.Level < 1 || a.Level > 5 {
		return store.Assessment{}, false, s.fail(op, invalid("security level %d is not 1-5", a.Level))
	}
	var (
		id      int64
		created bool
	)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, a.OrgID, false)
		if err != nil {
			return err
		}
		if a.CampaignID != 0 {
			c, err := s.loadCampaign(ctx, tx, sc, a.CampaignID)
			if err != nil {
				return err
			}
			if _, ok := c.targetPaths[o.ID]; !ok {
				return invalid("%s is not a target of campaign %d", o.Code, c.ID)
			}
			if c.Framework != a.Framework {
				return invalid("campaign %d assesses framework %s, not %s", c.ID, c.Framework, a.Framework)
			}
		}
		err = tx.QueryRowContext(ctx, s.q("SELECT id FROM assessments WHERE org_id = ? AND framework = ? AND campaign_id = ?"),
			a.OrgID, a.Framework, a.CampaignID).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("starting an assessment needs " + string(auth.PermWriteAssets))
		}
		t := now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assessments (org_id, framework, campaign_id, level, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`), a.OrgID, a.Framework, a.CampaignID, a.Level, string(store.AssessmentDraft), t, t).Scan(&id)
		if err != nil {
			return err
		}
		created = true
		a.ID, a.State, a.CreatedAt, a.UpdatedAt = id, store.AssessmentDraft, t, t
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "assessment.create", objType: "assessment", objID: id, after: a})
	})
	if err != nil {
		return store.Assessment{}, false, err
	}
	got, err := s.GetAssessment(ctx, p, id)
	return got, created, err
}

// GetAssessment returns a questionnaire with its answers and evidence.
func (s *Store) GetAssessment(ctx context.Context, p auth.Principal, id int64) (store.Assessment, error) {
	const op = "get assessment"
	if err := needRead(p); err != nil {
		return store.Assessment{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.Assessment{}, s.fail(op, err)
	}
	r, err := s.loadAssessment(ctx, s.r, sc, id, false)
	if err != nil {
		return store.Assessment{}, s.fail(op, err)
	}
	as := []store.Assessment{r.Assessment}
	if err := s.fillAssessments(ctx, s.r, as, "?", []any{id}); err != nil {
		return store.Assessment{}, s.fail(op, err)
	}
	return as[0], nil
}

// CampaignAssessments returns the questionnaires of a campaign's targets in
// the caller's subtree, by organization.
func (s *Store) CampaignAssessments(ctx context.Context, p auth.Principal, campaignID int64) ([]store.Assessment, error) {
	const op = "campaign assessments"
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
	from := " FROM assessments a JOIN orgs o ON o.id = a.org_id WHERE a.campaign_id = ? AND " + cond
	args = append([]any{campaignID}, args...)
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+assessmentCols+from+" ORDER BY a.org_id"), args...)
	if err != nil {
		return nil, s.fail(op, err)
	}
	out := []store.Assessment{}
	for rows.Next() {
		r, err := scanAssessment(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(op, err)
		}
		out = append(out, r.Assessment)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(op, err)
	}
	return out, s.fail(op, s.fillAssessments(ctx, s.r, out, "SELECT a.id"+from, args))
}

// ListAssessments lists questionnaires in ID order, without answers.
func (s *Store) ListAssessments(ctx context.Context, p auth.Principal, f store.AssessmentFilter) (store.Page[store.Assessment], error) {
	const op = "list assessments"
	var page store.Page[store.Assessment]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, sc, err := s.listStart(ctx, p, f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if f.OrgID != 0 {
		o, err := s.loadOrg(ctx, s.r, sc, f.OrgID, false)
		if err != nil {
			return page, s.fail(op, err)
		}
		cond, args := subtreeRange("o.path", o.Path)
		w.add(cond, args...)
	} else {
		cond, args := sc.cond("o.path")
		w.add(cond, args...)
	}
	if f.CampaignID != 0 {
		w.add("a.campaign_id = ?", f.CampaignID)
	}
	if f.Framework != "" {
		w.add("a.framework = ?", f.Framework)
	}
	if f.State != "" {
		w.add("a.state = ?", string(f.State))
	}
	if after > 0 {
		w.add("a.id > ?", after)
	}
	rows, err := s.r.QueryContext(ctx, s.q("SELECT "+assessmentCols+" FROM assessments a JOIN orgs o ON o.id = a.org_id"+w.String()+" ORDER BY a.id LIMIT ?"),
		append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	defer rows.Close()
	var items []store.Assessment
	for rows.Next() {
		r, err := scanAssessment(rows)
		if err != nil {
			return page, s.fail(op, err)
		}
		items = append(items, r.Assessment)
	}
	if err := rows.Err(); err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(a store.Assessment) int64 { return a.ID }), nil
}

// editable loads a questionnaire for a change by its organization: the
// principal needs PermWriteAssets over it, and it must be a draft.
func (s *Store) editable(ctx context.Context, tx *sql.Tx, p auth.Principal, id int64) (assessmentRow, error) {
	sc, err := s.scopeOf(ctx, tx, p)
	if err != nil {
		return assessmentRow{}, err
	}
	r, err := s.loadAssessment(ctx, tx, sc, id, true)
	if err != nil {
		return r, err
	}
	if !p.Can(auth.PermWriteAssets) {
		return r, forbidden("answering an assessment needs " + string(auth.PermWriteAssets))
	}
	if r.State != store.AssessmentDraft {
		return r, fmt.Errorf("%w: assessment %d is submitted; an administrator must reopen it", store.ErrConflict, id)
	}
	return r, nil
}

// maxComment bounds an answer's comment, in bytes.
const maxComment = 8000

// SaveAnswers upserts answers of a draft questionnaire.
func (s *Store) SaveAnswers(ctx context.Context, p auth.Principal, assessmentID int64, answers []store.ControlAnswer) error {
	const op = "save answers"
	seen := map[string]bool{}
	for i := range answers {
		a := &answers[i]
		a.ControlID = strings.TrimSpace(a.ControlID)
		a.Comment = strings.TrimSpace(a.Comment)
		switch {
		case !controlRE().MatchString(a.ControlID):
			return s.fail(op, invalid("control ID %q", a.ControlID))
		case a.Answer != "" && !a.Answer.Valid():
			return s.fail(op, invalid("answer %q to %s is not one of implemented, partial, not-implemented, not-applicable", a.Answer, a.ControlID))
		case len(a.Comment) > maxComment || !utf8.ValidString(a.Comment):
			return s.fail(op, invalid("comment on %s: at most %d bytes of UTF-8", a.ControlID, maxComment))
		case seen[a.ControlID]:
			return s.fail(op, invalid("control %s answered twice", a.ControlID))
		}
		seen[a.ControlID] = true
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		r, err := s.editable(ctx, tx, p, assessmentID)
		if err != nil {
			return err
		}
		t := now()
		actor, _ := actorOf(p)
		for i := range answers {
			a := &answers[i]
			if a.Answer == "" {
				if _, err := tx.ExecContext(ctx, s.q("DELETE FROM assessment_answers WHERE assessment_id = ? AND control_id = ?"), r.ID, a.ControlID); err != nil {
					return err
				}
				continue
			}
			a.UpdatedBy, a.UpdatedAt = actor, t
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO assessment_answers (assessment_id, control_id, answer, comment, updated_by, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (assessment_id, control_id) DO UPDATE SET
				answer = excluded.answer, comment = excluded.comment, updated_by = excluded.updated_by, updated_at = excluded.updated_at`),
				r.ID, a.ControlID, string(a.Answer), a.Comment, actor, t)
			if err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assessments SET updated_at = ? WHERE id = ?"), t, r.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: r.OrgID, orgPath: r.path, action: "assessment.answer", objType: "assessment", objID: r.ID, after: answers})
	})
}

// evidenceName is the file name an evidence file is listed and downloaded
// under: the last element of what the uploader sent. Names that are no
// file name ("", ".", ".."), that hide a path behind percent-encoding
// ("%2e%2e%2fetc%2fpasswd"), or that carry control characters (CR, LF,
// NUL) or bidirectional formatting (U+202E makes "\u202egnp.exe" read as
// "exe.png") are refused, so the listing shows what the file is called
// (security F26).
func evidenceName(raw string) (string, error) {
	name := path.Base(strings.ReplaceAll(strings.TrimSpace(raw), `\`, "/"))
	bad := func(why string) error { return invalid("evidence file name %q: %s", raw, why) }
	switch {
	case !utf8.ValidString(name):
		return "", bad("not UTF-8")
	case len(name) > 255:
		return "", bad("longer than 255 bytes")
	case strings.Trim(name, ". /") == "":
		return "", bad("not a file name")
	}
	if r, ok := unsafeRune(name); ok {
		return "", bad(fmt.Sprintf("contains %U", r))
	}
	// What a server or a browser that decodes the name again would see:
	// a path, a control character or a dots-only name is refused too.
	for d, i := name, 0; i < 3 && strings.Contains(d, "%"); i++ {
		u, err := url.PathUnescape(d)
		if err != nil || u == d {
			break
		}
		d = u
		if strings.ContainsAny(d, `/\`) || strings.Trim(d, ". ") == "" {
			return "", bad("percent-encodes a path")
		}
		if r, ok := unsafeRune(d); ok {
			return "", bad(fmt.Sprintf("percent-encodes %U", r))
		}
	}
	return name, nil
}

// unsafeRune returns the first control or bidirectional formatting
// character of s.
func unsafeRune(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return r, true
		}
	}
	return 0, false
}

// AddEvidence stores one file of a draft questionnaire.
func (s *Store) AddEvidence(ctx context.Context, p auth.Principal, e *store.EvidenceFile) error {
	const op = "add evidence"
	e.ControlID = strings.TrimSpace(e.ControlID)
	name, nameErr := evidenceName(e.Name)
	e.Name = name
	e.ContentType = strings.TrimSpace(e.ContentType)
	if e.ContentType == "" {
		e.ContentType = "application/octet-stream"
	}
	switch {
	case !controlRE().MatchString(e.ControlID):
		return s.fail(op, invalid("control ID %q", e.ControlID))
	case nameErr != nil:
		return s.fail(op, nameErr)
	case len(e.Data) == 0:
		return s.fail(op, invalid("evidence file %s is empty", e.Name))
	case len(e.Data) > store.MaxEvidenceSize:
		return s.fail(op, invalid("evidence file %s is %d bytes; the limit is %d", e.Name, len(e.Data), store.MaxEvidenceSize))
	}
	if _, _, err := mime.ParseMediaType(e.ContentType); err != nil || len(e.ContentType) > 200 {
		return s.fail(op, invalid("content type %q", e.ContentType))
	}
	sum := sha256.Sum256(e.Data)
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(e.Data))
	return s.write(ctx, op, func(tx *sql.Tx) error {
		r, err := s.editable(ctx, tx, p, e.AssessmentID)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM assessment_evidence WHERE assessment_id = ?"), r.ID).Scan(&n); err != nil {
			return err
		}
		if n >= store.MaxEvidenceFiles {
			return invalid("assessment %d already holds %d evidence files", r.ID, n)
		}
		e.UploadedBy, _ = actorOf(p)
		e.UploadedAt = now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO assessment_evidence (assessment_id, control_id, name, content_type, size, sha256, data, uploaded_by, uploaded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			r.ID, e.ControlID, e.Name, e.ContentType, e.Size, e.SHA256, e.Data, e.UploadedBy, e.UploadedAt).Scan(&e.ID)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: r.OrgID, orgPath: r.path, action: "assessment.evidence.add", objType: "assessment", objID: r.ID, after: e})
	})
}

// GetEvidence returns one evidence file with its content.
func (s *Store) GetEvidence(ctx context.Context, p auth.Principal, id int64) (store.EvidenceFile, error) {
	const op = "get evidence"
	if err := needRead(p); err != nil {
		return store.EvidenceFile{}, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return store.EvidenceFile{}, s.fail(op, err)
	}
	var (
		data []byte
		path string
	)
	e, err := scanEvidenceMeta(s.r.QueryRowContext(ctx, s.q(`SELECT e.id, e.assessment_id, e.control_id, e.name, e.content_type, e.size, e.sha256, e.uploaded_by, e.uploaded_at, e.data, o.path
		FROM assessment_evidence e JOIN assessments a ON a.id = e.assessment_id JOIN orgs o ON o.id = a.org_id WHERE e.id = ?`), id), &data, &path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.contains(path)) {
		return store.EvidenceFile{}, s.fail(op, notFound("evidence", id))
	}
	if err != nil {
		return store.EvidenceFile{}, s.fail(op, err)
	}
	e.Data = data
	return e, nil
}

// DeleteEvidence removes one file of a draft questionnaire.
func (s *Store) DeleteEvidence(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete evidence"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var aid int64
		err := tx.QueryRowContext(ctx, s.q("SELECT assessment_id FROM assessment_evidence WHERE id = ?"), id).Scan(&aid)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("evidence", id)
		}
		if err != nil {
			return err
		}
		r, err := s.editable(ctx, tx, p, aid)
		if errors.Is(err, store.ErrNotFound) {
			return notFound("evidence", id)
		}
		if err != nil {
			return err
		}
		e, err := scanEvidenceMeta(tx.QueryRowContext(ctx, s.q(`SELECT e.id, e.assessment_id, e.control_id, e.name, e.content_type, e.size, e.sha256, e.uploaded_by, e.uploaded_at
			FROM assessment_evidence e WHERE e.id = ?`), id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM assessment_evidence WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: r.OrgID, orgPath: r.path, action: "assessment.evidence.delete", objType: "assessment", objID: r.ID, before: e})
	})
}

// SubmitAssessment locks a draft questionnaire.
func (s *Store) SubmitAssessment(ctx context.Context, p auth.Principal, id int64, at time.Time) (store.Assessment, error) {
	const op = "submit assessment"
	if at.IsZero() {
		at = now()
	}
	at = at.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		r, err := s.editable(ctx, tx, p, id)
		if err != nil {
			return err
		}
		actor, _ := actorOf(p)
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assessments SET state = ?, submitted_at = ?, submitted_by = ?, updated_at = ? WHERE id = ?"),
			string(store.AssessmentSubmitted), at, actor, now(), id); err != nil {
			return err
		}
		after := r.Assessment
		after.State, after.SubmittedAt, after.SubmittedBy = store.AssessmentSubmitted, &at, actor
		return s.audit(ctx, tx, p, change{orgID: r.OrgID, orgPath: r.path, action: "assessment.submit", objType: "assessment", objID: id, before: r.Assessment, after: after})
	})
	if err != nil {
		return store.Assessment{}, err
	}
	return s.GetAssessment(ctx, p, id)
}

// ReopenAssessment unlocks a submitted questionnaire.
func (s *Store) ReopenAssessment(ctx context.Context, p auth.Principal, id int64, reason string) (store.Assessment, error) {
	const op = "reopen assessment"
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 2000 {
		return store.Assessment{}, s.fail(op, invalid("reopening needs a reason (at most 2000 bytes)"))
	}
	if !p.Can(auth.PermWriteOrgs) {
		return store.Assessment{}, s.fail(op, forbidden("reopening an assessment needs "+string(auth.PermWriteOrgs)))
	}
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		r, err := s.loadAssessment(ctx, tx, sc, id, true)
		if err != nil {
			return err
		}
		if r.CampaignID != 0 {
			c, err := s.loadCampaign(ctx, tx, sc, r.CampaignID)
			if err != nil {
				return err
			}
			if !c.ownedBy(sc) {
				return forbidden("only the campaign's owner reopens its questionnaires")
			}
		} else if sc.isOwnRoot(r.path) {
			return forbidden("an organization cannot reopen its own submission; its parent's administrators can")
		}
		if r.State != store.AssessmentSubmitted {
			return fmt.Errorf("%w: assessment %d is not submitted", store.ErrConflict, id)
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE assessments SET state = ?, submitted_at = NULL, submitted_by = '', updated_at = ? WHERE id = ?"),
			string(store.AssessmentDraft), now(), id); err != nil {
			return err
		}
		after := r.Assessment
		after.State, after.SubmittedAt, after.SubmittedBy = store.AssessmentDraft, nil, ""
		return s.audit(ctx, tx, p, change{orgID: r.OrgID, orgPath: r.path, action: "assessment.reopen", objType: "assessment", objID: id,
			before: r.Assessment, after: struct {
				store.Assessment
				Reason string `json:"reason"`
			}{after, reason}})
	})
	if err != nil {
		return store.Assessment{}, err
	}
	return s.GetAssessment(ctx, p, id)
}
