package stix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// synthBundle generates a STIX bundle of n indicators on the fly (no
// memory grows with n): 60% IPv4 addresses, 20% domains, 10% URLs, 10%
// SHA-256 hashes, each about 800 bytes with a TLP marking, labels and a
// kill-chain phase; then 10 malware objects and an indicates relationship
// for every tenth indicator. It seeks only back to the start.
type synthBundle struct {
	n     int
	i     int // next object to generate: indicators, malware, relationships, then the end
	buf   []byte
	off   int
	total int64
}

func newSynth(n int) *synthBundle {
	s := &synthBundle{n: n}
	s.reset()
	return s
}

func (s *synthBundle) reset() {
	s.i, s.off, s.total = 0, 0, 0
	s.buf = append(s.buf[:0], `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`...)
}

// hex8 appends n as 2*width lower-case hex digits.
func hexN(b []byte, n uint64, digits int) []byte {
	const hexd = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hexd[n>>(4*uint(i))&15])
	}
	return b
}

func (s *synthBundle) indicatorID(b []byte, i int) []byte {
	b = append(b, "indicator--"...)
	b = hexN(b, uint64(i), 8)
	b = append(b, "-1111-4222-8333-"...)
	return hexN(b, uint64(i), 12)
}

// next generates the next object (without fmt: the generator must cost
// little next to the parser).
func (s *synthBundle) next() bool {
	s.buf, s.off = s.buf[:0], 0
	b := s.buf
	if s.i == 0 {
		b = append(b, '\n')
	} else {
		b = append(b, ",\n"...)
	}
	rels := s.n / 10
	u := strconv.AppendUint
	switch i := s.i; {
	case i < s.n:
		b = append(b, `{"type":"indicator","spec_version":"2.1","id":"`...)
		b = s.indicatorID(b, i)
		b = append(b, `","created_by_ref":"identity--f690c992-8e7d-4b9a-9303-3312616c0220","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-02T00:00:00.000Z",`+
			`"name":"Malicious infrastructure `...)
		b = u(b, uint64(i), 10)
		b = append(b, `","description":"Seen in campaign traffic by the partner CERT.","indicator_types":["malicious-activity"],"pattern":"`...)
		switch i % 10 {
		case 0, 1, 2, 3, 4, 5:
			b = append(b, "[ipv4-addr:value = '"...)
			b = u(b, uint64(11+i>>24&127), 10)
			b = append(b, '.')
			b = u(b, uint64(i>>16&255), 10)
			b = append(b, '.')
			b = u(b, uint64(i>>8&255), 10)
			b = append(b, '.')
			b = u(b, uint64(i&255), 10)
		case 6, 7:
			b = append(b, "[domain-name:value = 'host-"...)
			b = u(b, uint64(i), 10)
			b = append(b, ".bad-"...)
			b = u(b, uint64(i%997), 10)
			b = append(b, ".example"...)
		case 8:
			b = append(b, "[url:value = 'http://dl-"...)
			b = u(b, uint64(i%4093), 10)
			b = append(b, ".example/payload/"...)
			b = u(b, uint64(i), 10)
			b = append(b, ".exe?x=1"...)
		default:
			b = append(b, "[file:hashes.'SHA-256' = '"...)
			for k := range 4 {
				b = hexN(b, uint64(i+k)*0x9e3779b97f4a7c15, 16)
			}
		}
		b = append(b, `']","pattern_type":"stix","pattern_version":"2.1","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-07-01T00:00:00Z","confidence":`...)
		b = u(b, uint64(50+i%50), 10)
		b = append(b, `,"labels":["botnet"],"kill_chain_phases":[{"kill_chain_name":"lockheed-martin-cyber-kill-chain","phase_name":"delivery"}],`+
			`"object_marking_refs":["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]}`...)
	case i < s.n+10:
		b = append(b, `{"type":"malware","spec_version":"2.1","id":"malware--00000000-0000-4000-8000-00000000000`...)
		b = u(b, uint64(i-s.n), 10)
		b = append(b, `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"Family `...)
		b = u(b, uint64(i-s.n), 10)
		b = append(b, `","is_family":true}`...)
	case i < s.n+10+rels:
		r := (i - s.n - 10) * 10
		b = append(b, `{"type":"relationship","spec_version":"2.1","id":"relationship--`...)
		b = hexN(b, uint64(r), 8)
		b = append(b, `-0000-4000-8000-000000000000","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":"`...)
		b = s.indicatorID(b, r)
		b = append(b, `","target_ref":"malware--00000000-0000-4000-8000-00000000000`...)
		b = u(b, uint64(r%10), 10)
		b = append(b, `"}`...)
	case i == s.n+10+rels:
		b = append(b[:0], "\n]}\n"...)
	default:
		return false
	}
	s.buf = b
	s.i++
	return true
}

func (s *synthBundle) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if s.off == len(s.buf) && !s.next() {
			break
		}
		c := copy(p[n:], s.buf[s.off:])
		s.off += c
		n += c
	}
	s.total += int64(n)
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

func (s *synthBundle) Seek(offset int64, whence int) (int64, error) {
	switch {
	case offset == 0 && whence == io.SeekCurrent:
		return s.total, nil
	case offset == 0 && whence == io.SeekStart:
		s.reset()
		return 0, nil
	}
	return 0, errors.New("synthBundle seeks only to the start")
}

// BenchmarkParse1M reads a generated bundle of 1,000,000 indicators
// (about 810 MB) from a seekable reader, both passes, with records
// normalized and handed to emit; it reports indicators/s and the largest
// heap seen. Run:
//
//	go test -run '^$' -bench Parse1M -benchtime 1x ./internal/intel/stix/
func BenchmarkParse1M(b *testing.B) { benchParse(b, 1_000_000) }

// BenchmarkParse100k is the same at 100,000 indicators, for quick runs.
func BenchmarkParse100k(b *testing.B) { benchParse(b, 100_000) }

func benchParse(b *testing.B, n int) {
	src := newSynth(n)
	var peak uint64
	var ms runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		_, _ = src.Seek(0, io.SeekStart)
		recs := 0
		res, err := ParseWith(context.Background(), src, "bench", func(intel.Record) error {
			if recs++; recs%100_000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
			return nil
		}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if res.Records != n || res.Rejections.Count != 0 {
			b.Fatalf("%d records, rejections %+v", res.Records, res.Rejections)
		}
		b.SetBytes(src.total) // the bundle's size: the bytes of the last pass
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "indicators/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}

func BenchmarkParsePattern(b *testing.B) {
	for _, p := range []string{
		"[ipv4-addr:value = '192.0.2.1']",
		"[file:hashes.MD5 = '8764605c6f388c89096b534d33565802' AND file:hashes.'SHA-1' = '46aba99aa7158e4609aaa72b50990842fd22ae86' AND file:name = 'oui']",
	} {
		b.Run(fmt.Sprint(len(p)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParsePattern(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
