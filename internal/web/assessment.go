package web

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// answerChoice is one radio button of a control.
type answerChoice struct {
	Value   store.Answer
	Checked bool
}

// qItem is one control of the questionnaire page.
type qItem struct {
	assess.Item
	Group, Title, Guidance string
	Choices                []answerChoice
	Comment                string
	Findings               []findingRow
}

type assessmentData struct {
	A         store.Assessment
	Org       org.Organization
	Campaign  *store.Campaign
	Framework string
	Items     []qItem
	Answered  int
	ReadOnly  bool
	CanEdit   bool // a draft the user may change
	CanReopen bool
	MaxMiB    int
}

// assessmentPage shows a questionnaire: the controls at its level in the
// current language with the automatic evidence beside each, the answers,
// comments and evidence files, and Save, Submit (or Reopen).
func (s *Server) assessmentPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := s.assessmentView(r, c, id)
	if err != nil {
		return err
	}
	return s.render(w, http.StatusOK, "assessment", v)
}

func (s *Server) assessmentView(r *http.Request, c *reqCtx, id int64) (*view, error) {
	p, ctx, l := c.p(), r.Context(), c.lang
	q, err := s.Assess.Questionnaire(ctx, p, id)
	if err != nil {
		return nil, err
	}
	a := q.Assessment
	o, err := s.st.GetOrg(ctx, p, a.OrgID)
	if err != nil {
		return nil, err
	}
	submitted := a.State == store.AssessmentSubmitted
	d := assessmentData{A: a, Org: o, Framework: l.Text(q.Framework.Title), MaxMiB: store.MaxEvidenceSize >> 20,
		ReadOnly:  submitted || !p.Can(auth.PermWriteAssets),
		CanReopen: submitted && p.Can(auth.PermWriteOrgs) && (p.Role.Global() || p.OrgID != a.OrgID)}
	d.CanEdit = !d.ReadOnly
	if a.CampaignID != 0 {
		if cp, err := s.st.GetCampaign(ctx, p, a.CampaignID); err == nil {
			d.Campaign = &cp
		}
	}
	for _, it := range q.Items {
		qi := qItem{Item: it, Group: l.Text(it.Control.Group), Title: l.Text(it.Control.Title), Guidance: l.Text(it.Control.Guidance)}
		for _, ans := range store.Answers {
			qi.Choices = append(qi.Choices, answerChoice{Value: ans, Checked: it.Answer != nil && it.Answer.Answer == ans})
		}
		if it.Answer != nil {
			qi.Comment = it.Answer.Comment
			d.Answered++
		}
		if qi.Findings, err = s.findingRows(r, c, it.Findings); err != nil {
			return nil, err
		}
		d.Items = append(d.Items, qi)
	}
	v := s.newView(r, c, "assessment.title", "campaigns", d)
	v.TitleArg = l.OrgName(o)
	return v, nil
}

// assessmentSave saves the answers and, with do=submit, submits.
func (s *Server) assessmentSave(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx := c.p(), r.Context()
	q, err := s.Assess.Questionnaire(ctx, p, id)
	if err != nil {
		return err
	}
	var answers []store.ControlAnswer
	for _, it := range q.Items {
		cid := it.Control.ID
		ans := store.Answer(r.PostFormValue("a." + cid))
		comment := strings.TrimSpace(r.PostFormValue("c." + cid))
		if ans == "" {
			continue
		}
		if !ans.Valid() {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: fmt.Errorf("answer %q to %s", ans, cid), detail: true}
		}
		if it.Answer != nil && it.Answer.Answer == ans && it.Answer.Comment == comment {
			continue
		}
		answers = append(answers, store.ControlAnswer{ControlID: cid, Answer: ans, Comment: comment})
	}
	if len(answers) > 0 {
		if err := s.Assess.Answer(ctx, p, id, answers); err != nil {
			return err
		}
	}
	back := "/assessments/" + strconv.FormatInt(id, 10)
	if r.PostFormValue("do") == "submit" {
		if _, err := s.st.SubmitAssessment(ctx, p, id, c.now); err != nil {
			return err
		}
		return redirect(w, r, back, "flash.submitted")
	}
	return redirect(w, r, back, "flash.saved")
}

// assessmentReopen turns a submitted questionnaire back into a draft.
func (s *Server) assessmentReopen(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// Look it up first: one outside the user's view is not found, whatever
	// the user's role.
	if _, err := s.st.GetAssessment(r.Context(), c.p(), id); err != nil {
		return err
	}
	if _, err := s.st.ReopenAssessment(r.Context(), c.p(), id, r.PostFormValue("reason")); err != nil {
		return err
	}
	return redirect(w, r, "/assessments/"+strconv.FormatInt(id, 10), "flash.reopened")
}

var errTooLarge = &uiError{status: http.StatusRequestEntityTooLarge, key: "error.toolarge"}

// evidenceUpload attaches a file (multipart, at most 10 MiB) to one
// control of a questionnaire.
func (s *Server) evidenceUpload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f, hdr, err := r.FormFile("file")
	if err != nil {
		return &uiError{status: http.StatusBadRequest, key: "error.nofile", cause: err}
	}
	defer f.Close()
	if hdr.Size > store.MaxEvidenceSize {
		return errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, store.MaxEvidenceSize+1))
	if err != nil {
		return err
	}
	if len(data) > store.MaxEvidenceSize {
		return errTooLarge
	}
	ct := hdr.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	} else {
		ct = http.DetectContentType(data)
	}
	name := filepath.Base(strings.ReplaceAll(hdr.Filename, `\`, "/"))
	e := store.EvidenceFile{AssessmentID: id, ControlID: r.PostFormValue("control"), Name: name, ContentType: ct, Data: data}
	if err := s.st.AddEvidence(r.Context(), c.p(), &e); err != nil {
		return err
	}
	return redirect(w, r, "/assessments/"+strconv.FormatInt(id, 10)+"#ctl-"+e.ControlID, "flash.uploaded")
}

// evidenceDownload sends an evidence file as an attachment, never
// rendered: it came from a member.
func (s *Server) evidenceDownload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.st.GetEvidence(r.Context(), c.p(), id)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name}))
	h.Set("Cache-Control", "no-store")
	_, err = w.Write(e.Data)
	return err
}

// evidenceDelete removes a file from a draft questionnaire.
func (s *Server) evidenceDelete(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, ctx := c.p(), r.Context()
	e, err := s.st.GetEvidence(ctx, p, id)
	if err != nil {
		return err
	}
	if err := s.st.DeleteEvidence(ctx, p, id); err != nil {
		return err
	}
	return redirect(w, r, "/assessments/"+strconv.FormatInt(e.AssessmentID, 10), "flash.deleted")
}

// selfAssessment starts (or finds) the organization's questionnaire for
// the baseline framework outside any campaign.
func (s *Server) selfAssessment(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if err := s.assessOn(); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	fw := baselineFramework(s.Assess.Frameworks)
	if fw == "" {
		return errNotFound
	}
	a, err := s.Assess.Start(r.Context(), c.p(), id, fw, 0, 0)
	if err != nil {
		return err
	}
	return redirect(w, r, "/assessments/"+strconv.FormatInt(a.ID, 10), "")
}

// baselineFramework is the framework of self-assessments: "baseline" when
// loaded, else the first one.
func baselineFramework(cat *assess.Catalog) string {
	if _, ok := cat.Get("baseline"); ok {
		return "baseline"
	}
	if all := cat.All(); len(all) > 0 {
		return all[0].ID
	}
	return ""
}

// Bytes formats a file size: bytes, KiB or MiB with one decimal.
func (l *Lang) Bytes(n int64) string {
	switch {
	case n < 1<<10:
		return l.Num(int(n)) + " B"
	case n < 1<<20:
		return l.decimal(float64(n)/(1<<10)) + " KiB"
	}
	return l.decimal(float64(n)/(1<<20)) + " MiB"
}

func (l *Lang) decimal(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if l.Code == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}
