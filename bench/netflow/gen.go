package main

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"

	"github.com/rampart-cert/rampart/internal/intel/match/synth"
	"github.com/rampart-cert/rampart/internal/sensor/netflow/nftest"
)

const (
	poolSize    = 4096 // distinct datagrams, cycled
	batch       = 64   // datagrams per sendmmsg
	ipfixPer    = 37   // records per IPFIX message: 16 + 4 + 37×37 = 1389 bytes
	templateID  = 256
	templateGap = 4096 // IPFIX messages between template resends
)

// generator holds a pool of datagrams of one format and sends a fixed
// number of flows from it.
type generator struct {
	format   string
	perPkt   int      // flows per data datagram
	pool     [][]byte // data datagrams
	template []byte   // IPFIX: the template message
	packets  int      // data datagrams per run
}

// newGenerator builds the pool: internal 10.x sources, destinations drawn
// like the matcher's benchmark queries (IPv4 only), about 1% listed.
func newGenerator(format string, flows int) (*generator, error) {
	g := &generator{format: format}
	switch format {
	case "v5":
		g.perPkt = nftest.V5Max
	case "ipfix":
		g.perPkt = ipfixPer
	default:
		return nil, fmt.Errorf("format %q: v5 or ipfix", format)
	}
	g.packets = (flows + g.perPkt - 1) / g.perPkt
	s := synth.New(1)
	ind := s.Addrs(1000) // the same seed as the child's: the first 1,000 of its indicators
	var dsts []netip.Addr
	for _, a := range s.AddrQueries(ind, poolSize*g.perPkt*2, 1) {
		if a.Is4() {
			dsts = append(dsts, a)
		}
	}
	now := time.Now()
	for p := range poolSize {
		fs := make([]nftest.Flow, g.perPkt)
		for i := range fs {
			n := p*g.perPkt + i
			fs[i] = nftest.Flow{
				Src:     netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}),
				Dst:     dsts[n%len(dsts)],
				SrcPort: uint16(1024 + n%60000), DstPort: 443, Proto: 6,
				Packets: uint64(1 + n%50), Bytes: uint64(60 + n%50*1400),
				End: now.Add(-time.Duration(n%1000) * time.Millisecond),
			}
		}
		if format == "v5" {
			g.pool = append(g.pool, nftest.AppendV5(nil, fs, now, 0, 0))
			continue
		}
		var recs []byte
		for _, f := range fs {
			recs = nftest.AppendFlow4(recs, f)
		}
		g.pool = append(g.pool, nftest.NewMessage(10, 1, now, 0, 0).Data(templateID, recs, 0).Bytes())
	}
	if format == "ipfix" {
		g.template = nftest.NewMessage(10, 1, now, 0, 0).Template(templateID, nftest.Flow4Template).Bytes()
	}
	return g, nil
}

// send sends the run's flows to to at rate flows/s (0: unpaced) and
// returns the flows sent and the time it took.
func (g *generator) send(to netip.AddrPort, rate int) (uint64, time.Duration, error) {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	conn.SetWriteBuffer(8 << 20)
	pc := ipv4.NewPacketConn(conn)
	if g.template != nil {
		if _, err := conn.Write(g.template); err != nil {
			return 0, 0, err
		}
		time.Sleep(50 * time.Millisecond) // the template first, as an exporter starts
	}
	ms := make([]ipv4.Message, batch)
	var seq uint32
	start := time.Now()
	sentPkts := 0
	for sentPkts < g.packets {
		n := min(batch, g.packets-sentPkts)
		for i := range n {
			idx := (sentPkts + i) % poolSize
			p := g.pool[idx]
			if g.format == "v5" {
				binary.BigEndian.PutUint32(p[16:], seq)
			} else {
				binary.BigEndian.PutUint32(p[8:], seq)
				if (sentPkts+i)%templateGap == templateGap-1 {
					// Resend the template in place of nothing: an extra
					// datagram in the batch carries no flows.
					conn.Write(g.template)
				}
			}
			seq += uint32(g.perPkt)
			ms[i].Buffers = [][]byte{p}
		}
		for done := 0; done < n; {
			k, err := pc.WriteBatch(ms[done:n], 0)
			if err != nil {
				return uint64(sentPkts * g.perPkt), time.Since(start), err
			}
			done += k
		}
		sentPkts += n
		if rate > 0 {
			due := start.Add(time.Duration(float64(sentPkts*g.perPkt) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
	}
	return uint64(sentPkts * g.perPkt), time.Since(start), nil
}
