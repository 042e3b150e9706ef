// Package lab is Rampart's built-in laboratory: deliberately weak (and a
// few hardened) services on loopback addresses of 127.77.0.0/16, with a
// sample constituency that owns them, for `rampart serve --demo` and the
// test suites.
//
//	l, err := lab.Start(ctx, lab.Options{}) // base 127.77.0.0
//	if err != nil { ... }
//	defer l.Close()
//	orgs, assets := l.Constituency()        // internal/transfer JSON
//	env.DNSServer = l.DNSAddr()              // the lab's authoritative DNS
//	env.Roots.AppendCertsFromPEM(l.CAPEM())  // trust the lab CA
//	for _, h := range l.Hosts() { ... }      // what is weak, what fires
//
// Every host has its own address (base + x.y) and its services listen on
// their standard ports (80, 443, 21, 23, 25, 6379, 9200, 11211) so that a
// scan of the top 1000 ports finds them; when a port cannot be bound (no
// privileges, in use) the service falls back to a high port (8080, 8443,
// 2121, 2323, 2525, or a free one) and HostInfo records it. The DNS server
// listens on DNSPort (15353, or a free port) and, when it can, on port 53
// too, where zone-transfer checks connect.
//
// The services are small hand-written servers, not the real software: they
// speak enough of each protocol for scanners and for a curious newcomer
// with nc or curl. Clients may be hostile: every line is capped at 4 KiB,
// every read has a deadline, a connection lives at most two minutes and
// each listener serves 64 connections at once. Nothing is ever written to
// disk and nothing listens outside 127.77.0.0/16.
//
// The package must not be imported by the domain packages; it imports
// internal/transfer for the import formats and miekg/dns.
package lab
