//go:build !unix

package feedcsv

import "time"

// cpuTime is not measured here; the CPU-second figure is left out.
func cpuTime() time.Duration { return 0 }
