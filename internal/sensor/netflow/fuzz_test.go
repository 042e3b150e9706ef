package netflow

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/sensor/netflow/nftest"
)

// The fuzz targets are seeded with datagrams softflowd sent for a pcap
// the test wrote (testdata/softflowd-v*.bin: each datagram as a 2-byte
// big-endian length and its bytes; NETFLOW_CAPTURE=1 go test -run
// TestCaptureSoftflowd writes them again) and with crafted ones.

func readCapture(t testing.TB, version string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "softflowd-v"+version+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) >= 2 {
		l := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+l {
			t.Fatalf("testdata v%s: cut", version)
		}
		out = append(out, b[2:2+l])
		b = b[2+l:]
	}
	return out
}

// TestCaptureSoftflowd records what softflowd sends, for the seeds.
func TestCaptureSoftflowd(t *testing.T) {
	if os.Getenv("NETFLOW_CAPTURE") != "1" {
		t.Skip("NETFLOW_CAPTURE=1 rewrites testdata/softflowd-v*.bin")
	}
	needSoftflowd(t)
	dir := t.TempDir()
	for _, v := range []string{"5", "9", "10"} {
		pcap := filepath.Join(dir, "seed"+v+".pcap")
		if _, _, err := writeTraffic(pcap, 12, 3, v != "5"); err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		runSoftflowd(t, pcap, pc.LocalAddr().String(), v)
		var file []byte
		buf := make([]byte, 65535)
		for {
			pc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			file = binary.BigEndian.AppendUint16(file, uint16(n))
			file = append(file, buf[:n]...)
		}
		pc.Close()
		if err := os.WriteFile(filepath.Join("testdata", "softflowd-v"+v+".bin"), file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCapturedDatagrams decodes the recorded datagrams: every flow of the
// seed capture (v9 and IPFIX with IPv6 conversations), no fault.
func TestCapturedDatagrams(t *testing.T) {
	for _, v := range []string{"5", "9", "10"} {
		want, _, err := writeTraffic(filepath.Join(t.TempDir(), "seed.pcap"), 12, 3, v != "5")
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(0, 0)
		n := 0
		for _, pkt := range readCapture(t, v) {
			evs, err := d.Decode(exporterA, pkt, time.Now(), nil)
			if err != nil {
				t.Fatalf("v%s: %v", v, err)
			}
			for _, e := range evs {
				k := flowKey{e.Src, e.Dst, e.SrcPort, e.DstPort, e.Proto}
				if w := want[k]; w.packets != e.Packets || w.bytes != e.Bytes {
					t.Errorf("v%s: %v: %d packets %d bytes, want %+v", v, k, e.Packets, e.Bytes, w)
				}
				n++
			}
		}
		if n != len(want) {
			t.Errorf("v%s: %d flows, want %d", v, n, len(want))
		}
	}
}

// fuzzDecode decodes the templates of seeds first (as an exporter sends
// them before data), then the input, and checks what no input may break.
func fuzzDecode(t *testing.T, templates [][]byte, pkt []byte) {
	d := NewDecoder(0, 16)
	for _, p := range templates {
		d.Decode(exporterA, p, export, nil)
	}
	evs, err := d.Decode(exporterA, pkt, export, nil)
	if err != nil && !errors.Is(err, ErrShort) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrVersion) {
		t.Fatalf("unexpected error %v", err)
	}
	// The smallest record a template can describe is one byte.
	if len(evs) > len(pkt) {
		t.Fatalf("%d events from %d bytes", len(evs), len(pkt))
	}
	for _, e := range evs {
		if !e.Src.IsValid() && !e.Dst.IsValid() {
			t.Fatalf("event without addresses: %+v", e)
		}
	}
	if d.Templates() > 16 {
		t.Fatalf("%d templates over the cap", d.Templates())
	}
}

func FuzzV5(f *testing.F) {
	for _, p := range readCapture(f, "5") {
		f.Add(p)
	}
	f.Add(nftest.AppendV5(nil, []nftest.Flow{flow(1)}, export, 1, 100))
	f.Fuzz(func(t *testing.T, pkt []byte) { fuzzDecode(t, nil, pkt) })
}

func FuzzV9(f *testing.F) {
	caps := readCapture(f, "9")
	for _, p := range caps {
		f.Add(p)
	}
	f.Add(nftest.NewMessage(9, 1, export, 1000, 1).
		OptionsTemplate(300, []nftest.Field{nftest.F(1, 4)}, []nftest.Field{nftest.F(34, 4)}).
		Data(300, []byte{0, 0, 0, 1, 0, 0, 0, 10}, 0).Bytes())
	f.Fuzz(func(t *testing.T, pkt []byte) { fuzzDecode(t, caps, pkt) })
}

func FuzzIPFIX(f *testing.F) {
	caps := readCapture(f, "10")
	for _, p := range caps {
		f.Add(p)
	}
	f.Add(nftest.NewMessage(10, 1, export, 0, 1).
		Template(256, []nftest.Field{nftest.F(8, 4), nftest.F(82, 0xffff), nftest.E(5, 0xffff, 9), nftest.F(1, 2)}).
		Data(256, []byte{10, 0, 0, 1, 3, 'a', 'b', 'c', 255, 0, 1, 'x', 0, 9}, 2).
		Withdraw(256).Bytes())
	f.Fuzz(func(t *testing.T, pkt []byte) { fuzzDecode(t, caps, pkt) })
}
