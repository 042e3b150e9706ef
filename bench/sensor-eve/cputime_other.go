//go:build !linux

package main

import "time"

// threadCPU is not measured off Linux: the wall-clock figure is used.
func threadCPU() (time.Duration, bool) { return 0, false }
