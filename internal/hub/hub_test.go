package hub_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

var sys = auth.SystemPrincipal

// world is a small constituency:
//
//	A (ministry)  223.167.10.0/24 (inside APT1's 223.166.0.0/15), 198.123.245.134
//	B (province)  mail.hugesoft.org (under APT1's hugesoft.org), x4z9arb.cn,
//	              portal.b-province.example
//	C (agency)    190.113.1.2 (a sinkholed drone), 192.168.0.0/31 and .2 (open SNMP; .3 is not C's),
//	              example.com (a compromised website), mail domain phish.example.org,
//	              and a claim nobody proved: 35.205.9.10
//
// Everything else in the samples (10.0.0.0, arrowservice.net, 35.197.11.12,
// 192.0.2.77 …) is outside the registry.
type world struct {
	st      *sqlstore.Store
	svc     *findings.Service
	hub     *hub.Hub
	q       *natsq.Queue
	a, b, c org.Organization
	now     time.Time
}

func newWorld(t *testing.T, withQueue bool) *world {
	t.Helper()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "r.db"), log)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	must(t, st.Migrate(ctx))
	w := &world{st: st, now: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	for _, o := range []*org.Organization{&w.a, &w.b, &w.c} {
		code := map[*org.Organization]string{&w.a: "A", &w.b: "B", &w.c: "C"}[o]
		*o = org.Organization{Code: code, Name: "Tổ chức " + code, Kind: org.KindMinistry}
		must(t, st.CreateOrg(ctx, sys, o))
	}
	for _, a := range []asset.Asset{
		{OrgID: w.a.ID, Kind: asset.KindCIDR, Value: "223.167.10.0/24"},
		{OrgID: w.a.ID, Kind: asset.KindIPv4, Value: "198.123.245.134"},
		{OrgID: w.b.ID, Kind: asset.KindHostname, Value: "mail.hugesoft.org"},
		{OrgID: w.b.ID, Kind: asset.KindDomain, Value: "x4z9arb.cn"},
		{OrgID: w.b.ID, Kind: asset.KindHostname, Value: "portal.b-province.example"},
		{OrgID: w.c.ID, Kind: asset.KindIPv4, Value: "190.113.1.2"},
		{OrgID: w.c.ID, Kind: asset.KindCIDR, Value: "192.168.0.0/31"},
		{OrgID: w.c.ID, Kind: asset.KindIPv4, Value: "192.168.0.2"},
		{OrgID: w.c.ID, Kind: asset.KindHostname, Value: "example.com"},
		{OrgID: w.c.ID, Kind: asset.KindMailDomain, Value: "phish.example.org"},
	} {
		must(t, st.CreateAsset(ctx, sys, &a))
	}
	claim := asset.Asset{OrgID: w.c.ID, Kind: asset.KindIPv4, Value: "35.205.9.10"}
	must(t, st.CreateAsset(ctx, orgAdmin(w.c), &claim))
	if claim.State != asset.StateClaimed {
		t.Fatalf("claim is %s", claim.State)
	}
	w.svc = findings.New(findings.Deps{Store: st, Logger: log, Now: func() time.Time { return w.now }})
	d := hub.Deps{Store: st, Findings: w.svc, Logger: log, TempDir: t.TempDir(), Now: func() time.Time { return w.now }}
	if withQueue {
		q, err := natsq.Open(ctx, natsq.Options{DataDir: t.TempDir(), NoListen: true, Logger: log})
		must(t, err)
		t.Cleanup(func() { q.Close() })
		w.q = q
		d.Objects = q
	}
	w.hub = hub.New(d)
	return w
}

func orgAdmin(o org.Organization) auth.Principal {
	return auth.Principal{Name: "admin@" + o.Code, Role: auth.RoleOrgAdmin, OrgID: o.ID, OrgPath: o.Path}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (w *world) file(t *testing.T, req hub.ImportRequest, name string) hub.Run {
	t.Helper()
	run, err := w.hub.ImportFile(t.Context(), req, filepath.Join("testdata", name))
	must(t, err)
	return run
}

// stream imports a file through Import (the object store when the world
// has a queue).
func (w *world) stream(t *testing.T, req hub.ImportRequest, name string) hub.Run {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	must(t, err)
	defer f.Close()
	req.Name = filepath.Base(name)
	run, err := w.hub.Import(t.Context(), req, struct{ io.Reader }{f}) // not a file: no seeking
	must(t, err)
	return run
}

// warnings are the early-warning findings by "kind target [subject]".
func (w *world) warnings(t *testing.T) map[string]finding.Finding {
	t.Helper()
	page, err := w.hub.EarlyWarnings(t.Context(), sys, 0, false, store.PageRequest{Limit: store.MaxLimit})
	must(t, err)
	out := map[string]finding.Finding{}
	for _, f := range page.Items {
		k := f.Check + " " + f.Target
		if f.Subject != "" {
			k += " [" + f.Subject + "]"
		}
		out[k] = f
	}
	return out
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (w *world) category(t *testing.T, kind intel.Kind, value string) intel.Category {
	t.Helper()
	in, err := w.st.FindIndicator(t.Context(), sys, store.IndicatorKey{Kind: kind, Value: value})
	must(t, err)
	return in.Category
}

func TestEarlyWarningsFromRealSamples(t *testing.T) {
	w := newWorld(t, true)
	ctx := t.Context()

	// STIX: APT1's networks and domains, a malware URL, a C2 address.
	apt1 := w.file(t, hub.ImportRequest{Format: "stix", Feed: "oasis-apt1"}, "stix/apt1.json")
	if apt1.Err != "" || apt1.Indicators.New < 7 || apt1.Rejected == 0 {
		t.Fatalf("apt1: %+v", apt1)
	}
	url := w.stream(t, hub.ImportRequest{Format: "stix", Feed: "oasis-url"}, "stix/indicator-for-malicious-url.json")
	c2 := w.file(t, hub.ImportRequest{Format: "stix", Feed: "oasis-c2"}, "stix/indicators-for-C2-with-COA.json")
	if url.Indicators.New != 1 || c2.Indicators.New != 2 || c2.Hits != 0 {
		t.Fatalf("url %+v, c2 %+v", url, c2)
	}
	// MISP: the CIRCL feed has nothing marked for detection; ours has a
	// phishing URL on B's portal and a sender of C's mail domain.
	circl := w.file(t, hub.ImportRequest{Format: "misp", Feed: "circl"}, "misp/circl")
	own := w.file(t, hub.ImportRequest{Format: "misp", Feed: "partner-misp"}, "misp/own")
	if circl.Err != "" || circl.Records != 0 || own.Records != 4 || own.Hits != 2 {
		t.Fatalf("circl %+v, own %+v", circl, own)
	}
	// Shadowserver, through the queue's object store.
	sink := w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/event4_sinkhole.csv")
	snmp := w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/scan_snmp.csv")
	site := w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/compromised_website.csv")
	if site.Hits != 2 || site.Err != "" {
		t.Fatalf("compromised websites %+v", site)
	}
	block := w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/blocklist.csv")
	if block.Records != 3 || block.Hits != 2 {
		t.Fatalf("blocklist %+v", block)
	}
	if sink.Feed != "shadowserver:event4_sinkhole" || sink.Hits != 1 || snmp.Events != snmp.Records || snmp.Indicators.New != 0 || snmp.Hits != 2 {
		t.Fatalf("sinkhole %+v, snmp %+v", sink, snmp)
	}
	if list, err := w.q.ListObjects(ctx, hub.Bucket); err != nil || len(list) != 0 {
		t.Fatalf("inputs left in the object store: %v %v", list, err)
	}

	got := w.warnings(t)
	cat := func(kind intel.Kind, v string) string { return intel.FindingKind(w.category(t, kind, v)) }
	want := map[string]int64{
		cat(intel.KindCIDR, "223.166.0.0/15") + " 223.167.10.0/24 [223.166.0.0/15]":                                           w.a.ID,
		cat(intel.KindDomain, "hugesoft.org") + " mail.hugesoft.org [hugesoft.org]":                                           w.b.ID,
		cat(intel.KindURL, "http://x4z9arb.cn/4712/") + " x4z9arb.cn [http://x4z9arb.cn/4712/]":                               w.b.ID,
		intel.FindingMaliciousContent + " portal.b-province.example [https://portal.b-province.example/wp-content/login.php]": w.b.ID,
		intel.FindingMaliciousContent + " phish.example.org [billing@phish.example.org]":                                      w.c.ID,
		intel.FindingCompromisedHost + " 190.113.1.2 [victorygate.b]":                                                         w.c.ID,
		intel.FindingExposedService + " 192.168.0.1:161 [snmp]":                                                               w.c.ID,
		intel.FindingExposedService + " 192.168.0.2:161 [snmp,iot]":                                                           w.c.ID,
		cat(intel.KindIPv4, "198.123.245.134") + " 198.123.245.134":                                                           w.a.ID,
		cat(intel.KindCIDR, "198.123.245.0/24") + " 198.123.245.134 [198.123.245.0/24]":                                       w.a.ID,
	}
	for _, f := range got {
		if f.Check == intel.FindingMaliciousContent && f.Target == "example.com" {
			want[f.Check+" example.com ["+f.Subject+"]"] = w.c.ID // the compromised website's URL, as the report writes it
		}
	}
	if !slices.Equal(keys(got), keys(want)) {
		t.Fatalf("early warnings:\n got %q\nwant %q", keys(got), keys(want))
	}
	for k, o := range want {
		f := got[k]
		if f.OrgID != o || f.Source != finding.SourceIntel || f.State != finding.StateOpen || f.DueAt == nil {
			t.Errorf("%s: org %d (want %d), source %s, state %s, due %v", k, f.OrgID, o, f.Source, f.State, f.DueAt)
		}
	}
	drone := got[intel.FindingCompromisedHost+" 190.113.1.2 [victorygate.b]"]
	var ev map[string]any
	must(t, json.Unmarshal(drone.Evidence, &ev))
	if drone.Severity != finding.Critical || drone.SourceRef != "shadowserver:event4_sinkhole" || ev["feed"] != "shadowserver:event4_sinkhole" ||
		ev["seen"] != "2021-03-04T00:00:00Z" || !strings.Contains(ev["raw"].(string), "190.113.1.2") {
		t.Fatalf("drone finding %+v, evidence %s", drone, drone.Evidence)
	}
	if s := got[intel.FindingExposedService+" 192.168.0.1:161 [snmp]"]; s.Severity != finding.Medium || !strings.Contains(string(s.Evidence), `"community":"public"`) {
		t.Fatalf("exposed SNMP: %+v %s", s, s.Evidence)
	}

	// The feeds show their runs.
	fd, err := w.hub.Feed(ctx, sys, "shadowserver:event4_sinkhole")
	must(t, err)
	if fd.LastOK == nil || fd.Records != sink.Records || fd.Hits != 1 || fd.Rejected != sink.Rejected {
		t.Fatalf("sinkhole feed %+v", fd)
	}
	fa, err := w.hub.Feed(ctx, sys, "oasis-apt1")
	must(t, err)
	if fa.Rejected == 0 || len(fa.Rejections) == 0 || fa.Rejections[0].Reason == "" {
		t.Fatalf("apt1 feed keeps no rejections: %+v", fa)
	}

	// Again: nothing new, nothing duplicated.
	before := len(got)
	for _, r := range []hub.Run{
		w.file(t, hub.ImportRequest{Format: "stix", Feed: "oasis-apt1"}, "stix/apt1.json"),
		w.file(t, hub.ImportRequest{Format: "misp", Feed: "partner-misp"}, "misp/own"),
		w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/event4_sinkhole.csv"),
		w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/blocklist.csv"),
	} {
		if r.NewFindings != 0 || r.Reopened != 0 || r.Indicators.New != 0 || r.Indicators.Updated != 0 || r.Err != "" {
			t.Errorf("re-import of %s changed things: %+v", r.Feed, r)
		}
	}
	if n := len(w.warnings(t)); n != before {
		t.Fatalf("re-import: %d warnings, was %d", n, before)
	}
	// An owner sees only its own.
	page, err := w.hub.EarlyWarnings(ctx, orgAdmin(w.b), 0, true, store.PageRequest{})
	must(t, err)
	for _, f := range page.Items {
		if f.OrgID != w.b.ID {
			t.Fatalf("B sees %+v", f)
		}
	}
	if len(page.Items) != 3 {
		t.Fatalf("B has %d early warnings, want 3", len(page.Items))
	}
	if _, err := w.hub.EarlyWarnings(ctx, orgAdmin(w.b), w.a.ID, true, store.PageRequest{}); err == nil {
		t.Fatal("B lists A's early warnings")
	}

	// Expiry: not reported again for the source's days, they close.
	w.now = w.now.Add(31 * 24 * time.Hour)
	n, err := w.svc.ExpireStale(ctx)
	must(t, err)
	if n != before {
		t.Fatalf("expiry fixed %d of %d", n, before)
	}
	page, err = w.hub.EarlyWarnings(ctx, sys, 0, true, store.PageRequest{})
	must(t, err)
	if len(page.Items) != 0 {
		t.Fatalf("%d early warnings still active after expiry", len(page.Items))
	}
}

// A leak names the accounts of an owned mail domain and the leak, never
// the passwords the rows carry; it is not kept as an indicator.
func TestLeakedCredentialsNeverCarryPasswords(t *testing.T) {
	w := newWorld(t, false)
	format := `{"delimiter": ",", "header": "line", "value": "email", "kind": "email", "category": "leak",
		"detail": [{"column": "password", "key": "password"}, {"column": "breach", "key": "leak"}]}`
	rows := "email,password,breach\n" +
		"alice@phish.example.org,hunter2-secret,combo-2026\n" +
		"bob@phish.example.org,correct-horse,combo-2026\n" +
		"carol@elsewhere.example,s3cr3t-pw,combo-2026\n"
	run, err := w.hub.Import(t.Context(), hub.ImportRequest{Format: "csv", Feed: "leaks", Options: format}, strings.NewReader(rows))
	must(t, err)
	if run.Records != 3 || run.Events != 3 || run.Indicators.New != 0 || run.Hits != 1 {
		t.Fatalf("leak run %+v", run)
	}
	got := w.warnings(t)
	f, ok := got[intel.FindingLeakedCredentials+" phish.example.org [combo-2026]"]
	if !ok || f.OrgID != w.c.ID || f.Severity != finding.High {
		t.Fatalf("leak finding: %v", keys(got))
	}
	ev := string(f.Evidence)
	for _, secret := range []string{"hunter2", "correct-horse", "s3cr3t", "password", "carol"} {
		if strings.Contains(ev, secret) || strings.Contains(f.Title, secret) {
			t.Fatalf("evidence or title carries %q: %s / %s", secret, ev, f.Title)
		}
	}
	if !strings.Contains(ev, "alice@phish.example.org") || !strings.Contains(ev, "bob@phish.example.org") || !strings.Contains(ev, "combo-2026") {
		t.Fatalf("evidence lacks the accounts or the leak: %s", ev)
	}
	if _, err := w.st.FindIndicator(t.Context(), sys, store.IndicatorKey{Kind: intel.KindEmail, Value: "alice@phish.example.org"}); err == nil {
		t.Fatal("a leaked account was kept as an indicator")
	}
}

// An owner's dispute of an early warning reaches the feed as feedback,
// through the finding events on the queue.
func TestDisputeBecomesFeedback(t *testing.T) {
	w := newWorld(t, true)
	ctx := t.Context()
	w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/event4_sinkhole.csv")
	got := w.warnings(t)
	drone := got[intel.FindingCompromisedHost+" 190.113.1.2 [victorygate.b]"]
	if drone.ID == 0 {
		t.Fatalf("no drone finding: %v", keys(got))
	}
	// C's administrator cannot decide for C: marking a false positive is
	// a request, and a dispute all the same.
	_, err := w.svc.Transition(ctx, orgAdmin(w.c), drone.ID, finding.Transition{Action: finding.ActionFalsePositive,
		Reason: "that address is our sinkhole research box", Until: w.now.Add(30 * 24 * time.Hour)})
	must(t, err)

	relay := eventsRelay(t, w)
	if _, err := relay(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := w.hub.ConsumeFeedback(ctx, w.q)
	must(t, err)
	defer c.Stop()
	fd, err := w.hub.Feed(ctx, sys, "shadowserver:event4_sinkhole")
	must(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, err := w.hub.Feedback(ctx, sys, fd.ID, store.PageRequest{})
		must(t, err)
		if len(page.Items) == 1 {
			fb := page.Items[0]
			if fb.FindingID != drone.ID || fb.OrgID != w.c.ID || fb.Action != string(finding.ActionRequestFalsePositive) ||
				fb.Reason != "that address is our sinkhole research box" || fb.Target != "190.113.1.2" || fb.Actor != "admin@C" {
				t.Fatalf("feedback %+v", fb)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no feedback after 10 s: %+v", page.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
	fd, err = w.hub.Feed(ctx, sys, "shadowserver:event4_sinkhole")
	must(t, err)
	if fd.Feedback != 1 {
		t.Fatalf("feed counts %d feedback", fd.Feedback)
	}
	// Another source's transitions leave no feedback.
	if err := w.hub.HandleChange(ctx, finding.Change{Kind: finding.ChangeTransition, Action: finding.ActionFalsePositive,
		Finding: finding.Finding{ID: 1, Key: "k", Source: finding.SourceScan}}); err != nil {
		t.Fatal(err)
	}
}

// eventsRelay publishes the store's outbox once.
func eventsRelay(t *testing.T, w *world) func(context.Context) (int, error) {
	t.Helper()
	return func(ctx context.Context) (int, error) {
		msgs, err := w.st.OutboxPending(ctx, 1000)
		if err != nil {
			return 0, err
		}
		ids := make([]int64, 0, len(msgs))
		for _, m := range msgs {
			if err := w.q.Publish(ctx, m.Subject, m.Data, m.MsgID, nil); err != nil {
				return 0, err
			}
			ids = append(ids, m.ID)
		}
		return len(msgs), w.st.OutboxDone(ctx, ids)
	}
}

var _ queue.ObjectStore = (*natsq.Queue)(nil)

// Early warnings close by expiry per kind: an exposed service after a
// week without a report (or the days configured), a drone after two.
func TestExpiryPerKind(t *testing.T) {
	w := newWorld(t, false)
	ctx := t.Context()
	w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/event4_sinkhole.csv")
	w.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/scan_snmp.csv")
	active := func() []string {
		page, err := w.hub.EarlyWarnings(ctx, sys, 0, true, store.PageRequest{})
		must(t, err)
		var out []string
		for _, f := range page.Items {
			out = append(out, f.Check+" "+f.Target)
		}
		slices.Sort(out)
		return out
	}
	start := w.now
	w.now = start.Add(8 * 24 * time.Hour)
	n, err := w.svc.ExpireStale(ctx)
	must(t, err)
	if got := active(); n != 2 || !slices.Equal(got, []string{intel.FindingCompromisedHost + " 190.113.1.2"}) {
		t.Fatalf("after 8 days: fixed %d, active %q", n, got)
	}
	w.now = start.Add(15 * 24 * time.Hour)
	n, err = w.svc.ExpireStale(ctx)
	must(t, err)
	if got := active(); n != 1 || len(got) != 0 {
		t.Fatalf("after 15 days: fixed %d, active %q", n, got)
	}

	// Configured days win over the defaults.
	w2 := newWorld(t, false)
	w2.svc = findings.New(findings.Deps{Store: w2.st, KindExpiry: map[string]int{"intel.exposed-service": 2}, Now: func() time.Time { return w2.now }})
	w2.stream(t, hub.ImportRequest{Format: "shadowserver"}, "shadowserver/scan_snmp.csv")
	w2.now = w2.now.Add(3 * 24 * time.Hour)
	if n, err := w2.svc.ExpireStale(ctx); err != nil || n != 2 {
		t.Fatalf("configured 2 days: fixed %d, %v", n, err)
	}
}

// An input a stopped process left in the object store is run when the hub
// starts again, then removed.
func TestResumeStoredInput(t *testing.T) {
	w := newWorld(t, true)
	ctx := t.Context()
	f, err := os.Open(filepath.Join("testdata", "shadowserver", "event4_sinkhole.csv"))
	must(t, err)
	defer f.Close()
	if _, err := w.q.PutObject(ctx, hub.Bucket, "run-left-behind", map[string]string{"format": "shadowserver", "feed": "", "name": "event4_sinkhole.csv"}, f); err != nil {
		t.Fatal(err)
	}
	// And one no hub could read: dropped, not retried forever.
	if _, err := w.q.PutObject(ctx, hub.Bucket, "run-garbage", map[string]string{"format": "xml"}, strings.NewReader("<x/>")); err != nil {
		t.Fatal(err)
	}
	n, err := w.hub.Resume(ctx)
	must(t, err)
	if n != 1 {
		t.Fatalf("resumed %d inputs, want 1", n)
	}
	if _, ok := w.warnings(t)[intel.FindingCompromisedHost+" 190.113.1.2 [victorygate.b]"]; !ok {
		t.Fatalf("resumed input warned nobody: %v", keys(w.warnings(t)))
	}
	if list, err := w.q.ListObjects(ctx, hub.Bucket); err != nil || len(list) != 0 {
		t.Fatalf("left in the object store: %+v %v", list, err)
	}
}
