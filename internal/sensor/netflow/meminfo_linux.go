//go:build linux && (amd64 || arm64 || riscv64 || ppc64le || loong64 || s390x)

package netflow

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soMeminfo is SO_MEMINFO (Linux ≥ 4.6; 55 in asm-generic, which these
// ports use); index 8 of its answer, SK_MEMINFO_DROPS, is the socket's
// drop count.
const (
	soMeminfo     = 55
	skMeminfoVars = 9
	skMeminfoDrop = 8
)

// socketDrops returns how many datagrams the kernel dropped on the
// socket (receive queue full), counted by the kernel since it was opened.
func socketDrops(c syscall.RawConn) (uint64, bool) {
	var (
		mem [skMeminfoVars]uint32
		ok  bool
	)
	_ = c.Control(func(fd uintptr) {
		l := uint32(unsafe.Sizeof(mem))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0)
		ok = e == 0 && l >= (skMeminfoDrop+1)*4
	})
	return uint64(mem[skMeminfoDrop]), ok
}
