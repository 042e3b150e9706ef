// Package portscan is Rampart's TCP connect port scanner: the first step of
// every scan, finding which ports of which addresses complete a handshake.
//
//	ports, _ := target.ParsePorts("top1000")
//	seq, n, _ := target.Expand(ctx, []string{"192.0.2.0/24"}, net.DefaultResolver)
//	stats, err := portscan.Scan(ctx, portscan.Config{Ports: ports, Rate: 5000}, seq,
//		func(o portscan.Open) { fmt.Println(o.Target.Addr, o.Port) })
//
// # What a result means
//
// A port is open only when connect() succeeds, that is after a completed
// three-way handshake; the connection is then reset at once (SO_LINGER 0),
// so the target's service sees a connection and nothing else, and neither
// side keeps a TIME_WAIT entry. A reset is a closed port. Silence until the
// timeout is a filtered port, tried again Config.Retries times with a doubled
// timeout before it is given up. ICMP unreachables and local routing errors
// end a probe without retry. Only open ports are reported; the same scan
// twice reports the same open set.
//
// # Speed and politeness
//
// On Linux each worker (Config.Workers, default GOMAXPROCS; a host belongs
// to one worker) drives non-blocking sockets itself through epoll: no
// goroutine, timer or runtime poller registration per probe, and sockets
// are reused (connect() again reports how an attempt ended and resets the
// socket), so a closed port costs two connect() calls. Elsewhere, and
// whenever Config.Dial is set (tests use it to simulate silent ports), each
// probe is a goroutine calling the dial function.
//
// Load is spread across hosts: targets are taken from the iterator in
// batches (Config.HostBatch) and within a batch the outer loop is over ports
// (in a fixed pseudo-random order) and the inner loop over hosts, so
// consecutive probes go to different hosts and one host never receives the
// whole concurrency unless it is the only one. A global token bucket
// (Config.Rate) and per-host token buckets (Config.PerHostRate), kept in
// the host state of the current batches only, bound the connection attempt
// rate; Config.Concurrency bounds connections in flight.
//
// Timeouts adapt per host like TCP's retransmission timer (RFC 6298): every
// answer, open or closed, is an RTT sample for a smoothed RTT and its
// variance, and a probe waits max(MinTimeout, SRTT+4·RTTVAR), never more than
// Config.Timeout. A host that has not answered yet gets the full Timeout.
//
// Memory does not grow with the number of (host, port) pairs: the scanner
// holds one batch of hosts, the probes in flight, those waiting for a retry
// or for their host's token, and nothing else. 250 hosts × 65,535 ports stays
// in a few tens of megabytes.
//
// # Resources
//
// Scan raises the soft RLIMIT_NOFILE to the hard limit (RaiseFDLimit) and
// keeps Concurrency below it. When the system runs out of descriptors or
// ephemeral ports anyway, the probe is put back, concurrency is lowered to
// what is in flight, and the scan goes on.
//
// The package probes exactly the targets it is given: scope checks belong
// to the caller.
package portscan
