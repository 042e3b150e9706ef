package rpz

import (
	"bytes"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
)

// TestRenderParserChunks: the zone read from the blocklist's RPZ
// rendering is the same however the rendering is cut into writes (its
// buffer cuts lines anywhere).
func TestRenderParserChunks(t *testing.T) {
	now := time.Now()
	var in []intel.Indicator
	for _, v := range []struct {
		k intel.Kind
		v string
	}{{intel.KindDomain, "b.example"}, {intel.KindDomain, "a.example"}, {intel.KindIPv4, "93.184.215.14"},
		{intel.KindCIDR, "2001:db8:ff::/48"}, {intel.KindURL, "http://x.example/y"}} {
		in = append(in, intel.Indicator{Kind: v.k, Value: v.v, TLP: intel.TLPClear, Confidence: 90, LastSeen: now, FirstSeen: now})
	}
	l, _ := blocklist.Build(in, nil)
	c := &blocklist.Consumer{Name: "x", Zone: "rpz.test."}
	whole, err := render(l, c, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole.domains, []string{"a.example", "b.example"}) ||
		!slices.Equal(whole.ips, []string{"32.14.215.184.93.rpz-ip", "48.zz.ff.db8.2001.rpz-ip"}) {
		t.Fatalf("zone %+v", whole)
	}
	var text bytes.Buffer
	if _, err := l.Render(&text, blocklist.FormatRPZ, c, now); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 2, 3, 7, 64} {
		var p renderParser
		b := text.Bytes()
		for len(b) > 0 {
			n := min(size, len(b))
			p.Write(b[:n])
			b = b[n:]
		}
		if len(p.rest) > 0 {
			p.line(p.rest)
		}
		if !slices.Equal(p.c.domains, whole.domains) || !slices.Equal(p.c.ips, whole.ips) {
			t.Errorf("writes of %d bytes: %+v, want %+v", size, p.c, whole)
		}
	}
	// With a pool: the same zone, its names the pool's strings.
	pool, err := render(l, poolConsumer("rpz.test."), now, nil)
	if err != nil {
		t.Fatal(err)
	}
	pooled, err := render(l, c, now, pool.domains)
	if err != nil || !slices.Equal(pooled.domains, whole.domains) || !slices.Equal(pooled.ips, whole.ips) {
		t.Fatalf("pooled zone %+v %v", pooled, err)
	}
	for i, d := range pooled.domains {
		if unsafe.StringData(d) != unsafe.StringData(pool.domains[slices.Index(pool.domains, d)]) {
			t.Errorf("domain %d (%s) is a copy, not the pool's", i, d)
		}
	}
	// No list yet: an empty zone, not an error.
	if empty, err := render(nil, c, now, nil); err != nil || empty.records() != 0 {
		t.Fatalf("no list: %+v %v", empty, err)
	}
}

func TestDiffAndSerial(t *testing.T) {
	gone, came := diffSorted([]string{"a", "b", "d"}, []string{"b", "c", "d", "e"})
	if !slices.Equal(gone, []string{"a"}) || !slices.Equal(came, []string{"c", "e"}) {
		t.Fatalf("diff: gone %v came %v", gone, came)
	}
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct{ prev, want uint32 }{
		{0, 1_800_000_000},             // first: the clock
		{1_700_000_000, 1_800_000_000}, // behind the clock: the clock
		{1_800_000_000, 1_800_000_001}, // same second: one more
		{1_900_000_000, 1_900_000_001}, // ahead of the clock: one more
	} {
		if got := nextSerial(tc.prev, now); got != tc.want {
			t.Errorf("nextSerial(%d) = %d, want %d", tc.prev, got, tc.want)
		}
	}
}
