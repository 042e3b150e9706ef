//go:build !(linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x))

package netflow

import "syscall"

func socketDrops(syscall.RawConn) (uint64, bool) { return 0, false }
