// Package dns is Rampart's protective resolver: a forwarding DNS server
// (UDP, TCP and DNS over TLS) with a TTL-honouring cache that refuses to
// resolve the names of a block policy and reports who asked.
//
// A PolicySpec (lists of names, each list with its Action, an allowlist and
// the walled-garden addresses) is compiled once into an immutable Policy
// (Compile): hashed label suffixes in an open-addressing table over one
// arena of names, with a bloom prefilter; about 57 bytes a name, so a
// million names take tens of megabytes and compile in about half a CPU
// second. A listed name
// blocks itself and every name below it; an allowlisted name (and what is
// below it) is never blocked, whichever list holds it; when a name and one
// of its parents are both listed, the longest match names the list.
//
// A Server answers queries:
//
//	blocked      → answered locally, never forwarded: NXDOMAIN or NODATA
//	               with a SOA of the listed name in authority (so clients
//	               cache the negative answer for the policy TTL), or the
//	               walled-garden A/AAAA (other types NODATA); the query is
//	               handed to the BlockReporter off the query path.
//	cached       → the cached reply with its TTLs decremented.
//	otherwise    → forwarded to the upstreams in turn (deadline per try,
//	               the next upstream on error, SERVFAIL or REFUSED, TCP on
//	               truncation); replies whose ID or question do not match
//	               are dropped, records outside the query's CNAME chain or
//	               bailiwick are removed, and the reply is cached: positive
//	               answers for the smallest TTL of their records, negative
//	               ones for the SOA minimum (RFC 2308), SERVFAIL for a few
//	               seconds only.
//
// SetPolicy swaps the policy atomically while the server runs. Health
// (HealthHandler), Prometheus metrics (Metrics) and a bounded, sampled log
// of recent queries (RecentQueries) are there for `rampart dns`, which
// wires the NATS policy feed and the blocked-query findings; this package
// imports neither NATS nor the store.
//
// The UDP path reads and writes packets in batches (recvmmsg/sendmmsg on
// Linux) and answers blocked and cached queries from wire bytes without
// unpacking a message; only cache misses build miekg/dns messages.
//
// bench/dns/run.sh measures the server against Unbound with the same
// million-name list (RPZ for Unbound); figures in docs/benchmarks.md.
package dns
