package blocklist

import (
	"fmt"
	"io"
	"net/netip"
	"sync"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// million is 1,000,000 indicators: 600k IPv4 addresses, 100k IPv4 /24s
// (overlapping some addresses), 50k IPv6 addresses, 200k domains and 50k
// URLs, built on first use.
var million = sync.OnceValue(func() []intel.Indicator {
	out := make([]intel.Indicator, 0, 1_000_000)
	add := func(k intel.Kind, v string, i int) {
		in := ind(k, v, intel.TLPs[i%3], 50+i%50, intel.CategoryC2, i%30)
		out = append(out, in)
	}
	// Addresses spread over public space, as real lists are: a
	// multiplicative hash of i, the first octet kept in 20-199 and off
	// the special ranges.
	spread := func(i int) [4]byte {
		n := uint32(i) * 2654435761
		first := byte(20 + (n>>24)%180)
		if first == 100 || first == 127 || first == 169 || first == 172 || first == 192 {
			first = 44
		}
		return [4]byte{first, byte(n >> 16), byte(n >> 8), byte(n)}
	}
	for i := range 600_000 {
		add(intel.KindIPv4, netip.AddrFrom4(spread(i)).String(), i)
	}
	for i := range 100_000 {
		a := spread(i*7 + 3)
		add(intel.KindCIDR, fmt.Sprintf("%d.%d.%d.0/24", a[0], a[1], a[2]), i)
	}
	for i := range 50_000 {
		add(intel.KindIPv6, fmt.Sprintf("2001:db8:%x::%x", i/4096, i), i)
	}
	for i := range 200_000 {
		add(intel.KindDomain, fmt.Sprintf("d%07d.example", i), i)
	}
	for i := range 50_000 {
		add(intel.KindURL, fmt.Sprintf("http://u%d.example/p/%d", i%1000, i), i)
	}
	return out
})

var millionList = sync.OnceValue(func() *List {
	l, _ := Build(million(), nil)
	return l
})

func BenchmarkBuild1M(b *testing.B) {
	ins := million()
	b.ResetTimer()
	for b.Loop() {
		Build(ins, &Guard{Registry: testRegistry()})
	}
}

func benchRender(b *testing.B, f Format) {
	l := millionList()
	c := &Consumer{MaxTLP: intel.TLPAmber}
	b.ResetTimer()
	var n int
	for b.Loop() {
		var err error
		if n, err = l.Render(io.Discard, f, c, testNow); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "entries")
}

func BenchmarkRender1MPlain(b *testing.B)    { benchRender(b, FormatPlain) }
func BenchmarkRender1MCSV(b *testing.B)      { benchRender(b, FormatCSV) }
func BenchmarkRender1MNFT(b *testing.B)      { benchRender(b, FormatNFT) }
func BenchmarkRender1MIPSet(b *testing.B)    { benchRender(b, FormatIPSet) }
func BenchmarkRender1MMikrotik(b *testing.B) { benchRender(b, FormatMikrotik) }
func BenchmarkRender1MRPZ(b *testing.B)      { benchRender(b, FormatRPZ) }
