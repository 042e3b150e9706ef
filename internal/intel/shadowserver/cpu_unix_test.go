//go:build unix

package shadowserver

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (user and system), so a
// benchmark can report throughput per CPU second: a figure that a busy,
// shared machine does not distort the way wall time is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
