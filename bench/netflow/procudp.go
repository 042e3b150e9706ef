package main

import (
	"encoding/hex"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// udpQueue returns, summed over the UDP sockets bound to addr (Linux:
// /proc/net/udp), the bytes waiting in their receive queues and the
// datagrams they dropped because the queue was full. The same figure for
// both receivers, whatever they count themselves.
func udpQueue(addr netip.AddrPort) (queued, drops uint64, ok bool) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil || !addr.Addr().Is4() {
		return 0, 0, false
	}
	a := addr.Addr().As4()
	// The kernel prints the address as a host-order 32-bit word: on
	// little-endian machines, the bytes reversed.
	want := strings.ToUpper(hex.EncodeToString([]byte{a[3], a[2], a[1], a[0]})) + ":" +
		strings.ToUpper(strconv.FormatUint(uint64(addr.Port())|0x10000, 16)[1:])
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 13 || f[1] != want {
			continue
		}
		if q := strings.SplitN(f[4], ":", 2); len(q) == 2 {
			v, _ := strconv.ParseUint(q[1], 16, 64)
			queued += v
		}
		v, _ := strconv.ParseUint(f[12], 10, 64)
		drops += v
		ok = true
	}
	return queued, drops, ok
}

// drain waits until the receiver on addr has read everything queued (the
// queue empty twice in a row, 100 ms apart), at most limit, and returns
// its sockets' drop count.
func drain(addr netip.AddrPort, limit time.Duration) uint64 {
	empty := 0
	var drops uint64
	for end := time.Now().Add(limit); time.Now().Before(end) && empty < 2; time.Sleep(100 * time.Millisecond) {
		q, d, ok := udpQueue(addr)
		if !ok {
			return 0
		}
		drops = d
		if q == 0 {
			empty++
		} else {
			empty = 0
		}
	}
	return drops
}
