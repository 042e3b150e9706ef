//go:build !linux

package netflow

import "syscall"

const reusePort = false // one socket: other systems differ in SO_REUSEPORT

func control(rcvbuf int) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var serr error
		_ = c.Control(func(fd uintptr) {
			if rcvbuf > 0 {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}
		})
		return serr
	}
}

func rcvbufOf(syscall.RawConn) int { return 0 }

const msgTrunc = 0 // a cut datagram is told by its length alone
