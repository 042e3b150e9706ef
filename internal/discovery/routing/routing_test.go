package routing_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/discovery/routing"
)

func sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ripe-ris_rrc15_updates.20100227.1610.gz"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRIPEUpdates(t *testing.T) {
	tab := routing.NewTable()
	var routes []routing.Route
	st, err := routing.ReadMRT(bytes.NewReader(sample(t)), func(r routing.Route) error {
		routes = append(routes, r)
		return tab.Add(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 1953 {
		t.Fatalf("%d records, want 1953", st.Records)
	}
	if st.Routes != len(routes) || st.Routes < 500 {
		t.Fatalf("%d routes (%d passed)", st.Routes, len(routes))
	}
	// The first record: AS22548 announces 117.200.208.0/20 with the path
	// 22548 16735 12956 1239 9829 (bytes checked by hand).
	first := routes[0]
	if first.Prefix != netip.MustParsePrefix("117.200.208.0/20") || !slices.Equal(first.Origins, []uint32{9829}) {
		t.Fatalf("first route %+v", first)
	}
	if !slices.Contains(tab.Prefixes(9829), netip.MustParsePrefix("117.200.208.0/20")) {
		t.Fatal("AS9829 does not originate 117.200.208.0/20 in the table")
	}
	v6 := 0
	for _, r := range routes {
		if r.Prefix.Addr().Is6() {
			v6++
		}
		if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || len(r.Origins) == 0 {
			t.Fatalf("route %+v", r)
		}
	}
	t.Logf("%d records, %d routes (%d IPv6, from MP_REACH_NLRI), %d skipped, %d origin ASes", st.Records, st.Routes, v6, st.Skipped, tab.Len())

	// The same file uncompressed reads the same; a truncated one fails
	// with the record number, after the routes before it.
	zr, _ := gzip.NewReader(bytes.NewReader(sample(t)))
	raw, _ := io.ReadAll(zr)
	st2, err := routing.ReadMRT(bytes.NewReader(raw), func(routing.Route) error { return nil })
	if err != nil || st2 != st {
		t.Fatalf("plain: %+v %v", st2, err)
	}
	n := 0
	_, err = routing.ReadMRT(bytes.NewReader(raw[:len(raw)/2]), func(routing.Route) error { n++; return nil })
	if !errors.Is(err, routing.ErrFormat) || !strings.Contains(err.Error(), "record ") || n == 0 {
		t.Fatalf("truncated: %v after %d routes", err, n)
	}
}

// rib builds a TABLE_DUMP_V2 file: a peer index table and RIB records.
func rib(entries []struct {
	prefix string
	paths  [][]uint32
	set    bool
}) []byte {
	var out bytes.Buffer
	rec := func(typ, sub uint16, body []byte) {
		var h [12]byte
		binary.BigEndian.PutUint32(h[0:], 1267287000)
		binary.BigEndian.PutUint16(h[4:], typ)
		binary.BigEndian.PutUint16(h[6:], sub)
		binary.BigEndian.PutUint32(h[8:], uint32(len(body)))
		out.Write(h[:])
		out.Write(body)
	}
	rec(13, 1, []byte{10, 0, 0, 1, 0, 0, 0, 0}) // peer index: collector id, empty view name, 0 peers
	for i, e := range entries {
		p := netip.MustParsePrefix(e.prefix)
		var b []byte
		b = binary.BigEndian.AppendUint32(b, uint32(i))
		b = append(b, byte(p.Bits()))
		b = append(b, p.Addr().AsSlice()[:(p.Bits()+7)/8]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(e.paths)))
		for j, path := range e.paths {
			seg := byte(2)
			if e.set && j == 0 {
				seg = 1
			}
			var asp []byte
			asp = append(asp, seg, byte(len(path)))
			for _, as := range path {
				asp = binary.BigEndian.AppendUint32(asp, as)
			}
			attrs := append([]byte{0x40, 1, 1, 0}, 0x50, 2) // ORIGIN, then AS_PATH with extended length
			attrs = binary.BigEndian.AppendUint16(attrs, uint16(len(asp)))
			attrs = append(attrs, asp...)
			b = binary.BigEndian.AppendUint16(b, uint16(j))
			b = binary.BigEndian.AppendUint32(b, 1267287000)
			b = binary.BigEndian.AppendUint16(b, uint16(len(attrs)))
			b = append(b, attrs...)
		}
		sub := uint16(2)
		if p.Addr().Is6() {
			sub = 4
		}
		rec(13, sub, b)
	}
	return out.Bytes()
}

func ribSample() []byte {
	return rib([]struct {
		prefix string
		paths  [][]uint32
		set    bool
	}{
		{"203.0.113.0/24", [][]uint32{{3356, 64500}, {174, 64500}}, false},
		{"198.51.100.0/22", [][]uint32{{3356, 4200000001}}, false},
		{"2001:db8::/32", [][]uint32{{6939, 64501}}, false},
		{"192.0.2.0/24", [][]uint32{{64502, 64503}}, true},
	})
}

func TestTableDumpV2(t *testing.T) {
	tab := routing.NewTable()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(ribSample())
	zw.Close()
	st, err := routing.ReadMRT(&gz, tab.Add)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 5 || st.Routes != 4 || st.Skipped != 1 {
		t.Fatalf("stats %+v", st)
	}
	for as, want := range map[uint32][]string{
		64500:      {"203.0.113.0/24"},
		4200000001: {"198.51.100.0/22"},
		64501:      {"2001:db8::/32"},
		64502:      {"192.0.2.0/24"},
		64503:      {"192.0.2.0/24"},
		3356:       nil,
	} {
		var got []string
		for _, p := range tab.Prefixes(as) {
			got = append(got, p.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("AS%d: %v, want %v", as, got, want)
		}
	}
	// A record longer than its file, and a prefix longer than 32 bits.
	bad := ribSample()
	binary.BigEndian.PutUint32(bad[12+8+8:], 1<<20)
	if _, err := routing.ReadMRT(bytes.NewReader(bad), tab.Add); !errors.Is(err, routing.ErrFormat) {
		t.Fatalf("long record: %v", err)
	}
	bad = ribSample()
	bad[12+8+12+4] = 33
	if _, err := routing.ReadMRT(bytes.NewReader(bad), tab.Add); !errors.Is(err, routing.ErrFormat) || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("bad prefix length: %v", err)
	}
}

const pfx2asSample = `# CAIDA RouteViews pfx2as, a hand-made excerpt in its format
1.0.0.0	24	13335
1.0.4.0	22	38803
203.113.128.0	18	7552
27.64.0.0	12	7552_18403
103.9.76.0	22	{131375,131376}
2001:ee0::	32	45899

2402:800::/32 AS7552
`

func TestPfx2as(t *testing.T) {
	tab := routing.NewTable()
	n, err := routing.ReadPfx2as(strings.NewReader(pfx2asSample), tab.Add)
	if err != nil || n != 7 {
		t.Fatalf("%d routes: %v", n, err)
	}
	for as, want := range map[uint32][]string{
		7552:   {"27.64.0.0/12", "203.113.128.0/18", "2402:800::/32"},
		18403:  {"27.64.0.0/12"},
		131376: {"103.9.76.0/22"},
		45899:  {"2001:ee0::/32"},
	} {
		var got []string
		for _, p := range tab.Prefixes(as) {
			got = append(got, p.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("AS%d: %v, want %v", as, got, want)
		}
	}
	for _, bad := range []string{"1.0.0.0\t33\t1\n", "1.0.0\t24\t1\n", "1.0.0.0\t24\tAS-X\n", "1.0.0.0 24\n"} {
		if _, err := routing.ReadPfx2as(strings.NewReader("# x\n"+bad), tab.Add); !errors.Is(err, routing.ErrFormat) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// updateV6 is a BGP4MP_ET MESSAGE_AS4 record whose UPDATE announces
// 2001:db8:100::/40 through MP_REACH_NLRI with the AS4 path 64510
// 4200000010 and withdraws 10.0.0.0/8.
func updateV6() []byte {
	var attrs []byte
	attrs = append(attrs, 0x40, 1, 1, 0)                // ORIGIN IGP
	attrs = append(attrs, 0x40, 2, 10, 2, 2)            // AS_PATH: one AS_SEQUENCE of 2
	attrs = binary.BigEndian.AppendUint32(attrs, 64510) // 4-byte numbers
	attrs = binary.BigEndian.AppendUint32(attrs, 4200000010)
	mp := []byte{0, 2, 1, 16}
	mp = append(mp, netip.MustParseAddr("2001:db8::1").AsSlice()...)
	mp = append(mp, 0, 40, 0x20, 0x01, 0x0d, 0xb8, 0x01)
	attrs = append(attrs, 0x80, 14, byte(len(mp)))
	attrs = append(attrs, mp...)
	var upd []byte
	upd = binary.BigEndian.AppendUint16(upd, 2)
	upd = append(upd, 8, 10)
	upd = binary.BigEndian.AppendUint16(upd, uint16(len(attrs)))
	upd = append(upd, attrs...)
	msg := bytes.Repeat([]byte{0xff}, 16)
	msg = binary.BigEndian.AppendUint16(msg, uint16(19+len(upd)))
	msg = append(msg, 2)
	msg = append(msg, upd...)
	var body []byte
	body = binary.BigEndian.AppendUint32(body, 123456) // microseconds (BGP4MP_ET)
	body = binary.BigEndian.AppendUint32(body, 64510)  // peer AS
	body = binary.BigEndian.AppendUint32(body, 64999)  // local AS
	body = binary.BigEndian.AppendUint16(body, 0)
	body = binary.BigEndian.AppendUint16(body, 2) // AFI IPv6
	body = append(body, netip.MustParseAddr("2001:db8::1").AsSlice()...)
	body = append(body, netip.MustParseAddr("2001:db8::2").AsSlice()...)
	body = append(body, msg...)
	var h [12]byte
	binary.BigEndian.PutUint16(h[4:], 17)
	binary.BigEndian.PutUint16(h[6:], 4)
	binary.BigEndian.PutUint32(h[8:], uint32(len(body)))
	return append(h[:], body...)
}

func TestBGP4MPMultiprotocol(t *testing.T) {
	var got []routing.Route
	st, err := routing.ReadMRT(bytes.NewReader(updateV6()), func(r routing.Route) error { got = append(got, r); return nil })
	if err != nil || st.Routes != 1 {
		t.Fatalf("%+v %v", st, err)
	}
	if got[0].Prefix != netip.MustParsePrefix("2001:db8:100::/40") || !slices.Equal(got[0].Origins, []uint32{4200000010}) {
		t.Fatalf("route %+v", got[0])
	}
}

func FuzzReadMRT(f *testing.F) {
	zr, _ := gzip.NewReader(bytes.NewReader(sample(f)))
	raw, _ := io.ReadAll(zr)
	// The first records of the real updates file, one by one.
	for off, i := 0, 0; i < 20 && off+12 <= len(raw); i++ {
		n := int(binary.BigEndian.Uint32(raw[off+8:]))
		f.Add(raw[off : off+12+n])
		off += 12 + n
	}
	f.Add(ribSample())
	f.Add(updateV6())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := routing.ReadMRT(bytes.NewReader(b), func(r routing.Route) error {
			if !r.Prefix.IsValid() || len(r.Origins) == 0 {
				t.Fatalf("route %+v", r)
			}
			return nil
		})
		if err != nil && !errors.Is(err, routing.ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}

func FuzzPfx2as(f *testing.F) {
	f.Add(pfx2asSample)
	f.Add("1.0.0.0\t24\t{1,2}_3\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, err := routing.ReadPfx2as(strings.NewReader(s), func(r routing.Route) error {
			if !r.Prefix.IsValid() || len(r.Origins) == 0 {
				t.Fatalf("route %+v", r)
			}
			return nil
		})
		if err != nil && !errors.Is(err, routing.ErrFormat) {
			t.Fatalf("error %v does not wrap ErrFormat", err)
		}
	})
}
