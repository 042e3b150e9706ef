// Package target turns what an operator types into what a scanner probes:
// port specifications ("top100", "22,80,1000-2000", "all") into sorted port
// lists, and target specifications (addresses, CIDR networks, ranges, host
// names and URLs) into a lazily generated, deduplicated sequence of
// addresses.
//
// # Ports
//
// ParsePorts accepts the named lists top100 and top1000 — Rampart's own
// lists of the service ports most often exposed on the internet, documented
// with their rationale in docs/ports.md — "all" (1-65535), single ports and
// inclusive ranges, mixed freely. TopPorts returns a named list in priority
// order.
//
// # Targets
//
//	seq, n, err := target.Expand(ctx, []string{"192.0.2.0/24", "198.51.100.1-50", "https://portal.example.gov.vn"}, net.DefaultResolver)
//	for t := range seq { ... } // n addresses, each once
//
// Expand never materializes addresses: a /8 costs as much memory as one
// address. Overlapping specifications are merged (an address is yielded
// once, attributed to the first specification that covers it; when a name
// resolved to it, it carries that name). Limits (DefaultMaxHosts overall,
// DefaultMaxV6Hosts per IPv6 network) are configurable on an Expander.
// NewResolver points name resolution at a given DNS server (--resolver).
//
// The package performs no I/O except through the Resolver it is given, and
// imports the standard library and the asset package (for the canonical
// form of host names) only. It does not check scope: callers pass every
// target through the scope guard before probing it.
package target
