//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x))

package netflow

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// xnetReceiver reads with golang.org/x/net's ReadBatch (recvmmsg on Linux,
// one datagram a call elsewhere).
type xnetReceiver struct {
	r interface {
		ReadBatch(ms []ipv4.Message, flags int) (int, error)
	}
	ms []ipv4.Message
}

func (c *Collector) newReceiver(pc net.PacketConn) (receiver, error) {
	x := &xnetReceiver{ms: make([]ipv4.Message, c.cfg.Batch)}
	if c.addr.Addr().Is4() {
		x.r = ipv4.NewPacketConn(pc)
	} else {
		x.r = ipv6.NewPacketConn(pc)
	}
	for j := range x.ms {
		x.ms[j].Buffers = make([][]byte, 1)
	}
	return x, nil
}

func (x *xnetReceiver) recv(b *batch) (int, error) {
	for j := range x.ms {
		x.ms[j].Buffers[0] = b.bufs[j]
	}
	n, err := x.r.ReadBatch(x.ms, 0)
	if err != nil {
		return 0, err
	}
	for j := range n {
		m := &x.ms[j]
		b.size[j], b.trunc[j] = m.N, m.Flags&msgTrunc != 0
		b.from[j] = netip.AddrPort{}
		if ua, ok := m.Addr.(*net.UDPAddr); ok {
			from := ua.AddrPort()
			b.from[j] = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		}
	}
	return n, nil
}
