//go:build !unix

package shadowserver

import "time"

// cpuTime is not measured here; the CPU-second figure is left out.
func cpuTime() time.Duration { return 0 }
