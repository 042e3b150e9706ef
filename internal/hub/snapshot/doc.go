// Package snapshot distributes the hub's enforceable indicators to the
// edges: `rampart dns` resolvers and `rampart sensor` processes.
//
// The platform's Publisher builds a Snapshot of the active indicators
// the blocklist guard lets through (a registered asset, a public suffix
// or a too-wide range never leaves), marked at most TLP:GREEN by default,
// together with the allowlist and the protective DNS policy. It keeps the
// whole snapshot, gzip-compressed JSON, in the JetStream object store
// bucket Bucket under ObjectName, and sends every change as a Delta on
// the core NATS subject DeltaSubject. Versions only grow; each delta
// names the version it applies to (Prev), so a follower that missed one
// sees the gap and fetches the whole snapshot again.
//
// An edge calls Follow with its NATS connection, a cache directory and a
// Handler. Follow loads the last snapshot kept on disk first (a resolver
// restarted while NATS is unreachable still enforces the last list),
// then fetches the current one and applies deltas as they come, and tells
// the handler whether it is connected and how fresh its data is.
//
//	err := snapshot.Follow(ctx, nc, "/var/lib/rampart-dns", handler)
//
// Everything read from NATS or from the cache is hostile input: the
// decoders bound sizes and counts and refuse what does not validate
// (see DecodeDelta and ReadSnapshot, both fuzzed).
//
// The package is an adapter (it speaks NATS and reads the store); the
// domain packages must not import it.
package snapshot
