package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/store"
)

// The notifier is what assess sends campaign reminders through.
var _ assess.Reminders = (*notify.Notifier)(nil)

// logBuffer is a slog destination safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// deadline30 is the campaign's deadline: 30 November 2026, 17:00 in Vietnam.
var deadline30 = time.Date(2026, 11, 30, 17, 0, 0, 0, ict)

// TestRemindersEndToEnd opens a campaign through package assess on the
// real store, reminds the late organizations through the notifier and
// checks the mails the SMTP server gets: one per contact, in the
// contact's language, once a day, a failure retried and then visible.
func TestRemindersEndToEnd(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{rejectTo: "chi@mic.gov.vn"})
	clk := &clock{t: monday9}
	var logs logBuffer
	n := w.notifier(t, sink, clk, notify.Options{MaxAttempts: 3, RetryBase: time.Minute, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	cat, err := assess.NewCatalog("", nil)
	must(t, err)
	svc := &assess.Service{Store: w.st, Frameworks: cat, Reminders: n, Now: clk.Now}
	natAdmin := auth.Principal{Name: "vncert-admin", Role: auth.RoleOrgAdmin, OrgID: w.nat.ID, OrgPath: w.nat.Path}
	c := store.Campaign{Framework: "baseline", Title: "Tự đánh giá an toàn thông tin 2026", Deadline: deadline30.UTC(),
		TargetOrgIDs: []int64{w.min.ID, w.ag.ID, w.unit.ID}}
	must(t, svc.OpenCampaign(w.ctx, natAdmin, &c))

	// MIN (chi), AG (an, bob) and the unit (no contacts) are late.
	r, err := svc.Remind(w.ctx, natAdmin, c.ID)
	if err != nil || len(r.OrgIDs) != 3 || r.Error != "" {
		t.Fatalf("remind: %+v, %v", r, err)
	}
	reminders := func() []store.Delivery { return w.deliveries(store.DeliveryFilter{Kind: notify.KindReminder}) }
	ds := reminders()
	if len(ds) != 3 {
		t.Fatalf("%d reminder deliveries, want one per contact (3): %+v", len(ds), ds)
	}
	for _, d := range ds {
		if d.State != store.DeliveryPending || d.Channel != store.ChannelEmail ||
			!strings.HasPrefix(d.Key, fmt.Sprintf("reminder/campaign:%d/org:%d/contact:", c.ID, d.OrgID)) || !strings.HasSuffix(d.Key, "/2026-11-23") {
			t.Errorf("reminder delivery %+v", d)
		}
	}
	if !strings.Contains(logs.String(), "without a contact") || !strings.Contains(logs.String(), fmt.Sprint(w.unit.ID)) {
		t.Errorf("the organization nobody can be reminded at is not logged:\n%s", logs.String())
	}

	// Delivered by the retry machinery.
	must(t, n.Retry(w.ctx, clk.Now()))
	if len(sink.to("an@attt.gov.vn")) != 1 || len(sink.to("bob@attt.gov.vn")) != 1 || len(sink.all()) != 2 {
		t.Fatalf("after the first send: an %d, bob %d, all %d", len(sink.to("an@attt.gov.vn")), len(sink.to("bob@attt.gov.vn")), len(sink.all()))
	}
	link := fmt.Sprintf("https://rampart.vncert.vn/campaigns/%d", c.ID)
	vi := parse(t, sink.to("an@attt.gov.vn")[0])
	if vi.Subject != "[Rampart] Nhắc nộp bản tự đánh giá: Tự đánh giá an toàn thông tin 2026 – hạn 30/11/2026" {
		t.Errorf("vi subject: %q", vi.Subject)
	}
	for _, part := range []string{vi.Text, vi.HTML} {
		for _, want := range []string{"Kính gửi Nguyễn Văn An", "Cục An toàn thông tin chưa nộp bản tự đánh giá", "Đợt đánh giá: Tự đánh giá an toàn thông tin 2026",
			"Hạn nộp: 17:00 30/11/2026 (giờ Việt Nam)", "Còn 7 ngày.", "Việc cần làm:", "Đăng nhập cổng Rampart và mở đợt đánh giá: " + link,
			"Nộp bản tự đánh giá trước ngày 30/11/2026", "bỏ qua thư này"} {
			if !strings.Contains(part, want) {
				t.Errorf("vi reminder lacks %q:\n%s", want, part)
			}
		}
	}
	if !strings.Contains(vi.Text, "  1. Đăng nhập") || !strings.Contains(vi.Text, "  3. Nộp") || !strings.Contains(vi.HTML, "<ol>") {
		t.Errorf("the steps are not numbered:\n%s", vi.Text)
	}
	en := parse(t, sink.to("bob@attt.gov.vn")[0])
	if en.Subject != "[Rampart] Reminder: submit your self-assessment for Tự đánh giá an toàn thông tin 2026 by 30/11/2026" {
		t.Errorf("en subject: %q", en.Subject)
	}
	for _, want := range []string{"Dear Bob Smith", "Authority of Information Security has not yet submitted", "Deadline: 17:00 30/11/2026 (Vietnam time)",
		"7 days left.", "What to do:", "open the campaign: " + link} {
		if !strings.Contains(en.Text, want) || !strings.Contains(en.HTML, want) {
			t.Errorf("en reminder lacks %q:\n%s", want, en.Text)
		}
	}
	if strings.Contains(en.Text, "Kính gửi") {
		t.Error("the English reminder has Vietnamese text")
	}

	// Reminding again the same day sends nothing more (the failed one is
	// still being retried under the same key).
	clk.Set(monday9.Add(3 * time.Hour))
	if _, err := svc.Remind(w.ctx, natAdmin, c.ID); err != nil {
		t.Fatal(err)
	}
	must(t, n.Remind(w.ctx, []int64{w.ag.ID, w.ag.ID}, c))
	if got := len(reminders()); got != 3 {
		t.Fatalf("reminding twice in a day: %d deliveries", got)
	}

	// chi's server refuses: retried with backoff, then failed, logged and
	// visible to the ministry in its delivery log.
	for _, d := range []time.Duration{time.Minute, 3 * time.Minute, time.Hour} {
		must(t, n.Retry(w.ctx, monday9.Add(d)))
	}
	if len(sink.to("an@attt.gov.vn")) != 1 || len(sink.to("bob@attt.gov.vn")) != 1 {
		t.Fatal("a sent reminder went again")
	}
	viewer := auth.Principal{Name: "viewer@bttt", Role: auth.RoleViewer, OrgID: w.min.ID, OrgPath: w.min.Path}
	page, err := w.st.ListDeliveries(w.ctx, viewer, store.DeliveryFilter{Kind: notify.KindReminder, State: store.DeliveryFailed})
	must(t, err)
	if len(page.Items) != 1 || page.Items[0].Recipient != "chi@mic.gov.vn" || page.Items[0].Attempts != 3 || !strings.Contains(page.Items[0].LastError, "550") {
		t.Fatalf("failed reminder: %+v", page.Items)
	}
	att, err := w.st.DeliveryAttempts(w.ctx, viewer, page.Items[0].ID)
	must(t, err)
	if len(att) != 3 || att[0].OK || att[2].OK || !att[1].At.Equal(monday9.Add(time.Minute)) {
		t.Fatalf("attempts: %+v", att)
	}
	if !strings.Contains(logs.String(), "delivery failed for good") || !strings.Contains(logs.String(), "chi@mic.gov.vn") {
		t.Errorf("the failed reminder is not logged:\n%s", logs.String())
	}
	for _, d := range reminders() {
		if d.Recipient != "chi@mic.gov.vn" && d.State != store.DeliverySent {
			t.Errorf("reminder to %s: %s", d.Recipient, d.State)
		}
	}

	// The next day is another reminder, counting down.
	tue := monday9.AddDate(0, 0, 1)
	clk.Set(tue)
	if _, err := svc.Remind(w.ctx, natAdmin, c.ID); err != nil {
		t.Fatal(err)
	}
	must(t, n.Retry(w.ctx, tue))
	an := sink.to("an@attt.gov.vn")
	if len(an) != 2 || !strings.Contains(parse(t, an[1]).Text, "Còn 6 ngày.") || parse(t, an[0]).ID == parse(t, an[1]).ID {
		t.Fatalf("Tuesday's reminder: %d mails to an", len(an))
	}
	if got := len(reminders()); got != 6 {
		t.Fatalf("%d reminder deliveries after two days, want 6", got)
	}

	// After the deadline the mail says so.
	late := deadline30.AddDate(0, 0, 2)
	clk.Set(late)
	must(t, n.Remind(w.ctx, []int64{w.ag.ID}, c))
	must(t, n.Retry(w.ctx, late))
	an = sink.to("an@attt.gov.vn")
	if len(an) != 3 || !strings.Contains(parse(t, an[2]).Text, "Đã quá hạn 2 ngày.") {
		t.Fatalf("late reminder: %d mails to an", len(an))
	}
}

func TestRemindNobodyToRemind(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9}
	n := w.notifier(t, sink, clk, notify.Options{})
	c := store.Campaign{ID: 9, Framework: "baseline", Title: "Đợt 2", Deadline: deadline30}
	if err := n.Remind(w.ctx, []int64{w.unit.ID}, c); !errors.Is(err, notify.ErrNoRecipients) {
		t.Fatalf("reminding an organization without contacts: %v", err)
	}
	must(t, n.Remind(w.ctx, nil, c))
	if ds := w.deliveries(store.DeliveryFilter{Kind: notify.KindReminder}); len(ds) != 0 {
		t.Fatalf("deliveries: %+v", ds)
	}
}

// TestRunSendsRemindersAtOnce: with Run going, reminders do not wait for
// the next tick.
func TestRunSendsRemindersAtOnce(t *testing.T) {
	w := newWorld(t)
	sink := startSMTP(t, &smtpSink{})
	clk := &clock{t: monday9}
	n := w.notifier(t, sink, clk, notify.Options{Tick: time.Hour})
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v", err)
		}
	}()
	c := store.Campaign{ID: 4, Framework: "baseline", Title: "Tự đánh giá 2026", Deadline: deadline30}
	must(t, n.Remind(w.ctx, []int64{w.min.ID, w.nat.ID}, c))
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.all()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(sink.to("chi@mic.gov.vn")) != 1 || len(sink.to("dung@vncert.vn")) != 1 || len(sink.all()) != 2 {
		t.Fatalf("Run sent %d reminders, want 2 before its next tick", len(sink.all()))
	}
}
