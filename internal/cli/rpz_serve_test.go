package cli

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestServeRPZ: the rpz: section serves each configured consumer's zone,
// filtered as its HTTP lists are, to its own TSIG key; a disabled
// consumer, one without the rpz format and one that does not exist get
// no zone.
func TestServeRPZ(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.SystemPrincipal
	now := time.Now()
	var recs []intel.Record
	for _, v := range []struct {
		value string
		conf  int
	}{{"evil.example.com", 95}, {"meh.example.com", 50}} {
		r := intel.Record{Kind: intel.KindDomain, Value: v.value, Feed: "f", TLP: intel.TLPClear, Category: intel.CategoryMalware,
			Confidence: v.conf, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute)}
		if err := r.Normalize(now); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := st.ApplyIndicators(ctx, sys, recs); err != nil {
		t.Fatal(err)
	}
	for _, c := range []store.Consumer{
		{Name: "bind-hanoi", MinConfidence: 90, Formats: []string{"rpz"}, Enabled: true},
		{Name: "off", Formats: []string{"rpz"}},
		{Name: "csv-only", Formats: []string{"csv"}, Enabled: true},
	} {
		c.KeyHash = intelweb.HashKey("key-of-" + c.Name)
		if err := st.CreateConsumer(ctx, sys, &c); err != nil {
			t.Fatal(err)
		}
	}
	secret := "c2VjcmV0LWtleS1vZi1oYW5vaS0wMTIzNDU2Nzg5YWI="
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := config.Default()
	c.RPZ = &config.RPZConfig{Listen: addr, Zones: []config.RPZZone{
		{Consumer: "bind-hanoi", Zone: "rpz.hanoi.rampart.", KeyName: "bind-hanoi.rampart.", KeySecret: secret},
		{Consumer: "off", KeyName: "off.rampart.", KeySecret: secret},
		{Consumer: "csv-only", KeyName: "csv.rampart.", KeySecret: secret},
		{Consumer: "missing", KeyName: "missing.rampart.", KeySecret: secret},
	}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	stop, err := startRPZ(ctx, c, st, intelweb.NewBlocklists(st, intelweb.BlocklistOptions{Logger: log}), reg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	axfr := func(zone, key string) ([]string, error) {
		m := new(dns.Msg).SetAxfr(zone)
		m.SetTsig(key, dns.HmacSHA256, 300, time.Now().Unix())
		tr := &dns.Transfer{TsigSecret: map[string]string{key: secret}}
		ch, err := tr.In(m, addr)
		if err != nil {
			return nil, err
		}
		var names []string
		for env := range ch {
			if env.Error != nil {
				return names, env.Error
			}
			for _, rr := range env.RR {
				if rr.Header().Rrtype == dns.TypeCNAME {
					names = append(names, rr.Header().Name)
				}
			}
		}
		slices.Sort(names)
		return names, nil
	}
	var names []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		if names, err = axfr("rpz.hanoi.rampart.", "bind-hanoi.rampart."); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := []string{"*.evil.example.com.rpz.hanoi.rampart.", "evil.example.com.rpz.hanoi.rampart."}
	if err != nil || !slices.Equal(names, want) {
		t.Fatalf("bind-hanoi's zone %v (%v), want %v", names, err, want)
	}
	for _, key := range []string{"off.rampart.", "csv.rampart.", "missing.rampart."} {
		if _, err := axfr("rpz.rampart.", key); err == nil || !strings.Contains(err.Error(), "bad authentication") {
			t.Errorf("key %s: %v, want a refusal", key, err)
		}
	}
	// The metrics: the zone's serial and triggers, one AXFR, the refusals (and any before the zone was up).
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			name := mf.GetName()
			for _, l := range m.GetLabel() {
				name += "," + l.GetValue()
			}
			got[name] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	if got["rampart_rpz_zone_triggers,bind-hanoi,rpz.hanoi.rampart."] != 2 || got["rampart_rpz_zone_serial,bind-hanoi,rpz.hanoi.rampart."] == 0 ||
		got["rampart_rpz_transfers_total,axfr"] != 1 || got["rampart_rpz_refused_total"] < 3 {
		t.Errorf("metrics %v", got)
	}
}
