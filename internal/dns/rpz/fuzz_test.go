package rpz

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/intel"
)

type fixedSource struct{ l *blocklist.List }

func (s fixedSource) List(context.Context) (*blocklist.List, error) { return s.l, nil }

var fuzzKey = &Key{Name: "hanoi.rampart.", Secret: "c2VjcmV0LWtleS1vZi1oYW5vaS0wMTIzNDU2Nzg5YWI="}

// fuzzServer serves two zones (one signed, one open to loopback) with a
// journal of one change.
func fuzzServer(t testing.TB) *Server {
	seen := time.Now().Add(-time.Hour)
	in := func(vals ...string) []intel.Indicator {
		var out []intel.Indicator
		for _, v := range vals {
			k := intel.KindDomain
			if _, err := netip.ParseAddr(v); err == nil {
				k = intel.KindIPv4
			}
			out = append(out, intel.Indicator{Kind: k, Value: v, TLP: intel.TLPClear, Confidence: 90, LastSeen: seen, FirstSeen: seen})
		}
		return out
	}
	l1, _ := blocklist.Build(in("a.example", "b.example", "93.184.215.14"), nil)
	l2, _ := blocklist.Build(in("a.example", "c.example"), nil)
	src := &fixedSource{l: l1}
	specs := []ZoneSpec{
		{Consumer: blocklist.Consumer{Name: "signed", Zone: "rpz.hanoi.test."}, Key: fuzzKey},
		{Consumer: blocklist.Consumer{Name: "open", Zone: "rpz.open.test."}, AllowUnsigned: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	}
	s, err := New(Options{Source: src, Zones: func(context.Context) ([]ZoneSpec, error) { return specs, nil },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	src.l = l2
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzRequest feeds the request path (parse, TSIG, zone choice, answer)
// hostile bytes over "TCP" and "UDP": it must not panic, and whatever it
// sends must be a DNS message that fits its transport. Seeds: requests
// as miekg/dns, dig and unbound send them (testdata/fuzz/FuzzRequest
// holds captures of dig's and unbound's).
func FuzzRequest(f *testing.F) {
	pack := func(m *dns.Msg, sign bool) []byte {
		if sign {
			m.SetTsig(fuzzKey.Name, dns.HmacSHA256, 300, time.Now().Unix())
			b, _, err := dns.TsigGenerate(m, fuzzKey.Secret, "", false)
			if err != nil {
				f.Fatal(err)
			}
			return b
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	ixfr := new(dns.Msg)
	ixfr.SetIxfr("rpz.hanoi.test.", 1, "localhost.", "hostmaster.localhost.")
	notify := new(dns.Msg)
	notify.SetNotify("rpz.open.test.")
	for _, seed := range [][]byte{
		pack(new(dns.Msg).SetAxfr("rpz.hanoi.test."), true),
		pack(ixfr, true),
		pack(new(dns.Msg).SetQuestion("rpz.hanoi.test.", dns.TypeSOA), true),
		pack(new(dns.Msg).SetAxfr("rpz.open.test."), false),
		pack(new(dns.Msg).SetQuestion("rpz.open.test.", dns.TypeSOA), false),
		pack(new(dns.Msg).SetQuestion("rpz.open.test.", dns.TypeTXT), false),
		pack(notify, false),
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	s := fuzzServer(f)
	src := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, raw []byte, tcp bool) {
		sent := 0
		send := func(b []byte) error {
			sent++
			if len(b) < 2+12 {
				t.Fatalf("a message of %d bytes", len(b)-2)
			}
			if n := binary.BigEndian.Uint16(b); int(n) != len(b)-2 {
				t.Fatalf("length prefix %d for %d bytes", n, len(b)-2)
			}
			if !tcp && len(b)-2 > 512 {
				t.Fatalf("UDP answer of %d bytes", len(b)-2)
			}
			m := new(dns.Msg)
			if err := m.Unpack(b[2:]); err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if !m.Response {
				t.Fatal("answer without QR")
			}
			return nil
		}
		_ = s.serve(raw, src, tcp, send)
		if sent > 0 && len(raw) >= 12 && raw[2]&0x80 != 0 {
			t.Fatal("answered a response")
		}
	})
}
