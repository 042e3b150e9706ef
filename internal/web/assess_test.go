package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// reminded records the reminders a campaign sends.
type reminded struct{ calls [][]int64 }

func (r *reminded) Remind(_ context.Context, ids []int64, _ store.Campaign) error {
	r.calls = append(r.calls, ids)
	return nil
}

// newAssessWorld is the test world with the assessment pages on.
func newAssessWorld(t *testing.T) (*world, *reminded) {
	t.Helper()
	w := newWorld(t)
	reg, _ := all.Registry("")
	cat, err := assess.NewCatalog("", reg.Catalog())
	if err != nil {
		t.Fatal(err)
	}
	rem := &reminded{}
	w.srv.Assess = &assess.Service{Store: w.st, Frameworks: cat, Reminders: rem, Now: func() time.Time { return testNow }}
	return w, rem
}

// openCampaign opens a campaign as the system and returns it.
func (w *world) openCampaign(owner, root string, kinds ...org.Kind) store.Campaign {
	w.t.Helper()
	c := store.Campaign{OwnerOrg: w.orgs[owner].ID, Framework: "baseline", Title: "Tự đánh giá 2030",
		Deadline: time.Date(2030, 3, 30, 16, 59, 59, 0, time.UTC), TargetRoot: w.orgs[root].ID, TargetKinds: kinds}
	if err := w.srv.Assess.OpenCampaign(context.Background(), auth.SystemPrincipal, &c); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// postMultipart uploads one file as the questionnaire page does.
func (c *client) postMultipart(path string, fields map[string]string, fileName string, data []byte) (*http.Response, string) {
	c.w.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", fileName)
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.w.ts.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", c.w.ts.URL)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func expect(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
}

var idInLocation = regexp.MustCompile(`/(\d+)(?:[?#].*)?$`)

func locationID(t *testing.T, resp *http.Response) string {
	t.Helper()
	m := idInLocation.FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("no id in Location %q", resp.Header.Get("Location"))
	}
	return m[1]
}

// TestCampaignFlowThroughPages opens a campaign, has an agency answer,
// upload evidence and submit, then checks the status, the synthesis, the
// reminder of the late one and the reopening by the national level.
func TestCampaignFlowThroughPages(t *testing.T) {
	w, rem := newAssessWorld(t)
	admin := w.client()
	admin.login("admin", "")
	tok := admin.csrf("/campaigns")
	resp, body := admin.post("/campaigns", url.Values{"csrf": {tok}, "framework": {"baseline"}, "title": {"Đánh giá năm 2030"},
		"deadline": {"2030-03-30"}, "target_root": {fmt.Sprint(w.orgs["VN"].ID)}, "kind": {"agency"}}, w.ts.URL)
	expect(t, "open campaign", resp, body, http.StatusSeeOther)
	cid := locationID(t, resp)
	code, body := admin.get("/campaigns")
	if code != 200 || !strings.Contains(body, "Đánh giá năm 2030") {
		t.Fatalf("campaign list: %d", code)
	}
	code, body = admin.get("/campaigns/" + cid)
	if code != 200 || !strings.Contains(body, "Cục An toàn") || !strings.Contains(body, "Sở Bí mật") || !strings.Contains(body, "Chưa bắt đầu") {
		t.Fatalf("campaign page: %d\n%s", code, body)
	}
	// An invalid form shows the form again with the error.
	resp, body = admin.post("/campaigns", url.Values{"csrf": {tok}, "framework": {"baseline"}, "title": {"x"}, "deadline": {"30/03/2030"},
		"target_root": {fmt.Sprint(w.orgs["VN"].ID)}}, w.ts.URL)
	expect(t, "bad deadline", resp, body, http.StatusBadRequest)

	// The agency starts its questionnaire from the campaign page.
	cuca := w.client()
	cuca.login("cuca", "")
	tok = cuca.csrf("/campaigns/" + cid)
	resp, body = cuca.post("/campaigns/"+cid+"/start", url.Values{"csrf": {tok}, "org_id": {fmt.Sprint(w.orgs["CUCA"].ID)}}, w.ts.URL)
	expect(t, "start", resp, body, http.StatusSeeOther)
	aid := locationID(t, resp)
	qpath := "/assessments/" + aid
	code, body = cuca.get(qpath + "?lang=en")
	if code != 200 || !strings.Contains(body, "BL-TLS-1") || !strings.Contains(body, "Connections are encrypted with modern TLS") {
		t.Fatalf("questionnaire: %d\n%s", code, body)
	}
	// The expired certificate of portal.cuca is automatic evidence.
	if !strings.Contains(body, fmt.Sprintf(`href="/findings/%d"`, w.findings["tls.cert-expired"].ID)) {
		t.Fatalf("questionnaire lacks the automatic evidence")
	}
	ctls := regexp.MustCompile(`name="a\.([A-Z0-9-]+)" value="implemented"`).FindAllStringSubmatch(body, -1)
	if len(ctls) == 0 {
		t.Fatal("no answer buttons")
	}
	form := url.Values{"csrf": {tok}, "do": {"save"}}
	for i, m := range ctls {
		ans := "implemented"
		if i == 0 {
			ans = "partial"
		}
		form.Set("a."+m[1], ans)
	}
	form.Set("c."+ctls[0][1], "Đang nâng cấp TLS")
	resp, body = cuca.post(qpath, form, w.ts.URL)
	expect(t, "save", resp, body, http.StatusSeeOther)
	_, body = cuca.get(qpath + "?lang=vi")
	if !strings.Contains(body, "Đang nâng cấp TLS") || !strings.Contains(body, `value="partial" checked`) {
		t.Fatal("saved answers not shown")
	}
	// Evidence: upload, list, download as an attachment.
	doc := []byte("<html><script>alert(1)</script> Quy chế bảo đảm an toàn thông tin</html>")
	resp, body = cuca.postMultipart(qpath+"/evidence", map[string]string{"csrf": tok, "control": ctls[0][1]}, "quy-che.html", doc)
	expect(t, "upload", resp, body, http.StatusSeeOther)
	_, body = cuca.get(qpath)
	m := regexp.MustCompile(`href="/evidence/(\d+)">quy-che\.html<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("uploaded file not listed")
	}
	dl, err := cuca.hc.Get(w.ts.URL + "/evidence/" + m[1])
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(dl.Body)
	dl.Body.Close()
	if dl.StatusCode != 200 || !bytes.Equal(got, doc) || dl.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("evidence download: %d %q %q", dl.StatusCode, dl.Header.Get("Content-Type"), dl.Header.Get("Content-Disposition"))
	}
	// Too large a file is refused.
	resp, body = cuca.postMultipart(qpath+"/evidence", map[string]string{"csrf": tok, "control": ctls[0][1]}, "big.bin", make([]byte, store.MaxEvidenceSize+1))
	expect(t, "upload 10 MiB + 1", resp, body, http.StatusRequestEntityTooLarge)
	// Submit: read-only afterwards.
	form.Set("do", "submit")
	resp, body = cuca.post(qpath, form, w.ts.URL)
	expect(t, "submit", resp, body, http.StatusSeeOther)
	_, body = cuca.get(qpath)
	if !strings.Contains(body, "đã nộp và bị khóa") || strings.Contains(body, `id="answers"`) || strings.Contains(body, "/reopen") {
		t.Fatalf("submitted questionnaire is not read-only for the agency")
	}
	resp, body = cuca.post(qpath, form, w.ts.URL)
	expect(t, "answer after submit", resp, body, http.StatusConflict)

	// The national level sees the submission and the synthesis.
	code, body = admin.get("/campaigns/" + cid + "?lang=en")
	if code != 200 || !strings.Contains(body, `<span class="badge submitted">Submitted</span>`) {
		t.Fatalf("status after submit: %d\n%s", code, body)
	}
	wantPct := fmt.Sprintf("%.1f %%", 100*(float64(len(ctls))-0.5)/float64(len(ctls)))
	if !strings.Contains(body, wantPct) || !strings.Contains(body, `<svg class="chart bars"`) || !strings.Contains(body, "100.0 %") {
		t.Fatalf("synthesis: want %s and per-control bars\n%s", wantPct, body)
	}
	// Remind those who have not submitted: the province's agency.
	tok = admin.csrf("/campaigns/" + cid)
	resp, body = admin.post("/campaigns/"+cid+"/remind", url.Values{"csrf": {tok}}, w.ts.URL)
	expect(t, "remind", resp, body, http.StatusSeeOther)
	if len(rem.calls) != 1 || len(rem.calls[0]) != 1 || rem.calls[0][0] != w.orgs["SOB"].ID {
		t.Fatalf("reminders: %v", rem.calls)
	}
	_, body = admin.get("/campaigns/" + cid)
	if !strings.Contains(body, "<td>admin</td>") {
		t.Fatalf("reminder not listed")
	}
	// The campaign's owner reopens.
	_, body = admin.get(qpath)
	if !strings.Contains(body, qpath+"/reopen") {
		t.Fatal("no reopen form for the national level")
	}
	resp, body = admin.post(qpath+"/reopen", url.Values{"csrf": {tok}, "reason": {"Bổ sung minh chứng"}}, w.ts.URL)
	expect(t, "reopen", resp, body, http.StatusSeeOther)
	_, body = cuca.get(qpath)
	if !strings.Contains(body, `id="answers"`) {
		t.Fatal("reopened questionnaire is not editable")
	}
}

// TestSelfAssessmentFromOrgPage starts the baseline questionnaire from the
// organization page.
func TestSelfAssessmentFromOrgPage(t *testing.T) {
	w, _ := newAssessWorld(t)
	c := w.client()
	c.login("cuca", "")
	opath := fmt.Sprintf("/orgs/%d", w.orgs["CUCA"].ID)
	_, body := c.get(opath)
	if !strings.Contains(body, opath+"/self-assessment") || !strings.Contains(body, opath+"/notifications") {
		t.Fatal("org page lacks the self-assessment and notifications links")
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	resp, body := c.post(opath+"/self-assessment", url.Values{"csrf": {tok}}, w.ts.URL)
	expect(t, "self-assessment", resp, body, http.StatusSeeOther)
	aid := locationID(t, resp)
	resp2, _ := c.post(opath+"/self-assessment", url.Values{"csrf": {tok}}, w.ts.URL)
	if locationID(t, resp2) != aid {
		t.Fatal("a second start made another questionnaire")
	}
	if code, body := c.get("/assessments/" + aid); code != 200 || !strings.Contains(body, "BL-TLS-1") {
		t.Fatalf("questionnaire: %d", code)
	}
	// Without the service the pages are hidden.
	w.srv.Assess = nil
	if code, _ := c.get("/assessments/" + aid); code != 404 {
		t.Fatalf("assessments without the service: %d", code)
	}
	if _, body := c.get("/"); strings.Contains(body, `href="/campaigns"`) {
		t.Fatal("nav shows campaigns without the service")
	}
}

// TestAssessTenancy: an agency cannot open another agency's campaign,
// questionnaire, evidence, notifications or report (404), nor change them.
func TestAssessTenancy(t *testing.T) {
	w, _ := newAssessWorld(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	own := w.openCampaign("CUCA", "CUCA") // CUCA's own campaign
	a, err := w.srv.Assess.Start(ctx, sys, w.orgs["CUCA"].ID, "baseline", own.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	self, err := w.srv.Assess.Start(ctx, sys, w.orgs["CUCA"].ID, "baseline", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctl := "BL-TLS-1"
	e := store.EvidenceFile{AssessmentID: a.ID, ControlID: ctl, Name: "mat.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 secret")}
	if err := w.st.AddEvidence(ctx, sys, &e); err != nil {
		t.Fatal(err)
	}
	h := store.Webhook{OrgID: w.orgs["CUCA"].ID, URL: "https://hooks.cuca.example.vn/rampart", Secret: "0123456789abcdef0123", Enabled: true}
	if err := w.st.CreateWebhook(ctx, sys, &h); err != nil {
		t.Fatal(err)
	}
	cuca := fmt.Sprint(w.orgs["CUCA"].ID)
	sob := w.client()
	sob.login("sob", "")
	for _, path := range []string{
		fmt.Sprintf("/campaigns/%d", own.ID),
		fmt.Sprintf("/assessments/%d", a.ID),
		fmt.Sprintf("/assessments/%d", self.ID),
		fmt.Sprintf("/evidence/%d", e.ID),
		"/orgs/" + cuca + "/notifications",
		"/reports?org_id=" + cuca,
		"/reports/download?format=pdf&org_id=" + cuca,
		"/reports/download?format=html&org_id=" + cuca,
	} {
		if code, body := sob.get(path); code != http.StatusNotFound || strings.Contains(body, "mat.pdf") || strings.Contains(body, "hooks.cuca") {
			t.Errorf("sob GET %s: %d, want 404", path, code)
		}
	}
	tok := sob.csrf("/campaigns")
	for path, form := range map[string]url.Values{
		fmt.Sprintf("/campaigns/%d/remind", own.ID):             {},
		fmt.Sprintf("/campaigns/%d/start", own.ID):              {"org_id": {cuca}},
		fmt.Sprintf("/assessments/%d", a.ID):                    {"do": {"submit"}, "a." + ctl: {"implemented"}},
		fmt.Sprintf("/assessments/%d/reopen", a.ID):             {"reason": {"x"}},
		fmt.Sprintf("/evidence/%d/delete", e.ID):                {},
		"/orgs/" + cuca + "/self-assessment":                    {},
		"/orgs/" + cuca + "/notifications":                      {"language": {"en"}, "alert_min_severity": {"high"}, "digest_period": {"daily"}, "digest_weekday": {"1"}, "digest_hour": {"8"}},
		"/orgs/" + cuca + "/webhooks":                           {"url": {"https://evil.example/"}, "secret": {"0123456789abcdef0123"}},
		fmt.Sprintf("/orgs/%s/webhooks/%d/enabled", cuca, h.ID): {"enabled": {"0"}},
		fmt.Sprintf("/orgs/%s/webhooks/%d/delete", cuca, h.ID):  {},
	} {
		form.Set("csrf", tok)
		if resp, _ := sob.post(path, form, w.ts.URL); resp.StatusCode != http.StatusNotFound {
			t.Errorf("sob POST %s: %d, want 404", path, resp.StatusCode)
		}
	}
	if resp, _ := sob.postMultipart(fmt.Sprintf("/assessments/%d/evidence", a.ID), map[string]string{"csrf": tok, "control": ctl}, "x.txt", []byte("x")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("sob upload: %d, want 404", resp.StatusCode)
	}
	// Nothing changed.
	got, err := w.st.GetAssessment(ctx, sys, a.ID)
	if err != nil || got.State != store.AssessmentDraft || len(got.Answers) != 0 || len(got.Evidence) != 1 {
		t.Fatalf("assessment changed: %+v %v", got, err)
	}
	hs, _ := w.st.ListWebhooks(ctx, sys, w.orgs["CUCA"].ID)
	if len(hs) != 1 || !hs[0].Enabled {
		t.Fatalf("webhooks changed: %+v", hs)
	}
	// The campaign list of the other agency does not show it.
	if _, body := sob.get("/campaigns"); strings.Contains(body, own.Title) {
		t.Error("sob sees CUCA's campaign in the list")
	}
	// CUCA itself sees them all.
	c := w.client()
	c.login("cuca", "")
	for _, path := range []string{fmt.Sprintf("/campaigns/%d", own.ID), fmt.Sprintf("/assessments/%d", a.ID), fmt.Sprintf("/evidence/%d", e.ID),
		"/orgs/" + cuca + "/notifications", "/reports?org_id=" + cuca} {
		if code, _ := c.get(path); code != 200 {
			t.Errorf("cuca GET %s: %d", path, code)
		}
	}
}

// TestNewFormsNeedCSRF posts every new form without its token, and from
// another origin: both are refused and change nothing.
func TestNewFormsNeedCSRF(t *testing.T) {
	w, rem := newAssessWorld(t)
	ctx := context.Background()
	cp := w.openCampaign("VN", "VN", org.KindAgency)
	a, err := w.srv.Assess.Start(ctx, auth.SystemPrincipal, w.orgs["CUCA"].ID, "baseline", cp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	e := store.EvidenceFile{AssessmentID: a.ID, ControlID: "BL-TLS-1", Name: "a.txt", Data: []byte("a")}
	if err := w.st.AddEvidence(ctx, auth.SystemPrincipal, &e); err != nil {
		t.Fatal(err)
	}
	h := store.Webhook{OrgID: w.orgs["CUCA"].ID, URL: "https://hooks.cuca.example.vn/", Secret: "0123456789abcdef0123", Enabled: true}
	if err := w.st.CreateWebhook(ctx, auth.SystemPrincipal, &h); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	c.login("admin", "")
	good := c.csrf("/campaigns")
	cuca := fmt.Sprint(w.orgs["CUCA"].ID)
	posts := map[string]url.Values{
		"/campaigns": {"framework": {"baseline"}, "title": {"t"}, "deadline": {"2030-04-01"}, "target_root": {cuca}},
		fmt.Sprintf("/campaigns/%d/remind", cp.ID):              {},
		fmt.Sprintf("/campaigns/%d/start", cp.ID):               {"org_id": {fmt.Sprint(w.orgs["SOB"].ID)}},
		fmt.Sprintf("/assessments/%d", a.ID):                    {"do": {"submit"}},
		fmt.Sprintf("/assessments/%d/reopen", a.ID):             {"reason": {"x"}},
		fmt.Sprintf("/evidence/%d/delete", e.ID):                {},
		"/orgs/" + cuca + "/self-assessment":                    {},
		"/orgs/" + cuca + "/notifications":                      {"language": {"en"}},
		"/orgs/" + cuca + "/webhooks":                           {"url": {"https://x.example/"}, "secret": {"0123456789abcdef0123"}},
		fmt.Sprintf("/orgs/%s/webhooks/%d/enabled", cuca, h.ID): {"enabled": {"0"}},
		fmt.Sprintf("/orgs/%s/webhooks/%d/delete", cuca, h.ID):  {},
	}
	for path, form := range posts {
		if resp, _ := c.post(path, form, w.ts.URL); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d, want 403", path, resp.StatusCode)
		}
		form.Set("csrf", good)
		if resp, _ := c.post(path, form, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s from another origin: %d, want 403", path, resp.StatusCode)
		}
	}
	if resp, _ := c.postMultipart(fmt.Sprintf("/assessments/%d/evidence", a.ID), map[string]string{"control": "BL-TLS-1"}, "x.txt", []byte("x")); resp.StatusCode != http.StatusForbidden {
		t.Errorf("upload without a token: %d", resp.StatusCode)
	}
	if page, _ := w.st.ListCampaigns(ctx, auth.SystemPrincipal, store.CampaignFilter{}); len(page.Items) != 1 {
		t.Errorf("campaigns: %d", len(page.Items))
	}
	got, _ := w.st.GetAssessment(ctx, auth.SystemPrincipal, a.ID)
	hs, _ := w.st.ListWebhooks(ctx, auth.SystemPrincipal, w.orgs["CUCA"].ID)
	if got.State != store.AssessmentDraft || len(got.Evidence) != 1 || len(hs) != 1 || !hs[0].Enabled || len(rem.calls) != 0 {
		t.Errorf("something changed: %+v %+v %v", got, hs, rem.calls)
	}
}

func TestReportDownloads(t *testing.T) {
	w, _ := newAssessWorld(t)
	c := w.client()
	c.login("admin", "")
	code, body := c.get("/reports")
	if code != 200 || !strings.Contains(body, `<iframe class="report" src="/reports/download?org_id=0&amp;lang=vi&amp;format=html"`) {
		t.Fatalf("reports page: %d\n%s", code, body)
	}
	hn := fmt.Sprint(w.orgs["HN"].ID)
	for _, tc := range []struct{ format, ct, magic string }{
		{"pdf", "application/pdf", "%PDF-"},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK"},
		{"csv", "text/csv; charset=utf-8", ""},
		{"html", "text/html; charset=utf-8", "<!DOCTYPE html>"},
	} {
		for _, lang := range []string{"vi", "en"} {
			resp, err := c.hc.Get(w.ts.URL + "/reports/download?org_id=" + hn + "&lang=" + lang + "&format=" + tc.format)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			cd := resp.Header.Get("Content-Disposition")
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ct || !bytes.HasPrefix(b, []byte(tc.magic)) {
				t.Errorf("%s %s: %d %q", tc.format, lang, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if tc.format == "html" {
				if cd != "" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'self'") {
					t.Errorf("html: disposition %q, csp %q", cd, resp.Header.Get("Content-Security-Policy"))
				}
				if lang == "vi" && !strings.Contains(string(b), "Thành phố Hà Nội") {
					t.Errorf("html report lacks the organization")
				}
			} else if want := `attachment; filename=rampart-report-HN-` + lang + `.` + tc.format; cd != want {
				t.Errorf("%s: disposition %q, want %q", tc.format, cd, want)
			}
			if tc.format == "csv" && !strings.Contains(string(b), "SOB") {
				t.Errorf("csv lacks the agency")
			}
		}
	}
	if code, _ := c.get("/reports/download?format=doc"); code != 400 {
		t.Errorf("format=doc: %d", code)
	}
	// An agency's "everything" is its own subtree.
	s := w.client()
	s.login("sob", "")
	_, body = s.get("/reports/download?format=csv")
	if !strings.Contains(body, "SOB") || strings.Contains(body, "CUCA") {
		t.Errorf("sob's report:\n%s", body)
	}
}

func TestNotificationsPage(t *testing.T) {
	w, _ := newAssessWorld(t)
	ctx := context.Background()
	cuca := w.orgs["CUCA"].ID
	ds := []*store.Delivery{
		{Key: "d1", OrgID: cuca, Kind: store.NotifyDigest, Channel: store.ChannelEmail, Recipient: "an@cuca.example.vn", Subject: "s"},
		{Key: "d2", OrgID: cuca, Kind: store.NotifyAlert, Channel: store.ChannelWebhook, Recipient: "https://hooks.cuca.example.vn/x", Subject: "s"},
		{Key: "d3", OrgID: w.orgs["SOB"].ID, Kind: store.NotifyAlert, Channel: store.ChannelEmail, Recipient: "x@sob.example.vn", Subject: "s"},
	}
	if err := w.st.EnqueueDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, ok, err := w.st.ClaimDelivery(ctx, ds[1].ID, now.Add(time.Minute), now.Add(2*time.Minute)); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := w.st.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: ds[1].ID, Attempt: 1, At: now, Error: "connection refused <b>"}, store.DeliveryFailed, nil); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	c.login("cuca", "")
	path := fmt.Sprintf("/orgs/%d/notifications", cuca)
	code, body := c.get(path + "?lang=en")
	if code != 200 || !strings.Contains(body, `<tr class="failed">`) || !strings.Contains(body, "connection refused &lt;b&gt;") ||
		!strings.Contains(body, "an@cuca.example.vn") || strings.Contains(body, "x@sob.example.vn") {
		t.Fatalf("delivery log: %d\n%s", code, body)
	}
	if _, body := c.get(path + "?state=failed"); strings.Contains(body, "an@cuca.example.vn") || !strings.Contains(body, "hooks.cuca") {
		t.Fatal("state filter")
	}
	tok := csrfRE.FindStringSubmatch(body)[1]
	resp, body := c.post(path, url.Values{"csrf": {tok}, "language": {"en"}, "channel": {"email", "webhook"}, "alert_min_severity": {"high"},
		"digest_period": {"weekly"}, "digest_weekday": {"3"}, "digest_hour": {"7"}, "business_days_only": {"1"}}, w.ts.URL)
	expect(t, "prefs", resp, body, http.StatusSeeOther)
	np, err := w.st.GetNotifyPrefs(ctx, auth.SystemPrincipal, cuca)
	if err != nil || np.Language != "en" || !np.Has(store.ChannelWebhook) || np.AlertMinSeverity != "high" || np.AlertKEV ||
		np.DigestPeriod != store.DigestWeekly || np.DigestWeekday != time.Wednesday || np.DigestHour != 7 || !np.BusinessDaysOnly {
		t.Fatalf("prefs: %+v %v", np, err)
	}
	resp, body = c.post(path, url.Values{"csrf": {tok}, "language": {"fr"}, "alert_min_severity": {"high"}, "digest_period": {"daily"}, "digest_weekday": {"1"}, "digest_hour": {"7"}}, w.ts.URL)
	expect(t, "bad prefs", resp, body, http.StatusBadRequest)
	// Webhooks: add, disable, delete.
	resp, body = c.post(fmt.Sprintf("/orgs/%d/webhooks", cuca), url.Values{"csrf": {tok}, "url": {"https://hooks.cuca.example.vn/rampart"}, "secret": {"short"}}, w.ts.URL)
	expect(t, "short secret", resp, body, http.StatusBadRequest)
	resp, body = c.post(fmt.Sprintf("/orgs/%d/webhooks", cuca), url.Values{"csrf": {tok}, "url": {"https://hooks.cuca.example.vn/rampart"}, "secret": {"0123456789abcdef0123"}, "event": {"alert"}}, w.ts.URL)
	expect(t, "add webhook", resp, body, http.StatusSeeOther)
	hs, _ := w.st.ListWebhooks(ctx, auth.SystemPrincipal, cuca)
	if len(hs) != 1 || !hs[0].Enabled || len(hs[0].Events) != 1 {
		t.Fatalf("webhooks: %+v", hs)
	}
	_, body = c.get(path)
	if strings.Contains(body, "0123456789abcdef0123") {
		t.Fatal("the secret is shown")
	}
	hp := fmt.Sprintf("/orgs/%d/webhooks/%d", cuca, hs[0].ID)
	resp, body = c.post(hp+"/enabled", url.Values{"csrf": {tok}, "enabled": {"0"}}, w.ts.URL)
	expect(t, "disable", resp, body, http.StatusSeeOther)
	if hs, _ = w.st.ListWebhooks(ctx, auth.SystemPrincipal, cuca); hs[0].Enabled {
		t.Fatal("still enabled")
	}
	resp, body = c.post(hp+"/delete", url.Values{"csrf": {tok}}, w.ts.URL)
	expect(t, "delete", resp, body, http.StatusSeeOther)
	if hs, _ = w.st.ListWebhooks(ctx, auth.SystemPrincipal, cuca); len(hs) != 0 {
		t.Fatal("not deleted")
	}
}

// TestGoldenAssessPages renders the new pages for a platform admin in
// both languages.
func TestGoldenAssessPages(t *testing.T) {
	w, _ := newAssessWorld(t)
	cp := w.openCampaign("VN", "VN", org.KindAgency)
	a, err := w.srv.Assess.Start(context.Background(), auth.SystemPrincipal, w.orgs["CUCA"].ID, "baseline", cp.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := w.client()
	c.login("admin", "")
	pages := map[string]string{
		"reports":       fmt.Sprintf("/reports?org_id=%d", w.orgs["HN"].ID),
		"campaigns":     "/campaigns",
		"campaign":      fmt.Sprintf("/campaigns/%d", cp.ID),
		"assessment":    fmt.Sprintf("/assessments/%d", a.ID),
		"notifications": fmt.Sprintf("/orgs/%d/notifications", w.orgs["CUCA"].ID),
	}
	for _, lang := range []string{"vi", "en"} {
		for name, path := range pages {
			sep := "?"
			if containsQ(path) {
				sep = "&"
			}
			code, body := c.get(path + sep + "lang=" + lang)
			if code != 200 {
				t.Fatalf("%s: %d\n%s", path, code, body)
			}
			golden(t, name+"."+lang+".html", body)
		}
	}
}
