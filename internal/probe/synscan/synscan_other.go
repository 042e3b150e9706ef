//go:build !linux

package synscan

import (
	"context"
	"fmt"
	"iter"

	"github.com/rampart-cert/rampart/internal/target"
)

// Available reports that raw-socket SYN scanning is Linux only here.
func Available() error {
	return fmt.Errorf("%w: SYN scanning is implemented on Linux only", ErrNoCapability)
}

// Scan is not available on this system: scan with connect() instead.
func Scan(context.Context, Config, iter.Seq[target.Target], func(Open), func(target.Target)) (Stats, error) {
	return Stats{}, Available()
}
