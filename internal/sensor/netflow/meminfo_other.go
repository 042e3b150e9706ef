//go:build !linux || mips || mipsle || mips64 || mips64le

package netflow

import "syscall"

func socketDrops(syscall.RawConn) (uint64, bool) { return 0, false }
