package rpz_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
	"github.com/rampart-cert/rampart/internal/intel"
)

// twoConsumers: Hanoi takes everything, Hue only confidence 90 and up.
func twoConsumers(notify ...string) []rpz.ZoneSpec {
	return []rpz.ZoneSpec{
		{Consumer: blocklist.Consumer{Name: "hanoi", Zone: "rpz.hanoi.test"}, Key: keyA, Notify: notify},
		{Consumer: blocklist.Consumer{Name: "hue", Zone: "rpz.hue.test.", MinConfidence: 90}, Key: keyB},
	}
}

func sampleIndicators() []intel.Indicator {
	return append(domains("evil.example", "phish.example.net"),
		ind(intel.KindDomain, "c2.example.org", 95),
		ind(intel.KindIPv4, "198.51.100.7", 80),
		ind(intel.KindCIDR, "2001:db8:ff::/48", 95))
}

func TestAXFRSignedByConsumerKey(t *testing.T) {
	src := &source{}
	src.set(t, sampleIndicators())
	s, addr := start(t, src, twoConsumers(), nil)
	serial, ok := s.Serial("hanoi")
	if !ok || serial == 0 {
		t.Fatalf("serial %d %v", serial, ok)
	}
	rrs, err := xfr(addr, "rpz.hanoi.test.", keyA, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := texts(rrs)
	if got[0] != "SOA "+itoa(serial) || got[len(got)-1] != got[0] || got[1] != "NS localhost." {
		t.Fatalf("AXFR framing: %v", got)
	}
	want := zoneOf("rpz.hanoi.test.", []string{"c2.example.org", "evil.example", "phish.example.net"},
		"32.7.100.51.198.rpz-ip", "48.zz.ff.db8.2001.rpz-ip")
	if tr := triggers(got); !slices.Equal(tr, want) {
		t.Fatalf("hanoi's zone:\n%v\nwant\n%v", tr, want)
	}
	// Hue's filter: confidence 90 and up.
	rrs, err = xfr(addr, "rpz.hue.test.", keyB, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	want = zoneOf("rpz.hue.test.", []string{"c2.example.org"}, "48.zz.ff.db8.2001.rpz-ip")
	if tr := triggers(texts(rrs)); !slices.Equal(tr, want) {
		t.Fatalf("hue's zone:\n%v\nwant\n%v", tr, want)
	}
}

func TestTSIGRefusals(t *testing.T) {
	src := &source{}
	src.set(t, sampleIndicators())
	_, addr := start(t, src, twoConsumers(), nil)
	wrong := &rpz.Key{Name: keyA.Name, Secret: keyB.Secret}
	unknown := &rpz.Key{Name: "nobody.rampart.", Secret: keyA.Secret}
	for _, tc := range []struct {
		name string
		zone string
		key  *rpz.Key
		want string
	}{
		{"unsigned", "rpz.hanoi.test.", nil, "bad xfr rcode: 5"},             // REFUSED
		{"wrong secret", "rpz.hanoi.test.", wrong, "bad authentication"},     // NOTAUTH with a BADSIG record
		{"unknown key", "rpz.hanoi.test.", unknown, "bad authentication"},    // NOTAUTH with BADKEY
		{"other consumer's zone", "rpz.hue.test.", keyA, "bad xfr rcode: 5"}, // REFUSED, signed
	} {
		t.Run(tc.name, func(t *testing.T) {
			rrs, err := xfr(addr, tc.zone, tc.key, false, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q (got %d records)", err, tc.want, len(rrs))
			}
			if len(rrs) > 0 {
				t.Fatalf("records leaked: %v", texts(rrs))
			}
		})
	}
	// The refusals as rcodes, read without verifying.
	for _, tc := range []struct {
		key   *rpz.Key
		rcode int
		err   uint16
	}{{wrong, dns.RcodeNotAuth, dns.RcodeBadSig}, {unknown, dns.RcodeNotAuth, dns.RcodeBadKey}} {
		m := new(dns.Msg).SetQuestion("rpz.hanoi.test.", dns.TypeSOA)
		m.SetTsig(tc.key.Name, dns.HmacSHA256, 300, time.Now().Unix())
		wire, _, err := dns.TsigGenerate(m, tc.key.Secret, "", false)
		if err != nil {
			t.Fatal(err)
		}
		r := rawExchange(t, addr, wire)
		if r.Rcode != tc.rcode || r.IsTsig() == nil || r.IsTsig().Error != tc.err || len(r.Answer) > 0 {
			t.Fatalf("key %s: answer %v", tc.key.Name, r)
		}
	}
}

// rawExchange sends wire over UDP and reads the answer unverified.
func rawExchange(t *testing.T, addr string, wire []byte) *dns.Msg {
	t.Helper()
	c, err := dns.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(wire); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(dns.Msg)
	if err := r.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestUnsignedFromAllowedSource(t *testing.T) {
	src := &source{}
	src.set(t, domains("evil.example"))
	specs := []rpz.ZoneSpec{
		{Consumer: blocklist.Consumer{Name: "unbound", Zone: "rpz.unbound.test."}, AllowUnsigned: prefixes("127.0.0.0/8")},
		{Consumer: blocklist.Consumer{Name: "elsewhere", Zone: "rpz.elsewhere.test."}, AllowUnsigned: prefixes("192.0.2.0/24")},
	}
	_, addr := start(t, src, specs, nil)
	rrs, err := xfr(addr, "rpz.unbound.test.", nil, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if tr := triggers(texts(rrs)); !slices.Equal(tr, zoneOf("rpz.unbound.test.", []string{"evil.example"})) {
		t.Fatalf("zone %v", tr)
	}
	if _, err := xfr(addr, "rpz.elsewhere.test.", nil, false, 0); err == nil || !strings.Contains(err.Error(), "rcode: 5") {
		t.Fatalf("a source outside the zone's networks: %v", err)
	}
	// A key signs nothing for a zone without one.
	if _, err := xfr(addr, "rpz.unbound.test.", keyA, false, 0); err == nil {
		t.Fatal("unknown key accepted")
	}
}

func TestIXFRDeltaAndSerial(t *testing.T) {
	// Names in every version: the differences stay shorter than the zone.
	keep := []string{"k1.example", "k2.example", "k3.example", "k4.example", "k5.example", "k6.example"}
	with := func(names ...string) []string { return append(slices.Clone(keep), names...) }
	src := &source{}
	src.set(t, domains(with("a.example", "b.example", "c.example")...))
	clock := time.Now()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s, addr := start(t, src, twoConsumers(), func(o *rpz.Options) { o.Now = now })
	ctx := context.Background()
	s1, _ := s.Serial("hanoi")

	// Nothing changed: same serial.
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Serial("hanoi"); got != s1 {
		t.Fatalf("unchanged zone: serial %d, was %d", got, s1)
	}
	// Two changes within the same second: the serial still rises.
	src.set(t, append(domains(with("a.example", "c.example", "d.example")...), ind(intel.KindIPv4, "203.0.113.5", 80)))
	if err := s.Update(ctx, false); err != nil {
		t.Fatal(err)
	}
	s2, _ := s.Serial("hanoi")
	src.set(t, domains(with("a.example", "d.example", "e.example")...))
	if err := s.Update(ctx, false); err != nil {
		t.Fatal(err)
	}
	s3, _ := s.Serial("hanoi")
	if !(s1 < s2 && s2 < s3) {
		t.Fatalf("serials %d, %d, %d do not rise", s1, s2, s3)
	}

	rrs, err := xfr(addr, "rpz.hanoi.test.", keyA, true, s1)
	if err != nil {
		t.Fatal(err)
	}
	z := ".rpz.hanoi.test. CNAME ."
	want := []string{"SOA " + itoa(s3),
		"SOA " + itoa(s1), "*.b.example" + z, "b.example" + z,
		"SOA " + itoa(s2), "*.d.example" + z, "d.example" + z, "32.5.113.0.203.rpz-ip" + z,
		"SOA " + itoa(s2), "*.c.example" + z, "c.example" + z, "32.5.113.0.203.rpz-ip" + z,
		"SOA " + itoa(s3), "*.e.example" + z, "e.example" + z,
		"SOA " + itoa(s3)}
	if got, want := sortRuns(texts(rrs)), sortRuns(want); !slices.Equal(got, want) {
		t.Fatalf("IXFR from %d:\n%v\nwant\n%v", s1, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// From the current serial: the SOA alone.
	rrs, err = xfr(addr, "rpz.hanoi.test.", keyA, true, s3)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(rrs); !slices.Equal(got, []string{"SOA " + itoa(s3)}) {
		t.Fatalf("IXFR from the current serial: %v", got)
	}
	// From a serial the journal does not hold: the whole zone.
	rrs, err = xfr(addr, "rpz.hanoi.test.", keyA, true, s1-1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := triggers(texts(rrs)); !slices.Equal(got, zoneOf("rpz.hanoi.test.", with("a.example", "d.example", "e.example"))) {
		t.Fatalf("IXFR from an unknown serial: %v", got)
	}
	// Over UDP an IXFR gets the current SOA only.
	m := new(dns.Msg)
	m.SetIxfr("rpz.hanoi.test.", s1, "localhost.", "hostmaster.localhost.")
	m.SetTsig(keyA.Name, dns.HmacSHA256, 300, time.Now().Unix())
	c := &dns.Client{Net: "udp", TsigSecret: tsigMap(keyA), Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(r.Answer); !slices.Equal(got, []string{"SOA " + itoa(s3)}) {
		t.Fatalf("IXFR over UDP: %v", got)
	}
	// SOA over UDP, signed: the serial.
	m = new(dns.Msg).SetQuestion("rpz.hanoi.test.", dns.TypeSOA)
	m.SetTsig(keyA.Name, dns.HmacSHA256, 300, time.Now().Unix())
	if r, _, err = c.Exchange(m, addr); err != nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != s3 || !r.Authoritative {
		t.Fatalf("SOA: %v %v", r, err)
	}
}

// sortRuns sorts the records between SOAs, for comparing an IXFR
// without depending on the order inside one difference sequence.
func sortRuns(lines []string) []string {
	out := slices.Clone(lines)
	start := 0
	for i := 0; i <= len(out); i++ {
		if i == len(out) || strings.HasPrefix(out[i], "SOA ") {
			slices.Sort(out[start:i])
			start = i + 1
		}
	}
	return out
}

func itoa(n uint32) string { return strconv.FormatUint(uint64(n), 10) }

func TestJournalIsBounded(t *testing.T) {
	src := &source{}
	src.set(t, domains("a0.example"))
	s, addr := start(t, src, twoConsumers(), func(o *rpz.Options) { o.History = 2 })
	ctx := context.Background()
	first, _ := s.Serial("hanoi")
	for i := 1; i <= 4; i++ {
		src.set(t, domains("a"+strconv.Itoa(i)+".example"))
		if err := s.Update(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	rrs, err := xfr(addr, "rpz.hanoi.test.", keyA, true, first)
	if err != nil {
		t.Fatal(err)
	}
	// Four changes ago is out of a two-change journal: the whole zone.
	got := texts(rrs)
	if len(got) != 5 || got[1] != "NS localhost." {
		t.Fatalf("IXFR past the journal: %v", got)
	}
}

// TestNotifyRetries: the secondary ignores the first two NOTIFYs; the
// third, signed with the zone's key and carrying the new serial, is
// answered.
func TestNotifyRetries(t *testing.T) {
	var mu sync.Mutex
	var got []uint32
	tries := 0
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, TsigSecret: tsigMap(keyA), Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries <= 2 {
			return // lost
		}
		if r.Opcode != dns.OpcodeNotify || r.IsTsig() == nil || w.TsigStatus() != nil || len(r.Answer) != 1 {
			t.Errorf("notify %v, tsig status %v", r, w.TsigStatus())
			return
		}
		got = append(got, r.Answer[0].(*dns.SOA).Serial)
		a := new(dns.Msg).SetReply(r)
		a.SetTsig(keyA.Name, dns.HmacSHA256, 300, time.Now().Unix())
		w.WriteMsg(a)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	src := &source{}
	src.set(t, domains("a.example"))
	s, _ := start(t, src, twoConsumers(pc.LocalAddr().String()), func(o *rpz.Options) { o.NotifyTimeout = 200 * time.Millisecond })
	src.set(t, domains("b.example"))
	if err := s.Update(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	serial, _ := s.Serial("hanoi")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		ok := slices.Contains(got, serial)
		mu.Unlock()
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("no NOTIFY for serial %d answered; tries %d, got %v", serial, tries, got)
}

// TestRunPicksUpChanges: the update loop publishes a change of the list
// after the debounce.
func TestRunPicksUpChanges(t *testing.T) {
	src := &source{}
	src.set(t, domains("a.example"))
	s, addr := start(t, src, twoConsumers(), func(o *rpz.Options) {
		o.Poll, o.Debounce = 20*time.Millisecond, 100*time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	before, _ := s.Serial("hanoi")
	src.set(t, domains("a.example", "b.example"))
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if now, _ := s.Serial("hanoi"); now != before {
			rrs, err := xfr(addr, "rpz.hanoi.test.", keyA, false, 0)
			if err != nil {
				t.Fatal(err)
			}
			if tr := triggers(texts(rrs)); !slices.Equal(tr, zoneOf("rpz.hanoi.test.", []string{"a.example", "b.example"})) {
				t.Fatalf("zone after the change: %v", tr)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the change was not published")
}

func TestBadSpecsAreLeftOut(t *testing.T) {
	src := &source{}
	src.set(t, domains("a.example"))
	specs := append(twoConsumers(),
		rpz.ZoneSpec{Consumer: blocklist.Consumer{Name: "nobody"}},                                                                   // no key, no sources
		rpz.ZoneSpec{Consumer: blocklist.Consumer{Name: "short", Zone: "rpz.short."}, Key: &rpz.Key{Name: "s.", Secret: "c2hvcnQ="}}, // 5 bytes
		rpz.ZoneSpec{Consumer: blocklist.Consumer{Name: "csv", Formats: []blocklist.Format{blocklist.FormatCSV}}, Key: &rpz.Key{Name: "csv.", Secret: keyA.Secret}},
		rpz.ZoneSpec{Consumer: blocklist.Consumer{Name: "dup", Zone: "rpz.dup."}, Key: keyA}, // hanoi's key
	)
	s, _ := start(t, src, specs, nil)
	for _, name := range []string{"nobody", "short", "csv", "dup"} {
		if _, ok := s.Serial(name); ok {
			t.Errorf("zone of %s served", name)
		}
	}
	if _, ok := s.Serial("hanoi"); !ok {
		t.Error("a good zone left out with the bad ones")
	}
}

// TestIXFRLongerThanZoneIsFull: differences that hold more records than
// the zone itself are answered with the whole zone.
func TestIXFRLongerThanZoneIsFull(t *testing.T) {
	src := &source{}
	src.set(t, domains("a0.example", "keep.example"))
	s, addr := start(t, src, twoConsumers(), nil)
	ctx := context.Background()
	first, _ := s.Serial("hanoi")
	for i := 1; i <= 3; i++ {
		src.set(t, domains("a"+strconv.Itoa(i)+".example", "keep.example"))
		if err := s.Update(ctx, false); err != nil {
			t.Fatal(err)
		}
	}
	last, _ := s.Serial("hanoi")
	// From the last but one: 4 records of difference, the zone has 4 too.
	rrs, err := xfr(addr, "rpz.hanoi.test.", keyA, true, last-1)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(rrs); len(got) != 8 || got[1] != "SOA "+itoa(last-1) {
		t.Fatalf("IXFR of one change: %v", got)
	}
	// From the first: 12 records of differences against 4 in the zone.
	rrs, err = xfr(addr, "rpz.hanoi.test.", keyA, true, first)
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(rrs); len(got) != 7 || got[1] != "NS localhost." {
		t.Fatalf("IXFR of three changes: %v", got)
	}
}
