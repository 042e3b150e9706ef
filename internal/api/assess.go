package api

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/report"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	campaignJSON      = store.Campaign
	campaignPage      = store.Page[store.Campaign]
	reminderJSON      = store.Reminder
	assessmentJSON    = store.Assessment
	evidenceJSON      = store.EvidenceFile
	synthesisJSON     = assess.Synthesis
	questionnaireJSON = assess.Questionnaire
)

type campaignRequest struct {
	OwnerOrg     int64      `json:"owner_org_id"`
	Framework    string     `json:"framework"`
	Title        string     `json:"title"`
	Deadline     time.Time  `json:"deadline"`
	TargetRoot   int64      `json:"target_root,omitempty"`
	TargetKinds  []org.Kind `json:"target_kinds,omitempty"`
	TargetOrgIDs []int64    `json:"target_org_ids,omitempty"`
}

type campaignStatus struct {
	Campaign store.Campaign       `json:"campaign"`
	Targets  []store.TargetStatus `json:"targets"`
}

type assessmentRequest struct {
	OrgID      int64  `json:"org_id"`
	Framework  string `json:"framework"`
	CampaignID int64  `json:"campaign_id,omitempty"`
	Level      int    `json:"level,omitempty"` // 0: the highest security level of the organization's assets
}

type answersRequest struct {
	Answers []store.ControlAnswer `json:"answers"`
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

type frameworkList struct {
	Items []frameworkInfo `json:"items"`
}

type frameworkInfo struct {
	ID       string `json:"id"`
	Version  string `json:"version"`
	TitleVI  string `json:"title_vi"`
	TitleEN  string `json:"title_en"`
	Controls int    `json:"controls"`
}

func (s *Server) assessService() (*assess.Service, error) {
	if s.Assess == nil {
		return nil, errf(CodeUnavailable, "assessments are not enabled on this server")
	}
	return s.Assess, nil
}

func (s *Server) listFrameworks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	out := frameworkList{Items: []frameworkInfo{}}
	for _, f := range svc.Frameworks.All() {
		out.Items = append(out.Items, frameworkInfo{ID: f.ID, Version: f.Version, TitleVI: f.Title.VI, TitleEN: f.Title.EN, Controls: len(f.Controls)})
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	var req campaignRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c := store.Campaign{OwnerOrg: req.OwnerOrg, Framework: req.Framework, Title: req.Title, Deadline: req.Deadline,
		TargetRoot: req.TargetRoot, TargetKinds: req.TargetKinds, TargetOrgIDs: req.TargetOrgIDs}
	if err := svc.OpenCampaign(r.Context(), p, &c); err != nil {
		return err
	}
	writeJSON(w, 201, c)
	return nil
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	page, err := s.Store.ListCampaigns(r.Context(), p, store.CampaignFilter{PageRequest: pr, Framework: r.URL.Query().Get("framework")})
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.Store.GetCampaign(r.Context(), p, id)
	if err != nil {
		return err
	}
	ts, err := s.Store.CampaignStatus(r.Context(), p, id)
	if err != nil {
		return err
	}
	if ts == nil {
		ts = []store.TargetStatus{}
	}
	writeJSON(w, 200, campaignStatus{Campaign: c, Targets: ts})
	return nil
}

func (s *Server) remindCampaign(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	return getByID(w, r, func(ctx context.Context, id int64) (store.Reminder, error) { return svc.Remind(ctx, p, id) })
}

func (s *Server) campaignSynthesis(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	return getByID(w, r, func(ctx context.Context, id int64) (*assess.Synthesis, error) { return svc.Synthesis(ctx, p, id) })
}

func (s *Server) startAssessment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	var req assessmentRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := svc.Start(r.Context(), p, req.OrgID, req.Framework, req.CampaignID, req.Level)
	if err != nil {
		return err
	}
	writeJSON(w, 201, a)
	return nil
}

func (s *Server) getAssessment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	return getByID(w, r, func(ctx context.Context, id int64) (*assess.Questionnaire, error) {
		return svc.Questionnaire(ctx, p, id)
	})
}

func (s *Server) answerAssessment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	svc, err := s.assessService()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req answersRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := svc.Answer(r.Context(), p, id, req.Answers); err != nil {
		return err
	}
	a, err := s.Store.GetAssessment(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) submitAssessment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := s.Store.SubmitAssessment(r.Context(), p, id, s.Now())
	if err != nil {
		return err
	}
	writeJSON(w, 200, a)
	return nil
}

func (s *Server) reopenAssessment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.Store.ReopenAssessment(r.Context(), p, id, strings.TrimSpace(req.Reason))
	if err != nil {
		return err
	}
	writeJSON(w, 200, a)
	return nil
}

// maxEvidenceBody bounds one uploaded file.
const maxEvidenceBody = store.MaxEvidenceSize

func (s *Server) addEvidence(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	control := r.URL.Query().Get("control")
	name := r.URL.Query().Get("name")
	if control == "" || name == "" {
		return errf(CodeBadRequest, "control and name are required query parameters")
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEvidenceBody))
	if err != nil {
		return err
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	} else {
		ct = http.DetectContentType(data)
	}
	e := store.EvidenceFile{AssessmentID: id, ControlID: control, Name: name, ContentType: ct, Data: data}
	if err := s.Store.AddEvidence(r.Context(), p, &e); err != nil {
		return err
	}
	writeJSON(w, 201, e)
	return nil
}

func (s *Server) getEvidence(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.Store.GetEvidence(r.Context(), p, id)
	if err != nil {
		return err
	}
	// Served as a download, never rendered: the file came from a member.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name}))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(e.Data)
	return err
}

func (s *Server) getReport(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermReadRegistry) {
		return errf(CodeForbidden, "your role may not read reports")
	}
	root, err := queryInt(r, "org_id")
	if err != nil {
		return err
	}
	format := strings.ToLower(r.URL.Query().Get("format"))
	if format == "" {
		format = "html"
	}
	ct := map[string]string{"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
		"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[format]
	if ct == "" {
		return errf(CodeBadRequest, "format must be html, pdf, csv or xlsx")
	}
	lang := r.URL.Query().Get("lang")
	if lang == "" {
		lang = "vi"
	}
	if lang != "vi" && lang != "en" {
		return errf(CodeBadRequest, "lang must be vi or en")
	}
	opts := []report.Option{}
	if s.Catalog != nil {
		opts = append(opts, report.WithCatalog(s.Catalog))
	}
	if s.Assess != nil {
		opts = append(opts, report.WithFrameworks(s.Assess.Frameworks))
	}
	rep, err := report.Build(r.Context(), s.Store, p, root, s.Now(), opts...)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.Render(&buf, rep, format, lang); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	if format != "html" {
		w.Header().Set("Content-Disposition", `attachment; filename="rampart-report.`+format+`"`)
	}
	_, err = buf.WriteTo(w)
	return err
}
