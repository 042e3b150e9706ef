package netflow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/netflow/nftest"
)

var (
	exporterA = netip.MustParseAddrPort("127.0.50.1:40000")
	exporterB = netip.MustParseAddrPort("127.0.50.2:40000")
	export    = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
)

func flow(i int) nftest.Flow {
	return nftest.Flow{
		Src:     netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}),
		Dst:     netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
		SrcPort: uint16(30000 + i), DstPort: 443, Proto: 6,
		Packets: uint64(i + 1), Bytes: uint64(100 * (i + 1)),
		End: export.Add(-time.Duration(i) * time.Second),
	}
}

func checkFlow(t *testing.T, e sensor.Event, f nftest.Flow, input string) {
	t.Helper()
	if e.Type != sensor.TypeFlow || e.Input != input || e.Src != f.Src || e.Dst != f.Dst ||
		e.SrcPort != f.SrcPort || e.DstPort != f.DstPort || e.Proto != f.Proto ||
		e.Packets != f.Packets || e.Bytes != f.Bytes || !e.Time.Equal(f.End) {
		t.Errorf("got %+v\nwant %+v (%s)", e, f, input)
	}
}

func TestV5(t *testing.T) {
	var flows []nftest.Flow
	for i := range 30 {
		flows = append(flows, flow(i))
	}
	d := NewDecoder(0, 0)
	evs, err := d.Decode(exporterA, nftest.AppendV5(nil, flows, export, 1, 0), export, nil)
	if err != nil || len(evs) != 30 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	for i, e := range evs {
		checkFlow(t, e, flows[i], "netflow")
	}
	// Sampled 1 in 100: the counts are estimates of the real traffic.
	evs, err = d.Decode(exporterA, nftest.AppendV5(nil, flows[:1], export, 2, 100), export, nil)
	if err != nil || len(evs) != 1 || evs[0].Packets != 100 || evs[0].Bytes != 10000 {
		t.Fatalf("sampled: %+v, %v", evs, err)
	}
	if s := d.Stats(); s.Flows != 31 || s.Malformed != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestV5Malformed(t *testing.T) {
	good := nftest.AppendV5(nil, []nftest.Flow{flow(1), flow(2)}, export, 1, 0)
	zero := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(zero[2:], 0)
	many := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(many[2:], 31)
	for name, c := range map[string]struct {
		pkt  []byte
		want error
	}{
		"header cut": {good[:20], ErrShort},
		"record cut": {good[:len(good)-1], ErrShort},
		"no records": {zero, ErrMalformed},
		"over 30":    {many, ErrMalformed},
		"version 7":  {append([]byte{0, 7}, good[2:]...), ErrVersion},
		"one byte":   {good[:1], ErrShort},
		"empty":      {nil, ErrShort},
	} {
		d := NewDecoder(0, 0)
		evs, err := d.Decode(exporterA, c.pkt, export, nil)
		if !errors.Is(err, c.want) || len(evs) != 0 {
			t.Errorf("%s: %d events, %v, want %v", name, len(evs), err, c.want)
		}
		if d.Stats().Malformed != 1 {
			t.Errorf("%s: not counted", name)
		}
	}
}

func records(fs ...nftest.Flow) []byte {
	var b []byte
	for _, f := range fs {
		b = nftest.AppendFlow4(b, f)
	}
	return b
}

// TestIPFIXDataBeforeTemplate: data whose template has not come yet is
// counted and dropped; once the template is there the same data decodes.
func TestIPFIXDataBeforeTemplate(t *testing.T) {
	d := NewDecoder(0, 0)
	data := nftest.NewMessage(10, 7, export, 0, 1).Data(300, records(flow(1), flow(2)), 0).Bytes()
	evs, err := d.Decode(exporterA, data, export, nil)
	if err != nil || len(evs) != 0 || d.Stats().NoTemplate != 1 {
		t.Fatalf("before template: %d events, %v, %+v", len(evs), err, d.Stats())
	}
	tmpl := nftest.NewMessage(10, 7, export, 0, 2).Template(300, nftest.Flow4Template).Bytes()
	if evs, err = d.Decode(exporterA, tmpl, export, nil); err != nil || len(evs) != 0 {
		t.Fatalf("template: %d events, %v", len(evs), err)
	}
	evs, err = d.Decode(exporterA, data, export, nil)
	if err != nil || len(evs) != 2 {
		t.Fatalf("after template: %d events, %v", len(evs), err)
	}
	checkFlow(t, evs[0], flow(1), "ipfix")
	checkFlow(t, evs[1], flow(2), "ipfix")
	// Templates belong to one exporter and one observation domain.
	for _, c := range []struct {
		from   netip.AddrPort
		domain uint32
	}{{exporterB, 7}, {exporterA, 8}} {
		pkt := nftest.NewMessage(10, c.domain, export, 0, 3).Data(300, records(flow(1)), 0).Bytes()
		if evs, _ := d.Decode(c.from, pkt, export, nil); len(evs) != 0 {
			t.Errorf("%v domain %d used another's template", c.from, c.domain)
		}
	}
}

// TestIPFIXSets: several sets in one message, templates and data mixed,
// padding after records, a variable-length field (short and long form),
// an enterprise field, reduced-size counters and IPv6 addresses.
func TestIPFIXSets(t *testing.T) {
	v6 := []nftest.Field{
		nftest.F(27, 16), nftest.F(28, 16), nftest.F(7, 2), nftest.F(11, 2), nftest.F(4, 1),
		nftest.F(82, 0xffff),     // interfaceName, variable length
		nftest.F(1, 4),           // octetDeltaCount in 4 bytes
		nftest.F(2, 2),           // packetDeltaCount in 2 bytes
		nftest.E(100, 6, 29305),  // enterprise field (skipped)
		nftest.F(151, 4),         // flowEndSeconds
		nftest.E(200, 0xffff, 9), // enterprise and variable length
	}
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	rec6 := func(name []byte, long bool, ent []byte) []byte {
		var b []byte
		b = append(b, src.AsSlice()...)
		b = append(b, dst.AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, 5353)
		b = binary.BigEndian.AppendUint16(b, 53)
		b = append(b, 17)
		if long {
			b = append(b, 255)
			b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
		} else {
			b = append(b, byte(len(name)))
		}
		b = append(b, name...)
		b = binary.BigEndian.AppendUint32(b, 1500)
		b = binary.BigEndian.AppendUint16(b, 3)
		b = append(b, 1, 2, 3, 4, 5, 6)
		b = binary.BigEndian.AppendUint32(b, uint32(export.Unix()))
		b = append(b, byte(len(ent)))
		return append(b, ent...)
	}
	var data6 []byte
	data6 = append(data6, rec6([]byte("eth0"), false, nil)...)
	data6 = append(data6, rec6(make([]byte, 300), true, []byte("x"))...)
	pkt := nftest.NewMessage(10, 1, export, 0, 1).
		Template(256, nftest.Flow4Template).
		Template(257, v6).
		Data(256, records(flow(1), flow(2), flow(3)), 3).
		Data(257, data6, 0).
		Data(256, records(flow(4)), 0).
		Bytes()
	d := NewDecoder(0, 0)
	evs, err := d.Decode(exporterA, pkt, export, nil)
	if err != nil || len(evs) != 6 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	for i, j := range []int{0, 1, 2, 5} {
		checkFlow(t, evs[j], flow(i+1), "ipfix")
	}
	for _, e := range evs[3:5] {
		if e.Src != src || e.Dst != dst || e.SrcPort != 5353 || e.DstPort != 53 || e.Proto != 17 ||
			e.Bytes != 1500 || e.Packets != 3 || !e.Time.Equal(export) {
			t.Errorf("v6 record: %+v", e)
		}
	}
	if d.Templates() != 2 {
		t.Errorf("%d templates", d.Templates())
	}
}

// TestV9 decodes a v9 packet with a template and data in one packet,
// times relative to the exporter's uptime, and an options template whose
// data sets the sampling interval of the source ID.
func TestV9(t *testing.T) {
	fields := []nftest.Field{nftest.F(8, 4), nftest.F(12, 4), nftest.F(7, 2), nftest.F(11, 2), nftest.F(4, 1), nftest.F(2, 4), nftest.F(1, 4), nftest.F(21, 4), nftest.F(22, 4)}
	const uptime = 1_000_000
	rec := func(f nftest.Flow) []byte {
		var b []byte
		b = append(b, f.Src.AsSlice()...)
		b = append(b, f.Dst.AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, f.SrcPort)
		b = binary.BigEndian.AppendUint16(b, f.DstPort)
		b = append(b, f.Proto)
		b = binary.BigEndian.AppendUint32(b, uint32(f.Packets))
		b = binary.BigEndian.AppendUint32(b, uint32(f.Bytes))
		last := uint32(uptime - export.Sub(f.End).Milliseconds())
		b = binary.BigEndian.AppendUint32(b, last)
		return binary.BigEndian.AppendUint32(b, last-500)
	}
	d := NewDecoder(0, 0)
	pkt := nftest.NewMessage(9, 42, export, uptime, 1).
		Template(1024, fields).
		Data(1024, append(rec(flow(1)), rec(flow(2))...), 2).
		Bytes()
	evs, err := d.Decode(exporterA, pkt, export, nil)
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	checkFlow(t, evs[0], flow(1), "netflow")
	checkFlow(t, evs[1], flow(2), "netflow")

	// Options: scope System (1), option SAMPLING_INTERVAL (34) = 10.
	opt := nftest.NewMessage(9, 42, export, uptime, 2).
		OptionsTemplate(1025, []nftest.Field{nftest.F(1, 4)}, []nftest.Field{nftest.F(34, 4), nftest.F(35, 1)}).
		Data(1025, []byte{0, 0, 0, 1, 0, 0, 0, 10, 2}, 3).
		Data(1024, rec(flow(3)), 0).
		Bytes()
	evs, err = d.Decode(exporterA, opt, export, nil)
	if err != nil || len(evs) != 1 || evs[0].Packets != 40 || evs[0].Bytes != 4000 {
		t.Fatalf("sampled: %+v, %v", evs, err)
	}
	// Another source ID of the same exporter is not sampled.
	other := nftest.NewMessage(9, 43, export, uptime, 3).Template(1024, fields).Data(1024, rec(flow(3)), 0).Bytes()
	if evs, _ := d.Decode(exporterA, other, export, nil); len(evs) != 1 || evs[0].Packets != 4 {
		t.Errorf("other source ID: %+v", evs)
	}
}

// TestTemplateLifetime: a template not refreshed within the TTL is gone;
// a refresh keeps it; a withdrawal removes it; a changed template
// replaces it.
func TestTemplateLifetime(t *testing.T) {
	d := NewDecoder(time.Minute, 0)
	tmpl := nftest.NewMessage(10, 1, export, 0, 1).Template(256, nftest.Flow4Template).Bytes()
	data := nftest.NewMessage(10, 1, export, 0, 2).Data(256, records(flow(1)), 0).Bytes()
	n := func(now time.Time) int {
		evs, err := d.Decode(exporterA, data, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	d.Decode(exporterA, tmpl, export, nil)
	if n(export.Add(59*time.Second)) != 1 || n(export.Add(61*time.Second)) != 0 {
		t.Error("template not expired after its TTL")
	}
	d.Decode(exporterA, tmpl, export.Add(90*time.Second), nil) // resent: alive again
	if n(export.Add(140*time.Second)) != 1 {
		t.Error("refreshed template not used")
	}
	d.Expire(export.Add(200 * time.Second))
	if d.Templates() != 0 {
		t.Errorf("Expire left %d templates", d.Templates())
	}
	d.Decode(exporterA, tmpl, export, nil)
	d.Decode(exporterA, nftest.NewMessage(10, 1, export, 0, 3).Withdraw(256).Bytes(), export, nil)
	if d.Templates() != 0 || n(export) != 0 {
		t.Error("withdrawn template still used")
	}
	d.Decode(exporterA, tmpl, export, nil)
	d.Decode(exporterA, nftest.NewMessage(10, 1, export, 0, 3).Withdraw(2).Bytes(), export, nil)
	if d.Templates() != 0 {
		t.Error("withdrawal of all templates left some")
	}
	// The same ID with other fields: records are read with the new one.
	d.Decode(exporterA, tmpl, export, nil)
	short := nftest.NewMessage(10, 1, export, 0, 4).Template(256, nftest.Flow4Template[:5]).Bytes()
	d.Decode(exporterA, short, export, nil)
	evs, _ := d.Decode(exporterA, data, export, nil)
	if len(evs) != 2 || evs[0].Packets != 0 { // 37 bytes read as two 13-byte records, 11 left
		t.Errorf("changed template: %+v", evs)
	}
	if s := d.Stats(); s.Templates != 5 {
		t.Errorf("learned %d templates, want 5 (the refresh not counted)", s.Templates)
	}
}

// TestHostileTemplates: templates that would loop, take memory or read
// out of bounds are refused; broken sets stop the datagram with an error.
func TestHostileTemplates(t *testing.T) {
	zero := []nftest.Field{nftest.F(1, 0), nftest.F(2, 0)}
	huge := make([]nftest.Field, 300)
	for i := range huge {
		huge[i] = nftest.Field{ID: 1, Length: 1}
	}
	d := NewDecoder(0, 2)
	for _, fs := range [][]nftest.Field{zero, huge} {
		if _, err := d.Decode(exporterA, nftest.NewMessage(10, 1, export, 0, 1).Template(256, fs).Bytes(), export, nil); err != nil {
			t.Fatal(err)
		}
	}
	if d.Templates() != 0 || d.Stats().Refused != 2 {
		t.Errorf("%d templates, %+v", d.Templates(), d.Stats())
	}
	for id := uint16(256); id < 260; id++ {
		d.Decode(exporterA, nftest.NewMessage(10, 1, export, 0, 1).Template(id, nftest.Flow4Template).Bytes(), export, nil)
	}
	if d.Templates() != 2 {
		t.Errorf("cache of 2 holds %d", d.Templates())
	}
	base := nftest.NewMessage(10, 1, export, 0, 1).Template(256, nftest.Flow4Template).Data(256, records(flow(1)), 0).Bytes()
	bad := func(f func(b []byte)) []byte { b := append([]byte(nil), base...); f(b); return b }
	for name, pkt := range map[string][]byte{
		"length over datagram": bad(func(b []byte) { binary.BigEndian.PutUint16(b[2:], uint16(len(b)+1)) }),
		"length under header":  bad(func(b []byte) { binary.BigEndian.PutUint16(b[2:], 15) }),
		"set length 3":         bad(func(b []byte) { binary.BigEndian.PutUint16(b[18:], 3) }),
		"set past message":     bad(func(b []byte) { binary.BigEndian.PutUint16(b[18:], 0xfff0) }),
		"v9 variable length":   nftest.NewMessage(9, 1, export, 0, 1).Template(256, []nftest.Field{nftest.F(82, 0xffff)}).Bytes(),
		"template cut":         nftest.NewMessage(10, 1, export, 0, 1).Raw([]byte{0, 2, 0, 12, 1, 0, 0, 9, 0, 8, 0, 4}).Bytes(),
	} {
		if _, err := NewDecoder(0, 0).Decode(exporterA, pkt, export, nil); !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Every cut of a good datagram decodes without a fault or fails cleanly.
	for _, pkt := range [][]byte{base, nftest.AppendV5(nil, []nftest.Flow{flow(1), flow(2)}, export, 1, 0)} {
		for i := range pkt {
			NewDecoder(0, 0).Decode(exporterA, pkt[:i], export, nil)
		}
	}
}

// TestIPFIXOptionsSampling: options data of a domain (scope
// meteringProcessId; samplingPacketInterval 1, samplingPacketSpace 9:
// one packet in 10) scales the counts of that domain's flows, and its
// systemInitTimeMilliseconds dates records that carry sysUpTime times.
func TestIPFIXOptionsSampling(t *testing.T) {
	boot := export.Add(-time.Hour)
	opts := binary.BigEndian.AppendUint32(nil, 1)                        // meteringProcessId (scope)
	opts = binary.BigEndian.AppendUint64(opts, uint64(boot.UnixMilli())) // systemInitTimeMilliseconds
	opts = binary.BigEndian.AppendUint32(opts, 1)                        // samplingPacketInterval
	opts = binary.BigEndian.AppendUint32(opts, 9)                        // samplingPacketSpace
	uptime := []nftest.Field{nftest.F(8, 4), nftest.F(12, 4), nftest.F(2, 4), nftest.F(1, 4), nftest.F(21, 4)}
	rec := func(f nftest.Flow, endUptime uint32) []byte {
		b := append(f.Src.AsSlice(), f.Dst.AsSlice()...)
		b = binary.BigEndian.AppendUint32(b, uint32(f.Packets))
		b = binary.BigEndian.AppendUint32(b, uint32(f.Bytes))
		return binary.BigEndian.AppendUint32(b, endUptime)
	}
	pkt := nftest.NewMessage(10, 5, export, 0, 1).
		OptionsTemplate(400, []nftest.Field{nftest.F(143, 4)}, []nftest.Field{nftest.F(160, 8), nftest.F(305, 4), nftest.F(306, 4)}).
		Template(401, uptime).
		Data(400, opts, 0).
		Data(401, rec(flow(1), 30*60*1000), 0).
		Bytes()
	d := NewDecoder(0, 0)
	evs, err := d.Decode(exporterA, pkt, export, nil)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	if e := evs[0]; e.Packets != 20 || e.Bytes != 2000 || !e.Time.Equal(boot.Add(30*time.Minute)) {
		t.Errorf("got %+v", e)
	}
}
