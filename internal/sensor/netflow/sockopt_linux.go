package netflow

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePort = true // several sockets can share the address

// control sets the options of a collector socket before it binds: shared
// port and the receive buffer (SO_RCVBUFFORCE passes net.core.rmem_max
// when the process has CAP_NET_ADMIN; otherwise SO_RCVBUF, which the
// kernel caps there).
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

// msgTrunc is the flag of a datagram cut to fit the buffer.
const msgTrunc = unix.MSG_TRUNC
