// Package synscan is Rampart's stateless SYN scanner for sweeps of large
// address spaces (the masscan and zmap technique): it writes TCP SYNs
// itself on a raw socket, reads the SYN-ACKs that come back, and never
// completes a handshake.
//
//	if err := synscan.Available(); err != nil { /* connect-scan instead (portscan) */ }
//	st, err := synscan.Scan(ctx, synscan.Config{Ports: ports, Rate: 500000}, seq,
//		func(o synscan.Open) { fmt.Println(o.Target.Addr, o.Port) }, nil)
//
// # How
//
// SYNs (an IPv4 header and a TCP header with an MSS option, checksums
// computed here) go out on raw IPv4 sockets with IP_HDRINCL, a batch of
// Config.Batch per sendmmsg call, so the kernel routes them and resolves
// the next hop. There is one socket per core (at most four), each with
// its own goroutine: the kernel does most of a SYN's work on the CPU
// that sends it, so the scan fills one batch while the others are sent,
// within one shared rate. Nothing is kept per probe: the sequence number of each
// SYN is a keyed hash of the destination address and port and the source
// port (a random key per scan), and a SYN-ACK counts only when its
// acknowledgment number is that hash plus one. Answers are read from a
// raw TCP socket whose classic BPF filter lets through only SYN-ACKs to
// the scan's source port, so the resets of closed ports cost nothing in
// user space. The only state is the set of open (address, port) pairs.
//
// The handshake is never completed: no socket of this host owns the
// scan's source port, so its kernel answers every SYN-ACK with a reset
// (Config.SourcePort must stay free; a random port in 40000-59999 is
// chosen when it is zero).
//
// Targets are taken in batches (Config.HostBatch) and within a batch the
// outer loop is over ports and the inner one over hosts, so consecutive
// SYNs go to different hosts. Config.Rate caps SYNs per second (a token
// bucket per batch); Config.Retries more passes send SYNs again to the
// pairs that did not answer; after the last SYN the scan listens
// Config.Wait for late answers. Only IPv4 is scanned: other targets are
// counted and handed to a callback for the connect scanner.
//
// # Privileges and fallback
//
// Raw sockets need root or CAP_NET_RAW. Available and Scan say so with an
// error wrapping ErrNoCapability, before anything is sent; callers (the
// engine, `rampart scan --syn`) then connect-scan with
// internal/probe/portscan and report the fallback. On other systems than
// Linux the package always falls back.
//
// # Tests
//
// The raw-socket tests and the benchmark (bench/synscan) run inside
// network namespaces they create (netnslab: a scanner namespace and a
// targets namespace joined by a veth pair, 10.98.0.0/30 and
// 10.99.0.0/16), never on the host's interfaces.
//
// The package probes exactly the targets it is given: scope checks belong
// to the caller.
package synscan
