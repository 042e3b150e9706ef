package rpz_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
	"github.com/rampart-cert/rampart/internal/intel"
)

// bigList is a list of n domains ("bad123456.example-7.com").
func bigList(b *testing.B, n int) *source {
	b.Helper()
	seen := time.Now().Add(-time.Hour)
	in := make([]intel.Indicator, n)
	for i := range in {
		in[i] = intel.Indicator{Kind: intel.KindDomain, Value: "bad" + strconv.Itoa(i) + ".example-" + strconv.Itoa(i%97) + ".com",
			TLP: intel.TLPClear, Confidence: 80, Category: intel.CategoryMalware, FirstSeen: seen, LastSeen: seen}
	}
	src := &source{}
	src.set(b, in)
	return src
}

// BenchmarkAXFR1M transfers a zone of 1,000,000 blocked names (2,000,000
// CNAME records) to a miekg/dns client over loopback TCP, every message
// signed with TSIG and verified by the client.
//
//	go test -run '^$' -bench AXFR1M -benchtime 3x ./internal/dns/rpz/
func BenchmarkAXFR1M(b *testing.B) {
	const n = 1_000_000
	src := bigList(b, n)
	specs := []rpz.ZoneSpec{{Consumer: blocklist.Consumer{Name: "big", Zone: "rpz.rampart."}, Key: keyA}}
	_, addr := start(b, src, specs, nil)
	b.ResetTimer()
	for range b.N {
		m := new(dns.Msg).SetAxfr("rpz.rampart.")
		m.SetTsig(keyA.Name, dns.HmacSHA256, 300, time.Now().Unix())
		tr := &dns.Transfer{TsigSecret: tsigMap(keyA)}
		ch, err := tr.In(m, addr)
		if err != nil {
			b.Fatal(err)
		}
		rrs, msgs := 0, 0
		for env := range ch {
			if env.Error != nil {
				b.Fatal(env.Error)
			}
			rrs += len(env.RR)
			msgs++
		}
		if rrs != 2*n+3 {
			b.Fatalf("%d records, want %d", rrs, 2*n+3)
		}
		b.ReportMetric(float64(msgs), "messages/op")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "names/s")
}

// BenchmarkAXFR1MServer is the server's side of BenchmarkAXFR1M: the
// client reads the messages and counts their records from the headers,
// without unpacking them.
func BenchmarkAXFR1MServer(b *testing.B) {
	const n = 1_000_000
	src := bigList(b, n)
	specs := []rpz.ZoneSpec{{Consumer: blocklist.Consumer{Name: "big", Zone: "rpz.rampart."}, Key: keyA}}
	_, addr := start(b, src, specs, nil)
	b.ResetTimer()
	for range b.N {
		m := new(dns.Msg).SetAxfr("rpz.rampart.")
		m.SetTsig(keyA.Name, dns.HmacSHA256, 300, time.Now().Unix())
		wire, _, err := dns.TsigGenerate(m, keyA.Secret, "", false)
		if err != nil {
			b.Fatal(err)
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		r := bufio.NewReaderSize(c, 64<<10)
		c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(wire))))
		c.Write(wire)
		rrs, bytes := 0, 0
		buf := make([]byte, 65536)
		for rrs < 2*n+3 {
			if _, err := io.ReadFull(r, buf[:2]); err != nil {
				b.Fatal(err)
			}
			l := int(binary.BigEndian.Uint16(buf))
			if _, err := io.ReadFull(r, buf[:l]); err != nil {
				b.Fatal(err)
			}
			rrs += int(binary.BigEndian.Uint16(buf[6:]))
			bytes += l + 2
		}
		c.Close()
		b.ReportMetric(float64(bytes)/1e6, "MB/op")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "names/s")
}

// BenchmarkUpdate1M is the cost of publishing a change of one name in a
// zone of 1,000,000: render the list for the consumer, diff, journal.
func BenchmarkUpdate1M(b *testing.B) {
	src := bigList(b, 1_000_000)
	specs := []rpz.ZoneSpec{{Consumer: blocklist.Consumer{Name: "big", Zone: "rpz.rampart."}, Key: keyA}}
	s, _ := start(b, src, specs, nil)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := s.Update(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate1MFourZones publishes four consumers' zones of the same
// 1,000,000 names and reports the heap they hold (the names' bytes are
// shared between the zones).
func BenchmarkUpdate1MFourZones(b *testing.B) {
	src := bigList(b, 1_000_000)
	var specs []rpz.ZoneSpec
	for i := range 4 {
		specs = append(specs, rpz.ZoneSpec{Consumer: blocklist.Consumer{Name: "c" + strconv.Itoa(i), Zone: "rpz" + strconv.Itoa(i) + ".rampart."},
			AllowUnsigned: prefixes("127.0.0.0/8")})
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, _ := start(b, src, specs, nil)
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := s.Update(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB-held")
	runtime.KeepAlive(s)
}
