package decision

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/store"
)

func TestCorrelatorThreeOrganizations(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := NewCorrelator(w.st, Options{}, w.clk.Now, quiet)
	const src = "203.0.113.7"
	for _, o := range []string{"A", "B"} {
		if err := c.Observe(ctx, w.detection(o, src)); err != nil {
			t.Fatal(err)
		}
	}
	// The same organization twice more, another sensor: still two.
	d := w.detection("B", src)
	d.Sensor = "gw-B2"
	if err := c.Observe(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.live(src); ok {
		t.Fatal("a decision after two organizations")
	}
	w.clk.Add(time.Minute)
	ssh := w.detection("C", src)
	ssh.Kind, ssh.Port, ssh.Count = sensor.DetectSSHBruteForce, 22, 412
	if err := c.Observe(ctx, ssh); err != nil {
		t.Fatal(err)
	}
	dec, ok := w.live(src)
	if !ok {
		t.Fatal("no decision after three organizations")
	}
	if dec.State != store.DecisionActive || dec.Orgs != 3 || dec.Detections != 40*3+412 || len(dec.Evidence) != 4 ||
		dec.Scenario != "rampart/port-scan+ssh-bruteforce" || dec.Origin != store.OriginCorrelation || dec.Scope != store.ScopeIP ||
		!dec.Until.Equal(w.clk.Now().Add(4*time.Hour)) {
		t.Fatalf("decision: %+v", dec)
	}
	if c.Made() != 1 {
		t.Fatalf("made %d", c.Made())
	}
	// Detections continue: the end moves, in steps of a tenth of the TTL.
	w.clk.Add(10 * time.Minute)
	if err := c.Observe(ctx, w.detection("A", src)); err != nil {
		t.Fatal(err)
	}
	if again, _ := w.live(src); !again.Until.Equal(dec.Until) {
		t.Fatalf("extended after 10 minutes: %s → %s", dec.Until, again.Until)
	}
	w.clk.Add(30 * time.Minute)
	if err := c.Observe(ctx, w.detection("A", src)); err != nil {
		t.Fatal(err)
	}
	ext, _ := w.live(src)
	if !ext.Until.Equal(w.clk.Now().Add(4*time.Hour)) || ext.ID != dec.ID || ext.Detections != dec.Detections+80 {
		t.Fatalf("not extended: %+v", ext)
	}
	// It runs out four hours after the last detection.
	w.clk.Add(4*time.Hour + time.Second)
	if n, err := NewService(w.st, Options{}, w.clk.Now, quiet).Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, ok := w.live(src); ok {
		t.Fatal("live after its TTL")
	}
}

func TestCorrelatorWindow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := NewCorrelator(w.st, Options{Window: 10 * time.Minute}, w.clk.Now, quiet)
	const src = "203.0.113.8"
	for _, o := range []string{"A", "B", "C"} {
		if err := c.Observe(ctx, w.detection(o, src)); err != nil {
			t.Fatal(err)
		}
		w.clk.Add(6 * time.Minute) // A has left the window when C comes
	}
	if _, ok := w.live(src); ok {
		t.Fatal("a decision from organizations 12 minutes apart")
	}
	if err := c.Observe(ctx, w.detection("A", src)); err != nil { // B, C, A within 12 minutes? B at 6, C at 12, A at 18: B is out
		t.Fatal(err)
	}
	if _, ok := w.live(src); ok {
		t.Fatal("B was out of the window")
	}
	if err := c.Observe(ctx, w.detection("B", src)); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.live(src); !ok {
		t.Fatal("C, A and B within 6 minutes: no decision")
	}
}

func TestCorrelatorPolicy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	never, _ := OptionsFrom(nil)
	never.NeverAuto, _ = ParseNetworksFromList([]string{"203.0.113.128/25"})
	c := NewCorrelator(w.st, never, w.clk.Now, quiet)
	three := func(src string) {
		t.Helper()
		for _, o := range []string{"A", "B", "C"} {
			if err := c.Observe(ctx, w.detection(o, src)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for src, rule := range map[string]string{
		"198.51.100.20":   RuleConstituency, // A's network
		"192.0.2.10":      RuleConstituency, // D's critical address
		"8.8.8.8":         RulePublic,
		"2606:4700::6810": RulePublic,
		"203.0.113.200":   RuleNeverAuto,
	} {
		three(src)
		d, ok := w.live(src)
		if !ok || d.State != store.DecisionPending || d.Rule != rule || d.Reason == "" {
			t.Errorf("%s: %+v, want pending by %s", src, d, rule)
		}
	}
	// Private and reserved sources are no one's to decide.
	three("10.1.2.3")
	if _, ok := w.live("10.1.2.3"); ok {
		t.Error("a decision on a private address")
	}
	// Indicator hits are not attacks; a source-less detection is refused.
	hit := w.detection("A", "203.0.113.9")
	hit.Kind = sensor.DetectIndicatorHit
	if err := c.Observe(ctx, hit); err != nil {
		t.Fatal(err)
	}
	spike := w.detection("A", "203.0.113.9")
	spike.Kind, spike.Source = sensor.DetectVolumeSpike, netip.Addr{}
	if err := c.Observe(ctx, spike); !errors.Is(err, ErrNoSource) {
		t.Fatalf("source-less: %v", err)
	}

	// One reporter suffices with min_orgs 1, unless it is critical
	// infrastructure.
	one := NewCorrelator(w.st, Options{MinOrgs: 1}, w.clk.Now, quiet)
	if err := one.Observe(ctx, w.detection("D", "203.0.113.30")); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.live("203.0.113.30"); d.State != store.DecisionPending || d.Rule != RuleCritical {
		t.Fatalf("critical alone: %+v", d)
	}
	if err := one.Observe(ctx, w.detection("A", "203.0.113.31")); err != nil {
		t.Fatal(err)
	}
	if d, _ := w.live("203.0.113.31"); d.State != store.DecisionActive {
		t.Fatalf("normal alone: %+v", d)
	}
}

func TestApprovalAndRefusalHold(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := NewCorrelator(w.st, Options{ApproveAll: true}, w.clk.Now, quiet)
	svc := NewService(w.st, Options{}, w.clk.Now, quiet)
	for _, o := range []string{"A", "B", "C"} {
		if err := c.Observe(ctx, w.detection(o, "203.0.113.40")); err != nil {
			t.Fatal(err)
		}
		if err := c.Observe(ctx, w.detection(o, "203.0.113.41")); err != nil {
			t.Fatal(err)
		}
	}
	p1, _ := w.live("203.0.113.40")
	p2, _ := w.live("203.0.113.41")
	if p1.State != store.DecisionPending || p1.Rule != RuleApproveAll {
		t.Fatalf("pending: %+v", p1)
	}
	a, err := svc.Approve(ctx, w.analyst(), p1.ID, "confirmed scanner")
	if err != nil || a.State != store.DecisionActive || a.DecidedBy != "ana" {
		t.Fatalf("approve: %+v %v", a, err)
	}
	r, err := svc.Reject(ctx, w.analyst(), p2.ID, "a partner's monitoring")
	if err != nil || r.State != store.DecisionRejected {
		t.Fatalf("reject: %+v %v", r, err)
	}
	// The attack goes on: the refusal holds, the approved one extends.
	w.clk.Add(time.Hour)
	for _, o := range []string{"A", "B", "C"} {
		if err := c.Observe(ctx, w.detection(o, "203.0.113.41")); err != nil {
			t.Fatal(err)
		}
	}
	if d, ok := w.live("203.0.113.41"); ok {
		t.Fatalf("a rejected decision came back: %+v", d)
	}
	// A member may not decide.
	member := w.analyst()
	member.Role = "org-admin"
	if _, err := svc.Approve(ctx, member, p1.ID, ""); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("member approves: %v", err)
	}
	// Lifted by hand.
	l, err := svc.Lift(ctx, w.analyst(), p1.ID, "owner fixed it")
	if err != nil || l.State != store.DecisionDeleted {
		t.Fatalf("lift: %+v %v", l, err)
	}
	// Manual decisions: a range, and refusals of what must never be blocked.
	m, err := svc.Create(ctx, w.analyst(), "203.0.113.64/26", 0, "botnet range")
	if err != nil || m.Scope != store.ScopeRange || m.Origin != store.OriginAnalyst || m.State != store.DecisionActive {
		t.Fatalf("manual: %+v %v", m, err)
	}
	for _, bad := range []string{"10.0.0.1", "0.0.0.0/0", "not an address", "127.0.0.1"} {
		if _, err := svc.Create(ctx, w.analyst(), bad, 0, ""); !errors.Is(err, ErrValue) {
			t.Errorf("manual %q: %v", bad, err)
		}
	}
}

func TestCorrelatorBounded(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := NewCorrelator(w.st, Options{MaxSources: 2}, w.clk.Now, quiet)
	for _, src := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		if err := c.Observe(ctx, w.detection("A", src)); err != nil {
			t.Fatal(err)
		}
	}
	if c.Dropped() != 1 {
		t.Fatalf("dropped %d, want 1", c.Dropped())
	}
	w.clk.Add(11 * time.Minute) // the window empties: room again
	if err := c.Observe(ctx, w.detection("A", "203.0.113.3")); err != nil {
		t.Fatal(err)
	}
	if c.Dropped() != 1 {
		t.Fatalf("dropped %d after the window emptied", c.Dropped())
	}
}

// TestCorrelatorConcurrent: detections from many goroutines at once (the
// ingester's consumers) make one decision per source seen by three
// organizations, and none for the others.
func TestCorrelatorConcurrent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	c := NewCorrelator(w.st, Options{}, w.clk.Now, quiet)
	errs := make(chan error, 64)
	for g := range 8 {
		go func() {
			var err error
			for i := range 50 {
				src := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
				org := []string{"A", "B", "C"}[(g+i)%3]
				if i%2 == 1 {
					org = "A" // odd sources: one organization only
				}
				if e := c.Observe(ctx, w.detection(org, src.String())); e != nil && err == nil {
					err = e
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	pg, err := w.st.ListDecisions(ctx, sys, store.DecisionFilter{PageRequest: store.PageRequest{Limit: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pg.Items) != 25 || c.Made() != 25 {
		t.Fatalf("%d decisions (made %d), want 25", len(pg.Items), c.Made())
	}
	for _, d := range pg.Items {
		if d.Orgs != 3 || d.State != store.DecisionActive {
			t.Fatalf("decision: %+v", d)
		}
	}
}
