package netflow

import (
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor"
	"github.com/rampart-cert/rampart/internal/sensor/netflow/nftest"
)

// Decoding speed on one core, no allocation per datagram:
//
//	go test -run X -bench Decode -cpu 1 -benchmem ./internal/sensor/netflow
//
// bench/netflow measures the whole path (sockets, decoding, matching)
// against nfcapd.

func benchDecode(b *testing.B, pkt []byte, prime []byte, flows int) {
	d := NewDecoder(0, 0)
	if prime != nil {
		d.Decode(exporterA, prime, time.Now(), nil)
	}
	out := make([]sensor.Event, 0, 64)
	now := time.Now()
	b.SetBytes(int64(len(pkt)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = d.Decode(exporterA, pkt, now, out[:0]); err != nil || len(out) != flows {
			b.Fatal(len(out), err)
		}
	}
	b.ReportMetric(float64(b.N)*float64(flows)/b.Elapsed().Seconds(), "flows/s")
}

func BenchmarkDecodeV5(b *testing.B) {
	fs := make([]nftest.Flow, nftest.V5Max)
	for i := range fs {
		fs[i] = flow(i)
	}
	benchDecode(b, nftest.AppendV5(nil, fs, export, 1, 0), nil, len(fs))
}

func BenchmarkDecodeIPFIX(b *testing.B) {
	var recs []byte
	for i := range 37 {
		recs = nftest.AppendFlow4(recs, flow(i))
	}
	tmpl := nftest.NewMessage(10, 1, export, 0, 1).Template(256, nftest.Flow4Template).Bytes()
	benchDecode(b, nftest.NewMessage(10, 1, export, 0, 2).Data(256, recs, 0).Bytes(), tmpl, 37)
}

func BenchmarkDecodeSoftflowdIPFIX(b *testing.B) {
	caps := readCapture(b, "10")
	d := NewDecoder(0, 0)
	n := 0
	for _, p := range caps {
		evs, _ := d.Decode(exporterA, p, export, nil)
		n = len(evs)
	}
	benchDecode(b, caps[len(caps)-1], caps[0], n)
}
