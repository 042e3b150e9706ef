//go:build !linux || 386

package portscan

import (
	"context"
	"net"
)

// newSocketEngine falls back to the standard dialer where there is no
// epoll engine.
func newSocketEngine(cfg Config) (engine, error) {
	d := &net.Dialer{}
	if cfg.SourceAddr.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: cfg.SourceAddr.AsSlice()}
	}
	return newDialEngine(func(ctx context.Context, network, address string) (net.Conn, error) {
		return d.DialContext(ctx, network, address)
	}, cfg.Concurrency), nil
}
