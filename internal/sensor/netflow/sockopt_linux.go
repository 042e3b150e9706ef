package netflow

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePort = true // several sockets can share the address

// control sets the options of a collector socket before it binds: shared
// port, the receive buffer (SO_RCVBUFFORCE passes net.core.rmem_max when
// the process has CAP_NET_ADMIN; otherwise SO_RCVBUF, which the kernel
// caps there) and SO_RXQ_OVFL, which has the kernel report its drop count
// with every datagram.
func control(rcvbuf int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			s := int(fd)
			if serr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			if rcvbuf > 0 {
				if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
					_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
				}
			}
			_ = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
}

// rcvbufOf returns the socket's receive buffer as the kernel set it
// (twice what was asked, for its bookkeeping).
func rcvbufOf(c syscall.RawConn) int {
	n := 0
	_ = c.Control(func(fd uintptr) {
		n, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	return n
}

// oobSize is the control buffer a datagram needs for its SO_RXQ_OVFL count.
var oobSize = unix.CmsgSpace(4)

// kernelDrops reads the SO_RXQ_OVFL count (datagrams the kernel dropped
// on this socket so far) from a datagram's control data.
func kernelDrops(oob []byte) (uint32, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SO_RXQ_OVFL && len(m.Data) >= 4 {
			return binary.NativeEndian.Uint32(m.Data), true
		}
	}
	return 0, false
}

// msgTrunc is the flag of a datagram cut to fit the buffer.
const msgTrunc = unix.MSG_TRUNC
