package asset

import (
	"fmt"
	"net/netip"
	"runtime"
	"strconv"
	"sync"
	"testing"
)

// The benchmarks load 1,000,000 assets of a realistic mix, generated from
// a fixed seed:
//
//	35% domains, hostnames and mail domains under 20,000 agency domains
//	40% IPv4: networks from /16 to /30 and single addresses, nested inside
//	    8,000 regional /16s (mostly the same organization, sometimes not)
//	15% IPv6: /32 to /64 networks and single addresses
//	 8% URLs on agency hosts
//	 2% ASNs
//
// and look up targets of which about two thirds are in scope.

const benchAssets = 1_000_000

type benchData struct {
	entries []Entry
	mixed   []string // targets of every form
	v4      []string
	names   []string
	urls    []string
	addrs   []netip.Addr
	ix      *Index
}

var (
	benchOnce sync.Once
	bench     *benchData
)

func benchFixture(b *testing.B) *benchData {
	b.Helper()
	benchOnce.Do(func() {
		d := genBench(benchAssets)
		bl := NewBuilder()
		for _, e := range d.entries {
			if err := bl.Add(e); err != nil {
				panic(err)
			}
		}
		d.ix = bl.Build()
		bench = d
	})
	return bench
}

func genBench(n int) *benchData {
	r := newRand(2026)
	d := &benchData{entries: make([]Entry, 0, n)}
	const orgs, agencies, regions = 10_000, 20_000, 8_000
	agencyOrg := func(a uint64) int64 { return int64(a%orgs) + 1 }
	agencyName := func(a uint64) string {
		return "agency" + strconv.FormatUint(a, 10) + ".prov" + strconv.FormatUint(a%63, 10) + ".gov.vn"
	}
	region := func(k uint64) (byte, byte) { return byte(1 + k%220), byte(k / 220 * 7) }
	id := int64(0)
	add := func(org int64, kind Kind, value string) {
		id++
		d.entries = append(d.entries, Entry{AssetID: id, OrgID: org, Kind: kind, Value: value})
	}
	for a := uint64(0); a < agencies; a++ {
		add(agencyOrg(a), KindDomain, agencyName(a))
	}
	for k := uint64(0); k < regions; k++ {
		x, y := region(k)
		add(int64(k%orgs)+1, KindCIDR, netip.PrefixFrom(netip.AddrFrom4([4]byte{x, y, 0, 0}), 16).String())
	}
	for len(d.entries) < n {
		c := r.next() % 100
		a := r.next() % agencies
		org := agencyOrg(a)
		switch {
		case c < 35:
			name := agencyName(a)
			switch s := r.next() % 10; {
			case s < 5:
				add(org, KindHostname, "host"+strconv.FormatUint(r.next()%100_000, 10)+"."+name)
			case s < 8:
				add(org, KindDomain, "dept"+strconv.FormatUint(r.next()%50_000, 10)+"."+name)
			case s < 9:
				add(org, KindMailDomain, "mail"+strconv.FormatUint(r.next()%100, 10)+"."+name)
			default:
				add(org, KindHostname, "_dmarc.dept"+strconv.FormatUint(r.next()%50_000, 10)+"."+name)
			}
		case c < 75:
			k := r.next() % regions
			x, y := region(k)
			if r.next()%5 == 0 { // another organization inside the region
				org = int64(r.next()%orgs) + 1
			} else {
				org = int64(k%orgs) + 1
			}
			ip := netip.AddrFrom4([4]byte{x, y, byte(r.next()), byte(r.next())})
			switch s := r.next() % 100; {
			case s < 45:
				add(org, KindIPv4, ip.String())
			default:
				bits := 17 + int(r.next()%14) // /17 to /30
				add(org, KindCIDR, netip.PrefixFrom(ip, bits).Masked().String())
			}
		case c < 90:
			var b16 [16]byte
			b16[0], b16[1] = 0x20, 0x01
			b16[2], b16[3] = byte(r.next()%64), byte(r.next())
			b16[4], b16[5], b16[6], b16[7] = byte(r.next()), byte(r.next()), byte(r.next()), byte(r.next())
			b16[15] = byte(r.next())
			ip := netip.AddrFrom16(b16)
			switch s := r.next() % 4; s {
			case 0:
				add(org, KindIPv6, ip.String())
			default:
				add(org, KindCIDR, netip.PrefixFrom(ip, []int{32, 48, 56, 64}[r.next()%4]).Masked().String())
			}
		case c < 98:
			add(org, KindURL, "https://portal"+strconv.FormatUint(r.next()%20, 10)+"."+agencyName(a)+"/app"+strconv.FormatUint(r.next()%10, 10))
		default:
			add(org, KindASN, formatASN(uint32(64_512+r.next()%1_000_000)))
		}
	}

	const targets = 1 << 16
	for i := 0; i < targets; i++ {
		a := r.next() % (agencies + agencies/2) // a third of names out of scope
		k := r.next() % (regions + regions/2)   // a third of regions out of scope
		x, y := region(k)
		ip := netip.AddrFrom4([4]byte{x, y, byte(r.next()), byte(r.next())})
		d.v4 = append(d.v4, ip.String())
		d.addrs = append(d.addrs, ip)
		var name string
		switch r.next() % 3 {
		case 0:
			name = "host" + strconv.FormatUint(r.next()%100_000, 10) + "." + agencyName(a)
		case 1:
			name = "www.dept" + strconv.FormatUint(r.next()%50_000, 10) + "." + agencyName(a)
		default:
			name = "mail" + strconv.FormatUint(r.next()%100, 10) + "." + agencyName(a)
		}
		d.names = append(d.names, name)
		u := "https://portal" + strconv.FormatUint(r.next()%20, 10) + "." + agencyName(a) +
			"/app" + strconv.FormatUint(r.next()%10, 10) + "/page?id=" + strconv.Itoa(i)
		d.urls = append(d.urls, u)
		switch c := r.next() % 100; {
		case c < 45:
			d.mixed = append(d.mixed, name)
		case c < 85:
			d.mixed = append(d.mixed, ip.String())
		case c < 93:
			d.mixed = append(d.mixed, fmt.Sprintf("2001:%x:%x::%x", r.next()%64, r.next()%65536, r.next()%256))
		default:
			d.mixed = append(d.mixed, u)
		}
	}
	return d
}

func benchLookup(b *testing.B, targets []string) {
	ix := benchFixture(b).ix
	b.ReportAllocs()
	hits, i := 0, 0
	for b.Loop() {
		if _, err := ix.Lookup(targets[i&(len(targets)-1)]); err == nil {
			hits++
		}
		i++
	}
	reportRate(b, i, hits)
}

func reportRate(b *testing.B, n, hits int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "lookups/s")
	}
	if n > 0 {
		b.ReportMetric(100*float64(hits)/float64(n), "%hit")
	}
}

// BenchmarkLookupMixed: 45% names, 40% IPv4, 8% IPv6, 7% URLs, as text.
func BenchmarkLookupMixed(b *testing.B) { benchLookup(b, benchFixture(b).mixed) }

func BenchmarkLookupIPv4Text(b *testing.B) { benchLookup(b, benchFixture(b).v4) }

func BenchmarkLookupNameText(b *testing.B) { benchLookup(b, benchFixture(b).names) }

func BenchmarkLookupURLText(b *testing.B) { benchLookup(b, benchFixture(b).urls) }

func BenchmarkLookupAddr(b *testing.B) {
	d := benchFixture(b)
	b.ReportAllocs()
	hits, i := 0, 0
	for b.Loop() {
		if _, ok := d.ix.LookupAddr(d.addrs[i&(len(d.addrs)-1)]); ok {
			hits++
		}
		i++
	}
	reportRate(b, i, hits)
}

func BenchmarkLookupName(b *testing.B) {
	d := benchFixture(b)
	b.ReportAllocs()
	hits, i := 0, 0
	for b.Loop() {
		if _, ok := d.ix.LookupName(d.names[i&(len(d.names)-1)]); ok {
			hits++
		}
		i++
	}
	reportRate(b, i, hits)
}

// BenchmarkBuild measures a full rebuild of the 1M-asset index (Add and
// Build), and reports the heap the index holds.
func BenchmarkBuild(b *testing.B) {
	d := benchFixture(b)
	b.ReportAllocs()
	var ix *Index
	for b.Loop() {
		bl := NewBuilder()
		for _, e := range d.entries {
			if err := bl.Add(e); err != nil {
				b.Fatal(err)
			}
		}
		ix = bl.Build()
	}
	b.StopTimer()
	ix = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	bl := NewBuilder()
	for _, e := range d.entries {
		_ = bl.Add(e)
	}
	ix = bl.Build()
	bl = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "index-MiB")
	runtime.KeepAlive(ix)
}

func BenchmarkOverlaps(b *testing.B) {
	ix := benchFixture(b).ix
	n := 0
	for b.Loop() {
		n = len(ix.Overlaps())
	}
	b.ReportMetric(float64(n), "pairs")
}
