package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// assessStore is a store with the Assessments part.
type assessStore interface {
	store.Store
	store.Assessments
}

// testAssessments covers store.Assessments: campaigns and their targets,
// who sees them, questionnaires (get-or-create, answers, evidence blobs,
// submit locks, reopen rules), status, reminders and the audit trail.
func testAssessments(t *testing.T, s store.Store) {
	sa, ok := any(s).(assessStore)
	if !ok {
		t.Skipf("%T does not implement store.Assessments", s)
	}
	f := newFixture(t, s)
	ctx := f.ctx
	natAdmin := as(auth.RoleOrgAdmin, f.nat)
	deadline := time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)

	// Opening: a subtree narrowed to agencies.
	c := store.Campaign{Framework: "baseline", Title: "Tự đánh giá 2026", Deadline: deadline, TargetRoot: f.nat.ID, TargetKinds: []org.Kind{org.KindAgency}}
	must(t, sa.CreateCampaign(ctx, natAdmin, &c), "create campaign")
	if c.ID == 0 || c.OwnerOrg != f.nat.ID || !slices.Equal(c.Targets, []int64{f.a1.ID, f.b1.ID}) || c.CreatedBy == "" {
		t.Fatalf("created campaign = %+v", c)
	}
	// A listed set, and refusals.
	listed := store.Campaign{Framework: "baseline", Title: "A only", Deadline: deadline, OwnerOrg: f.a.ID, TargetOrgIDs: []int64{f.a11.ID, f.a1.ID, f.a11.ID}}
	must(t, sa.CreateCampaign(ctx, as(auth.RoleOrgAdmin, f.a), &listed), "create listed campaign")
	if !slices.Equal(listed.Targets, []int64{f.a1.ID, f.a11.ID}) {
		t.Fatalf("listed targets = %v", listed.Targets)
	}
	bad := store.Campaign{Framework: "baseline", Title: "x", Deadline: deadline, TargetOrgIDs: []int64{f.b1.ID}}
	wantRefused(t, sa.CreateCampaign(ctx, as(auth.RoleOrgAdmin, f.a), &bad), "campaign targeting another subtree")
	bad = store.Campaign{Framework: "baseline", Title: "x", Deadline: deadline}
	wantErr(t, sa.CreateCampaign(ctx, as(auth.RoleOrgMember, f.a), &bad), store.ErrForbidden, "member opens a campaign")
	bad = store.Campaign{Framework: "Bad Framework", Title: "x", Deadline: deadline}
	wantErr(t, sa.CreateCampaign(ctx, natAdmin, &bad), store.ErrInvalid, "bad framework ID")
	bad = store.Campaign{Framework: "baseline", Title: "x", Deadline: deadline, TargetRoot: f.a11.ID, TargetKinds: []org.Kind{org.KindProvince}}
	wantErr(t, sa.CreateCampaign(ctx, natAdmin, &bad), store.ErrInvalid, "campaign without targets")

	// Visibility: the owner's subtree and the targets' subtrees; a target
	// sees only itself.
	got, err := sa.GetCampaign(ctx, as(auth.RoleViewer, f.b1), c.ID)
	must(t, err, "target gets campaign")
	if !slices.Equal(got.Targets, []int64{f.b1.ID}) || got.Title != c.Title || !got.Deadline.Equal(deadline) {
		t.Fatalf("campaign as B1 = %+v", got)
	}
	_, err = sa.GetCampaign(ctx, as(auth.RoleViewer, f.b1), listed.ID)
	wantErr(t, err, store.ErrNotFound, "foreign campaign")
	page, err := sa.ListCampaigns(ctx, as(auth.RoleViewer, f.b), store.CampaignFilter{})
	must(t, err, "list campaigns as B")
	if len(page.Items) != 1 || page.Items[0].ID != c.ID {
		t.Fatalf("campaigns seen by B = %+v", page.Items)
	}
	pages := all(t, func(after string) (store.Page[store.Campaign], error) {
		return sa.ListCampaigns(ctx, sys, store.CampaignFilter{PageRequest: store.PageRequest{Limit: 1, After: after}})
	})
	if len(pages) != 2 || pages[0].ID != listed.ID {
		t.Fatalf("all campaigns newest first = %+v", pages)
	}

	// Questionnaires: get or create, only for targets, only the framework.
	a1Member := as(auth.RoleOrgMember, f.a1)
	q, created, err := sa.OpenAssessment(ctx, a1Member, store.Assessment{OrgID: f.a1.ID, Framework: "baseline", CampaignID: c.ID, Level: 3})
	must(t, err, "open assessment")
	if !created || q.ID == 0 || q.State != store.AssessmentDraft || q.Level != 3 || len(q.Answers) != 0 {
		t.Fatalf("opened = %+v created=%v", q, created)
	}
	again, created, err := sa.OpenAssessment(ctx, a1Member, store.Assessment{OrgID: f.a1.ID, Framework: "baseline", CampaignID: c.ID, Level: 2})
	must(t, err, "open again")
	if created || again.ID != q.ID || again.Level != 3 {
		t.Fatalf("opened again = %+v created=%v", again, created)
	}
	_, _, err = sa.OpenAssessment(ctx, as(auth.RoleOrgMember, f.a11), store.Assessment{OrgID: f.a11.ID, Framework: "baseline", CampaignID: c.ID, Level: 3})
	wantRefused(t, err, "non-target opens")
	_, _, err = sa.OpenAssessment(ctx, sys, store.Assessment{OrgID: f.a11.ID, Framework: "baseline", CampaignID: c.ID, Level: 3})
	wantErr(t, err, store.ErrInvalid, "non-target opens as system")
	_, _, err = sa.OpenAssessment(ctx, a1Member, store.Assessment{OrgID: f.a1.ID, Framework: "other", CampaignID: c.ID, Level: 3})
	wantErr(t, err, store.ErrInvalid, "framework mismatch")
	_, _, err = sa.OpenAssessment(ctx, a1Member, store.Assessment{OrgID: f.a1.ID, Framework: "baseline", Level: 7})
	wantErr(t, err, store.ErrInvalid, "level 7")
	_, _, err = sa.OpenAssessment(ctx, as(auth.RoleViewer, f.b1), store.Assessment{OrgID: f.b1.ID, Framework: "baseline", CampaignID: c.ID, Level: 1})
	wantErr(t, err, store.ErrForbidden, "viewer starts an assessment")

	// Answers.
	must(t, sa.SaveAnswers(ctx, a1Member, q.ID, []store.ControlAnswer{
		{ControlID: "BL-TLS-1", Answer: store.AnswerImplemented, Comment: "Đã cấu hình TLS 1.2+"},
		{ControlID: "BL-IR-1", Answer: store.AnswerPartial},
		{ControlID: "BL-BK-1", Answer: store.AnswerNotImplemented},
	}), "save answers")
	must(t, sa.SaveAnswers(ctx, a1Member, q.ID, []store.ControlAnswer{
		{ControlID: "BL-IR-1", Answer: store.AnswerNotApplicable, Comment: "changed"},
		{ControlID: "BL-BK-1"}, // cleared
	}), "change answers")
	wantErr(t, sa.SaveAnswers(ctx, a1Member, q.ID, []store.ControlAnswer{{ControlID: "BL-1", Answer: "maybe"}}), store.ErrInvalid, "bad answer")
	wantErr(t, sa.SaveAnswers(ctx, a1Member, q.ID, []store.ControlAnswer{{ControlID: "BL-1", Answer: store.AnswerPartial}, {ControlID: "BL-1"}}), store.ErrInvalid, "duplicate control")
	wantErr(t, sa.SaveAnswers(ctx, as(auth.RoleViewer, f.a1), q.ID, []store.ControlAnswer{{ControlID: "BL-1", Answer: store.AnswerPartial}}), store.ErrForbidden, "viewer answers")
	wantErr(t, sa.SaveAnswers(ctx, as(auth.RoleOrgAdmin, f.b), q.ID, []store.ControlAnswer{{ControlID: "BL-1", Answer: store.AnswerPartial}}), store.ErrNotFound, "foreign answers")

	// Evidence.
	data := []byte("%PDF-1.4 kế hoạch ứng cứu sự cố")
	ev := store.EvidenceFile{AssessmentID: q.ID, ControlID: "BL-IR-1", Name: `C:\docs\ke-hoach.pdf`, ContentType: "application/pdf", Data: data}
	must(t, sa.AddEvidence(ctx, a1Member, &ev), "add evidence")
	sum := sha256.Sum256(data)
	if ev.ID == 0 || ev.Name != "ke-hoach.pdf" || ev.Size != int64(len(data)) || ev.SHA256 != hex.EncodeToString(sum[:]) || ev.UploadedBy == "" {
		t.Fatalf("evidence = %+v", ev)
	}
	ge, err := sa.GetEvidence(ctx, as(auth.RoleViewer, f.nat), ev.ID)
	must(t, err, "get evidence")
	if !bytes.Equal(ge.Data, data) || ge.SHA256 != ev.SHA256 || ge.ContentType != "application/pdf" {
		t.Fatalf("got evidence = %+v", ge)
	}
	_, err = sa.GetEvidence(ctx, as(auth.RoleViewer, f.b1), ev.ID)
	wantErr(t, err, store.ErrNotFound, "foreign evidence")
	big := store.EvidenceFile{AssessmentID: q.ID, ControlID: "BL-IR-1", Name: "big.bin", Data: make([]byte, store.MaxEvidenceSize+1)}
	wantErr(t, sa.AddEvidence(ctx, a1Member, &big), store.ErrInvalid, "evidence over the cap")
	tmp := store.EvidenceFile{AssessmentID: q.ID, ControlID: "BL-BK-1", Name: "tmp.txt", ContentType: "text/plain; charset=utf-8", Data: []byte("x")}
	must(t, sa.AddEvidence(ctx, a1Member, &tmp), "add second evidence")
	wantErr(t, sa.DeleteEvidence(ctx, as(auth.RoleOrgAdmin, f.b), tmp.ID), store.ErrNotFound, "foreign delete")
	must(t, sa.DeleteEvidence(ctx, a1Member, tmp.ID), "delete evidence")

	q, err = sa.GetAssessment(ctx, a1Member, q.ID)
	must(t, err, "get assessment")
	if len(q.Answers) != 2 || q.Answers[0].ControlID != "BL-IR-1" || q.Answers[0].Answer != store.AnswerNotApplicable || q.Answers[0].Comment != "changed" ||
		q.Answers[1].ControlID != "BL-TLS-1" || q.Answers[1].Comment != "Đã cấu hình TLS 1.2+" || q.Answers[1].UpdatedBy == "" {
		t.Fatalf("answers = %+v", q.Answers)
	}
	if len(q.Evidence) != 1 || q.Evidence[0].ID != ev.ID || q.Evidence[0].Data != nil {
		t.Fatalf("evidence listed = %+v", q.Evidence)
	}

	// Status before and after submission.
	st, err := sa.CampaignStatus(ctx, natAdmin, c.ID)
	must(t, err, "status")
	if len(st) != 2 || st[0].OrgID != f.a1.ID || st[0].AssessmentID != q.ID || st[0].State != store.AssessmentDraft || st[0].Answered != 2 ||
		st[1].OrgID != f.b1.ID || st[1].AssessmentID != 0 || st[1].State != "" || st[1].Submitted() {
		t.Fatalf("status = %+v", st)
	}
	at := deadline.Add(-48 * time.Hour)
	sub, err := sa.SubmitAssessment(ctx, a1Member, q.ID, at)
	must(t, err, "submit")
	if sub.State != store.AssessmentSubmitted || sub.SubmittedAt == nil || !sub.SubmittedAt.Equal(at) || sub.SubmittedBy == "" {
		t.Fatalf("submitted = %+v", sub)
	}
	_, err = sa.SubmitAssessment(ctx, a1Member, q.ID, at)
	wantErr(t, err, store.ErrConflict, "submit twice")
	wantErr(t, sa.SaveAnswers(ctx, a1Member, q.ID, []store.ControlAnswer{{ControlID: "BL-1", Answer: store.AnswerPartial}}), store.ErrConflict, "answer after submit")
	late := store.EvidenceFile{AssessmentID: q.ID, ControlID: "BL-IR-1", Name: "late.txt", Data: []byte("x")}
	wantErr(t, sa.AddEvidence(ctx, a1Member, &late), store.ErrConflict, "evidence after submit")
	wantErr(t, sa.DeleteEvidence(ctx, a1Member, ev.ID), store.ErrConflict, "delete evidence after submit")
	st, err = sa.CampaignStatus(ctx, as(auth.RoleViewer, f.a), c.ID)
	must(t, err, "status as A")
	if len(st) != 1 || !st[0].Submitted() || st[0].SubmittedAt == nil {
		t.Fatalf("status as A = %+v", st)
	}

	// The owner's synthesis input.
	qs, err := sa.CampaignAssessments(ctx, natAdmin, c.ID)
	must(t, err, "campaign assessments")
	if len(qs) != 1 || qs[0].ID != q.ID || len(qs[0].Answers) != 2 || len(qs[0].Evidence) != 1 {
		t.Fatalf("campaign assessments = %+v", qs)
	}
	qs, err = sa.CampaignAssessments(ctx, as(auth.RoleViewer, f.b1), c.ID)
	must(t, err, "campaign assessments as B1")
	if len(qs) != 0 {
		t.Fatalf("B1 sees %+v", qs)
	}

	// Reopening: not by the submitter's own administrators, by the owner.
	_, err = sa.ReopenAssessment(ctx, as(auth.RoleOrgAdmin, f.a1), q.ID, "sửa lại")
	wantErr(t, err, store.ErrForbidden, "target reopens")
	_, err = sa.ReopenAssessment(ctx, natAdmin, q.ID, "")
	wantErr(t, err, store.ErrInvalid, "reopen without reason")
	re, err := sa.ReopenAssessment(ctx, natAdmin, q.ID, "thiếu minh chứng")
	must(t, err, "reopen")
	if re.State != store.AssessmentDraft || re.SubmittedAt != nil {
		t.Fatalf("reopened = %+v", re)
	}
	_, err = sa.ReopenAssessment(ctx, natAdmin, q.ID, "again")
	wantErr(t, err, store.ErrConflict, "reopen a draft")

	// A self-assessment outside campaigns: the parent's admin reopens.
	own, _, err := sa.OpenAssessment(ctx, a1Member, store.Assessment{OrgID: f.a1.ID, Framework: "baseline", Level: 2})
	must(t, err, "open self-assessment")
	if own.ID == q.ID || own.CampaignID != 0 {
		t.Fatalf("self-assessment = %+v", own)
	}
	_, err = sa.SubmitAssessment(ctx, a1Member, own.ID, time.Time{})
	must(t, err, "submit self-assessment")
	_, err = sa.ReopenAssessment(ctx, as(auth.RoleOrgAdmin, f.a1), own.ID, "x")
	wantErr(t, err, store.ErrForbidden, "own admin reopens self-assessment")
	_, err = sa.ReopenAssessment(ctx, as(auth.RoleOrgAdmin, f.a), own.ID, "x")
	must(t, err, "parent admin reopens self-assessment")

	la := all(t, func(after string) (store.Page[store.Assessment], error) {
		return sa.ListAssessments(ctx, as(auth.RoleViewer, f.a), store.AssessmentFilter{PageRequest: store.PageRequest{Limit: 1, After: after}})
	})
	if len(la) != 2 || la[0].ID != q.ID || la[1].ID != own.ID {
		t.Fatalf("assessments seen by A = %+v", la)
	}
	la = all(t, func(after string) (store.Page[store.Assessment], error) {
		return sa.ListAssessments(ctx, sys, store.AssessmentFilter{CampaignID: c.ID, PageRequest: store.PageRequest{After: after}})
	})
	if len(la) != 1 {
		t.Fatalf("assessments of the campaign = %+v", la)
	}
	p, err := sa.ListAssessments(ctx, as(auth.RoleViewer, f.b), store.AssessmentFilter{})
	must(t, err, "list as B")
	if len(p.Items) != 0 {
		t.Fatalf("B sees %+v", p.Items)
	}

	// Reminders.
	r := store.Reminder{CampaignID: c.ID, OrgIDs: []int64{f.b1.ID}}
	must(t, sa.RecordReminder(ctx, natAdmin, &r), "record reminder")
	if r.ID == 0 || r.Actor == "" || r.At.IsZero() {
		t.Fatalf("reminder = %+v", r)
	}
	bad2 := store.Reminder{CampaignID: c.ID, OrgIDs: []int64{f.a11.ID}}
	wantErr(t, sa.RecordReminder(ctx, natAdmin, &bad2), store.ErrInvalid, "remind a non-target")
	bad2 = store.Reminder{CampaignID: c.ID, OrgIDs: []int64{f.b1.ID}}
	wantErr(t, sa.RecordReminder(ctx, as(auth.RoleOrgAdmin, f.b1), &bad2), store.ErrForbidden, "target records a reminder")
	rs, err := sa.ListReminders(ctx, natAdmin, c.ID)
	must(t, err, "list reminders")
	if len(rs) != 1 || !slices.Equal(rs[0].OrgIDs, []int64{f.b1.ID}) {
		t.Fatalf("reminders = %+v", rs)
	}
	rs, err = sa.ListReminders(ctx, as(auth.RoleViewer, f.a1), c.ID)
	must(t, err, "list reminders as A1")
	if len(rs) != 0 {
		t.Fatalf("A1 sees reminders %+v", rs)
	}

	// Audit trail.
	entries := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(ctx, sys, store.AuditFilter{ObjectType: "assessment", ObjectID: q.ID, PageRequest: store.PageRequest{After: after}})
	})
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, want := range []string{"assessment.create", "assessment.answer", "assessment.evidence.add", "assessment.evidence.delete", "assessment.submit", "assessment.reopen"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit of assessment lacks %s: %v", want, actions)
		}
	}
	for _, e := range entries {
		if bytes.Contains(e.After, []byte("kế hoạch")) {
			t.Errorf("audit entry %s holds the evidence content", e.Action)
		}
	}
}
