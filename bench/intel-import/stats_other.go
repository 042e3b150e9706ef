//go:build !linux

package main

import "time"

// cpuTime and peakRSS are measured on Linux only; elsewhere they read 0.
func cpuTime() time.Duration { return 0 }

func peakRSS() uint64 { return 0 }
