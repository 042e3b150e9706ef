package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/store"
)

// monday9 is Monday 23 November 2026, 09:00 in Vietnam.
var monday9 = time.Date(2026, 11, 23, 9, 0, 0, 0, ict)

func TestDigestEndToEnd(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9}
	n := w.notifier(t, sink, clk, notify.Options{})

	// Seen over the last day: a critical KEV finding, a medium one; one
	// seen twice (deduplicated by key); one in the unit below AG.
	w.record(w.asset, monday9.Add(-20*time.Hour),
		f("http.rce", "Lỗ hổng thực thi mã từ xa trên cổng quản trị", finding.Critical, true),
		f("tls.weak", "Chứng chỉ TLS yếu", finding.Medium, false))
	w.record(w.asset, monday9.Add(-10*time.Hour), f("tls.weak", "Chứng chỉ TLS yếu", finding.Medium, false))
	w.record(w.unitAsset, monday9.Add(-5*time.Hour), f("dns.axfr", "Cho phép chuyển vùng DNS", finding.High, false))

	if err := n.SendDue(w.ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"an@attt.gov.vn", "bob@attt.gov.vn", "chi@mic.gov.vn", "dung@vncert.vn"} {
		if got := len(sink.to(who)); got != 1 {
			t.Fatalf("%s got %d digests, want 1", who, got)
		}
	}
	vi := parse(t, sink.to("an@attt.gov.vn")[0])
	if !strings.Contains(vi.Subject, "Bản tổng hợp an toàn thông tin Cục An toàn thông tin") || !strings.Contains(vi.Subject, "23/11/2026") {
		t.Errorf("vi subject: %q", vi.Subject)
	}
	for _, part := range []string{vi.Text, vi.HTML} {
		for _, want := range []string{"Kính gửi Nguyễn Văn An", "Phát hiện mới (3)", "Lỗ hổng thực thi mã từ xa trên cổng quản trị", "Nghiêm trọng", "đang bị khai thác (KEV)", "Chứng chỉ TLS yếu", "Cho phép chuyển vùng DNS"} {
			if !strings.Contains(part, want) {
				t.Errorf("vi digest part lacks %q:\n%s", want, part)
			}
		}
	}
	if strings.Count(vi.Text, "Chứng chỉ TLS yếu") != 1 {
		t.Errorf("a finding seen twice is listed %d times", strings.Count(vi.Text, "Chứng chỉ TLS yếu"))
	}
	en := parse(t, sink.to("bob@attt.gov.vn")[0])
	if !strings.HasPrefix(en.Subject, "[Rampart] Security digest Authority of Information Security") {
		t.Errorf("en subject: %q", en.Subject)
	}
	if !strings.Contains(en.Text, "Dear Bob Smith") || !strings.Contains(en.HTML, "New findings (3)") || !strings.Contains(en.Text, "Critical") {
		t.Errorf("en digest:\n%s", en.Text)
	}
	// The ministry's digest covers its subtree.
	chi := parse(t, sink.to("chi@mic.gov.vn")[0])
	if !strings.Contains(chi.Text, "Cho phép chuyển vùng DNS") || !strings.Contains(chi.Text, "Bộ Thông tin và Truyền thông") ||
		!strings.Contains(chi.Text, "(Trung tâm Giám sát an toàn không gian mạng (TT-GSAT))") {
		t.Errorf("ministry digest:\n%s", chi.Text)
	}

	// Idempotent in the period, and through a second notifier.
	clk.Set(monday9.Add(3 * time.Hour))
	if err := n.SendDue(w.ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := w.notifier(t, sink, clk, notify.Options{}).SendDigestsNow(w.ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(sink.all()); got != 4 {
		t.Fatalf("after sending again in the same period: %d mails, want 4", got)
	}
	// Next day: only what is new since (one finding).
	w.record(w.asset, monday9.Add(5*time.Hour), f("http.dirlist", "Liệt kê thư mục", finding.Low, false))
	clk.Set(monday9.Add(24 * time.Hour))
	if err := n.SendDue(w.ctx, clk.Now()); err != nil {
		t.Fatal(err)
	}
	an := sink.to("an@attt.gov.vn")
	if len(an) != 2 {
		t.Fatalf("Tuesday: %d digests for an", len(an))
	}
	tue := parse(t, an[1])
	if !strings.Contains(tue.Text, "Liệt kê thư mục") || strings.Contains(tue.Text, "Chứng chỉ TLS yếu") || !strings.Contains(tue.Subject, "24/11/2026") {
		t.Errorf("Tuesday digest repeats Monday's news or misses the new one:\n%s", tue.Text)
	}
	if an[0].Data == nil || parse(t, an[0]).ID == tue.ID {
		t.Error("two digests share a Message-ID")
	}
	for _, d := range w.deliveries(store.DeliveryFilter{Kind: store.NotifyDigest}) {
		if d.State != store.DeliverySent || d.Attempts != 1 {
			t.Errorf("delivery %s: %s after %d attempts", d.Key, d.State, d.Attempts)
		}
	}
}

func TestDigestBusinessDaysAndWeekly(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	saturday := monday9.AddDate(0, 0, 5)
	clk := &clock{t: saturday}
	n := w.notifier(t, sink, clk, notify.Options{})
	w.record(w.asset, saturday.Add(-2*time.Hour), f("http.rce", "Lỗ hổng RCE", finding.Critical, false))
	must(t, n.SendDue(w.ctx, saturday))
	if got := len(sink.all()); got != 0 {
		t.Fatalf("%d digests on a Saturday with business days only", got)
	}
	// Before the hour on Monday: nothing; at 08:00: the weekend is covered.
	nextMonday := monday9.AddDate(0, 0, 7)
	must(t, n.SendDue(w.ctx, nextMonday.Add(-2*time.Hour)))
	if got := len(sink.all()); got != 0 {
		t.Fatalf("%d digests before the digest hour", got)
	}
	must(t, n.SendDue(w.ctx, nextMonday))
	an := sink.to("an@attt.gov.vn")
	if len(an) != 1 || !strings.Contains(parse(t, an[0]).Text, "Lỗ hổng RCE") {
		t.Fatalf("Monday digest misses the weekend's finding (%d mails)", len(an))
	}

	// Weekly on Wednesday, every day of the week: the ministry gets one.
	np, err := w.st.GetNotifyPrefs(w.ctx, sys, w.min.ID)
	must(t, err)
	np.DigestPeriod, np.DigestWeekday, np.BusinessDaysOnly = store.DigestWeekly, time.Wednesday, false
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &np))
	before := len(sink.to("chi@mic.gov.vn"))
	w.record(w.asset, nextMonday.Add(20*time.Hour), f("dns.open", "Máy chủ DNS mở đệ quy", finding.High, false))
	for d := 1; d < 7; d++ { // Tuesday .. Sunday of that week
		must(t, n.SendDue(w.ctx, nextMonday.AddDate(0, 0, d)))
	}
	if got := len(sink.to("chi@mic.gov.vn")) - before; got != 1 {
		t.Fatalf("weekly digest sent %d times in a week", got)
	}
	wk := parse(t, sink.to("chi@mic.gov.vn")[before])
	if !strings.Contains(wk.Subject, "tuần 49/2026") || !strings.Contains(wk.Text, "Máy chủ DNS mở đệ quy") {
		t.Errorf("weekly subject: %q", wk.Subject)
	}
}

func TestAlertsBatchedPerContact(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	hook := startHook(t, "webhook-secret-0123456789", 0)
	wh := store.Webhook{OrgID: w.ag.ID, URL: hook.srv.URL + "/rampart", Secret: hook.secret, Enabled: true, Events: []string{store.NotifyAlert}}
	must(t, w.st.CreateWebhook(w.ctx, sys, &wh))
	np := store.DefaultNotifyPrefs(w.ag.ID)
	np.Channels = []store.Channel{store.ChannelEmail, store.ChannelWebhook}
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &np))

	clk := &clock{t: monday9.Add(2 * time.Hour)}
	n := w.notifier(t, sink, clk, notify.Options{})
	p := w.pipeline(t, n)
	var seen []store.Finding
	for i := range 50 {
		x := f(fmt.Sprintf("vuln.cve-%02d", i), fmt.Sprintf("Lỗ hổng nghiêm trọng số %d", i), finding.Critical, false)
		seen = append(seen, x)
	}
	seen = append(seen, f("tls.old", "Giao thức TLS cũ", finding.Medium, false), f("vuln.kev", "Lỗ hổng đang bị khai thác", finding.Low, true))
	// Two scans 20 seconds apart; their events reach the notifier through
	// the outbox, the relay and the queue.
	changes := w.record(w.asset, clk.Now(), seen[:30]...)
	p.settle()
	clk.Set(clk.Now().Add(20 * time.Second))
	changes = append(changes, w.record(w.asset, clk.Now(), seen[30:]...)...)
	if len(changes) != 52 {
		t.Fatalf("%d changes", len(changes))
	}
	p.settle()
	p.republish(changes[:10]) // redelivered events: no duplicates
	p.settle()
	must(t, n.FlushAlerts(w.ctx, clk.Now().Add(30*time.Second)))
	if got := len(sink.all()); got != 0 {
		t.Fatalf("%d alerts inside the window", got)
	}
	must(t, n.FlushAlerts(w.ctx, clk.Now().Add(41*time.Second)))
	if got := len(sink.all()); got != 2 {
		t.Fatalf("%d alert mails, want one per AG contact (2)", got)
	}
	if len(sink.to("chi@mic.gov.vn")) != 0 {
		t.Error("the parent's contacts got an alert")
	}
	a := parse(t, sink.to("an@attt.gov.vn")[0])
	if !strings.Contains(a.Subject, "Cảnh báo khẩn: 51 phát hiện nghiêm trọng tại Cục An toàn thông tin") {
		t.Errorf("alert subject: %q", a.Subject)
	}
	if strings.Count(a.Text, "Lỗ hổng nghiêm trọng số") != 50 || !strings.Contains(a.HTML, "Lỗ hổng đang bị khai thác") || strings.Contains(a.Text, "Giao thức TLS cũ") {
		t.Errorf("alert lists the wrong findings:\n%s", a.Text)
	}
	b := parse(t, sink.to("bob@attt.gov.vn")[0])
	if !strings.Contains(b.Subject, "Urgent: 51 critical findings") {
		t.Errorf("en alert subject: %q", b.Subject)
	}
	bodies := hook.unique()
	if len(bodies) != 1 {
		t.Fatalf("webhook got %d alerts, want 1", len(bodies))
	}
	for _, body := range bodies {
		var ev struct {
			Event    string `json:"event"`
			Findings []struct {
				Title   string `json:"title"`
				Section string `json:"section"`
			} `json:"findings"`
		}
		must(t, json.Unmarshal(body, &ev))
		if ev.Event != "alert" || len(ev.Findings) != 51 || ev.Findings[0].Section != "new" || !strings.HasPrefix(ev.Findings[0].Title, "Lỗ hổng") {
			t.Errorf("webhook alert: %s", body)
		}
	}
	// Nothing more to flush.
	must(t, n.FlushAlerts(w.ctx, clk.Now().Add(time.Hour)))
	if got := len(sink.all()); got != 2 {
		t.Fatalf("flush again sent %d", got-2)
	}
}

func TestWebhookRetriesAndReceiverDedup(t *testing.T) {
	w := newWorld(t)
	hook := startHook(t, "another-secret-abcdefgh", 2)
	wh := store.Webhook{OrgID: w.ag.ID, URL: hook.srv.URL, Secret: hook.secret, Enabled: true}
	must(t, w.st.CreateWebhook(w.ctx, sys, &wh))
	np := store.DefaultNotifyPrefs(w.ag.ID)
	np.Channels = []store.Channel{store.ChannelWebhook}
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &np))
	w.record(w.asset, monday9.Add(-time.Hour), f("http.rce", "Lỗ hổng RCE", finding.Critical, true))

	clk := &clock{t: monday9}
	n := w.notifier(t, nil, clk, notify.Options{RetryBase: time.Minute})
	must(t, n.SendDue(w.ctx, monday9)) // attempt 1 fails
	ds := w.deliveries(store.DeliveryFilter{Channel: store.ChannelWebhook})
	if len(ds) != 1 || ds[0].State != store.DeliveryPending || ds[0].Attempts != 1 || !strings.Contains(ds[0].LastError, "503") {
		t.Fatalf("after the first failure: %+v", ds)
	}
	must(t, n.Retry(w.ctx, monday9.Add(30*time.Second))) // not due yet
	must(t, n.Retry(w.ctx, monday9.Add(time.Minute)))    // attempt 2 fails, next in 2 minutes
	must(t, n.Retry(w.ctx, monday9.Add(2*time.Minute)))  // not due
	must(t, n.Retry(w.ctx, monday9.Add(3*time.Minute)))  // attempt 3 succeeds
	ds = w.deliveries(store.DeliveryFilter{Channel: store.ChannelWebhook})
	if ds[0].State != store.DeliverySent || ds[0].Attempts != 3 {
		t.Fatalf("after retries: %+v", ds[0])
	}
	if hook.calls != 3 || len(hook.unique()) != 1 {
		t.Fatalf("receiver: %d calls, %d unique", hook.calls, len(hook.unique()))
	}
	att, err := w.st.DeliveryAttempts(w.ctx, sys, ds[0].ID)
	must(t, err)
	if len(att) != 3 || att[0].OK || att[1].OK || !att[2].OK {
		t.Fatalf("attempts: %+v", att)
	}

	// A crash between sending and recording: the lease runs out and the
	// same delivery (same key, same body) goes again; the receiver keeps one.
	d := &store.Delivery{Key: "manual/crash-test", OrgID: w.ag.ID, Kind: store.NotifyAlert, Channel: store.ChannelWebhook,
		WebhookID: wh.ID, Recipient: wh.URL, Payload: json.RawMessage(`{"id":"manual/crash-test","event":"alert","findings":[]}`)}
	at := monday9.Add(time.Hour)
	d.NextAttemptAt = &at
	must(t, w.st.EnqueueDeliveries(w.ctx, []*store.Delivery{d}))
	claimed, ok, err := w.st.ClaimDelivery(w.ctx, d.ID, at, at.Add(10*time.Minute))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	_ = claimed // "sent", then the process died before RecordAttempt
	must(t, n.Retry(w.ctx, at.Add(5*time.Minute)))
	if ds := w.deliveries(store.DeliveryFilter{State: store.DeliverySent}); len(ds) != 1 {
		t.Fatalf("resent inside the lease")
	}
	must(t, n.Retry(w.ctx, at.Add(10*time.Minute)))
	if ds := w.deliveries(store.DeliveryFilter{State: store.DeliverySent}); len(ds) != 2 || ds[0].Attempts != 2 {
		t.Fatalf("not resent after the lease: %+v", ds)
	}
}

func TestFailedDeliveryStaysVisible(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{rejectTo: "bob@attt.gov.vn"})
	hook := startHook(t, "always-failing-secret", 0)
	hook.always = true
	wh := store.Webhook{OrgID: w.ag.ID, URL: hook.srv.URL, Secret: hook.secret, Enabled: true}
	must(t, w.st.CreateWebhook(w.ctx, sys, &wh))
	np := store.DefaultNotifyPrefs(w.ag.ID)
	np.Channels = []store.Channel{store.ChannelEmail, store.ChannelWebhook}
	must(t, w.st.SetNotifyPrefs(w.ctx, sys, &np))
	w.record(w.asset, monday9.Add(-time.Hour), f("http.rce", "Lỗ hổng RCE", finding.Critical, false))
	clk := &clock{t: monday9}
	n := w.notifier(t, sink, clk, notify.Options{MaxAttempts: 3, RetryBase: time.Minute})
	must(t, n.SendDue(w.ctx, monday9))
	for i := 1; i <= 5; i++ {
		must(t, n.Retry(w.ctx, monday9.Add(time.Duration(i)*time.Hour)))
	}
	failed := w.deliveries(store.DeliveryFilter{State: store.DeliveryFailed})
	if len(failed) != 2 {
		t.Fatalf("failed deliveries: %+v", failed)
	}
	for _, d := range failed {
		if d.Attempts != 3 || d.LastError == "" {
			t.Errorf("failed %s: %d attempts, error %q", d.Recipient, d.Attempts, d.LastError)
		}
		if d.Channel == store.ChannelEmail && (d.Recipient != "bob@attt.gov.vn" || !strings.Contains(d.LastError, "550")) {
			t.Errorf("failed mail: %+v", d)
		}
	}
	if hook.calls != 3 {
		t.Errorf("webhook tried %d times, want 3", hook.calls)
	}
	if len(sink.to("an@attt.gov.vn")) != 1 {
		t.Error("a's digest did not go out beside bob's failure")
	}
	// Visible to the organization through the tenancy-scoped log.
	page, err := w.st.ListDeliveries(w.ctx, auth.Principal{Name: "viewer@ag", Role: auth.RoleViewer, OrgID: w.ag.ID, OrgPath: w.ag.Path}, store.DeliveryFilter{State: store.DeliveryFailed})
	must(t, err)
	if len(page.Items) != 2 {
		t.Fatalf("the organization sees %d failed deliveries", len(page.Items))
	}
}

func TestEscalationUpTheHierarchy(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	first := monday9.AddDate(0, -3, 0)
	w.record(w.unitAsset, first, f("http.rce", "Lỗ hổng RCE chưa vá", finding.Critical, false)) // due first+15d
	due := first.AddDate(0, 0, 15)
	clk := &clock{t: due}
	n := w.notifier(t, sink, clk, notify.Options{EscalateAfter: 14})

	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 13)))
	if got := len(sink.all()); got != 0 {
		t.Fatalf("%d escalations before 14 days overdue", got)
	}
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 14).Add(time.Hour)))
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 20))) // same level again: nothing
	if len(sink.to("an@attt.gov.vn")) != 1 || len(sink.to("bob@attt.gov.vn")) != 1 || len(sink.all()) != 2 {
		t.Fatalf("parent escalation: %d mails (an %d)", len(sink.all()), len(sink.to("an@attt.gov.vn")))
	}
	e := parse(t, sink.to("an@attt.gov.vn")[0])
	if !strings.Contains(e.Subject, "Báo cáo vượt cấp: 1 phát hiện quá hạn") || !strings.Contains(e.Text, "Lỗ hổng RCE chưa vá") ||
		!strings.Contains(e.HTML, "Trung tâm Giám sát an toàn không gian mạng") || !strings.Contains(e.Text, "quá hạn 14 ngày") {
		t.Errorf("escalation mail: %q\n%s", e.Subject, e.Text)
	}
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 28).Add(time.Hour)))
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 30)))
	if len(sink.to("chi@mic.gov.vn")) != 1 || len(sink.all()) != 3 {
		t.Fatalf("grandparent escalation: %d mails, chi %d", len(sink.all()), len(sink.to("chi@mic.gov.vn")))
	}
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 43)))
	must(t, n.Escalate(w.ctx, due.AddDate(0, 0, 60))) // no level above the root
	if len(sink.to("dung@vncert.vn")) != 1 || len(sink.all()) != 4 {
		t.Fatalf("root escalation: %d mails", len(sink.all()))
	}
	// Escalations reach the unit's ancestors only, never the unit.
	for _, d := range w.deliveries(store.DeliveryFilter{Kind: store.NotifyEscalation}) {
		if d.OrgID == w.unit.ID || d.State != store.DeliverySent {
			t.Errorf("escalation delivery %+v", d)
		}
	}
}

func TestSMTPAuthAndStartTLSPolicy(t *testing.T) {
	sink := startSMTP(t, &smtpSink{user: "rampart", pass: "mat-khau-2026"})
	so, err := notify.ParseSMTPURL(sink.url(""))
	must(t, err)
	m, err := notify.NewSMTPMailer(so, "rampart@vncert.vn")
	must(t, err)
	must(t, m.Send(t.Context(), notify.Mail{To: "an@attt.gov.vn", Subject: "Thử nghiệm – tiếng Việt có dấu", Text: "Xin chào", HTML: "<p>Xin chào</p>"}))
	got := sink.all()
	if len(got) != 1 || got[0].From != "rampart@vncert.vn" {
		t.Fatalf("received %+v", got)
	}
	if p := parse(t, got[0]); p.Subject != "Thử nghiệm – tiếng Việt có dấu" || !strings.Contains(p.Text, "Xin chào") {
		t.Errorf("parsed %+v", p)
	}
	bad := so
	bad.Password = "sai"
	m2, _ := notify.NewSMTPMailer(bad, "rampart@vncert.vn")
	if err := m2.Send(t.Context(), notify.Mail{To: "an@attt.gov.vn", Subject: "x", Text: "x", HTML: "x"}); !errors.Is(err, notify.ErrSend) {
		t.Errorf("wrong password: %v", err)
	}
	// The sink offers no STARTTLS: mandatory refuses, opportunistic sends.
	for policy, ok := range map[string]bool{"mandatory": false, "opportunistic": true} {
		o, err := notify.ParseSMTPURL(strings.Replace(sink.url(""), "starttls=none", "starttls="+policy, 1))
		must(t, err)
		m, _ := notify.NewSMTPMailer(o, "rampart@vncert.vn")
		err = m.Send(t.Context(), notify.Mail{To: "an@attt.gov.vn", Subject: "x", Text: "x", HTML: "x"})
		if (err == nil) != ok {
			t.Errorf("starttls=%s: err %v", policy, err)
		}
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want notify.SMTPOptions
		err  bool
	}{
		{in: "smtp://mail.gov.vn", want: notify.SMTPOptions{Host: "mail.gov.vn", Port: 587, StartTLS: "mandatory"}},
		{in: "smtp://u%40x:p%3Ass@127.0.0.1:2525?starttls=opportunistic&auth=login",
			want: notify.SMTPOptions{Host: "127.0.0.1", Port: 2525, Username: "u@x", Password: "p:ss", StartTLS: "opportunistic", Auth: "login"}},
		{in: "smtps://relay:465", want: notify.SMTPOptions{Host: "relay", Port: 465, StartTLS: "mandatory", ImplicitTLS: true}},
		{in: "smtp://h:25?starttls=none&timeout=5s", want: notify.SMTPOptions{Host: "h", Port: 25, StartTLS: "none", Timeout: 5 * time.Second}},
		{in: "http://h", err: true},
		{in: "smtp://", err: true},
		{in: "smtp://h:99999", err: true},
		{in: "smtp://h?starttls=maybe", err: true},
		{in: "smtp://h?auth=kerberos", err: true},
		{in: "smtp://h?tls=1", err: true},
	} {
		got, err := notify.ParseSMTPURL(tc.in)
		if tc.err {
			if !errors.Is(err, notify.ErrSMTPURL) {
				t.Errorf("%s: err %v, want ErrSMTPURL", tc.in, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) || got.Password != tc.want.Password || got.Auth != tc.want.Auth || got.Timeout != tc.want.Timeout {
			t.Errorf("%s: got %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	o, _ := notify.ParseSMTPURL("smtp://user:secret@h:25")
	if strings.Contains(o.String(), "secret") {
		t.Errorf("String leaks the password: %s", o)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunSendsDueDigests(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9}
	w.record(w.asset, monday9.Add(-time.Hour), f("http.rce", "Lỗ hổng RCE", finding.Critical, false))
	n := w.notifier(t, sink, clk, notify.Options{Tick: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.all()) < 4 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more ticks: still one digest each
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if got := len(sink.all()); got != 4 {
		t.Fatalf("Run sent %d digests, want 4", got)
	}
}

// TestAlertsSurviveARestart: a notifier takes a critical finding's event
// and dies before its alert window ends; a new notifier, with nothing in
// memory, sends the alert once. Events delivered again after the restart
// add nothing.
func TestAlertsSurviveARestart(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9.Add(3 * time.Hour)}
	first := w.notifier(t, sink, clk, notify.Options{})
	p := w.pipeline(t, first)
	changes := w.record(w.asset, clk.Now(), f("http.rce", "Lỗ hổng RCE trên cổng quản trị", finding.Critical, false))
	p.settle()
	p.cons.Stop() // the process dies: nothing flushed

	clk.Set(clk.Now().Add(2 * time.Minute))
	second := w.notifier(t, sink, clk, notify.Options{})
	cons, err := second.Consume(w.ctx, p.q)
	must(t, err)
	defer cons.Stop()
	p.republish(changes)
	p.settle()
	must(t, second.FlushAlerts(w.ctx, clk.Now()))
	must(t, second.FlushAlerts(w.ctx, clk.Now().Add(time.Hour)))
	for _, who := range []string{"an@attt.gov.vn", "bob@attt.gov.vn"} {
		if got := len(sink.to(who)); got != 1 {
			t.Fatalf("%s got %d alerts, want 1", who, got)
		}
	}
	if got := len(sink.all()); got != 2 {
		t.Fatalf("%d mails, want 2", got)
	}
}
