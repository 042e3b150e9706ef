// Package match holds the indicator tables the early-warning path looks
// values up in, built for speed: which indicator, if any, covers this
// address, this name, this URL, e-mail address, file hash or AS number.
// Every entry maps to the indicator's ID, and every lookup returns
// (id, ok) without allocating.
//
// # Tables
//
//   - Addresses: IPv4 and IPv6 addresses and networks with longest-prefix
//     match. Single addresses live in open-addressing hash tables behind a
//     Bloom filter (a single address is the longest prefix of its family,
//     so a hit there is the answer); networks live in a bart prefix trie
//     (github.com/gaissmai/bart), walked only when the host tables miss
//     and a small bitmap of the /16s (IPv4) or hashed /32s (IPv6) that
//     networks overlap says the address may be in one.
//     IPv4-mapped IPv6 addresses and networks inside ::ffff:0:0/96 are the
//     IPv4 ones; zones are ignored.
//   - Names: a domain indicator covers the name and every subdomain on a
//     label boundary ("evil.example" matches "a.b.evil.example", never
//     "xevil.example"); the most specific indicator wins. The table is a
//     suffix hash table: each indicator's name is keyed by a hash built
//     over its labels from the right, so a lookup walking a name's labels
//     from the right (string slicing, no allocation) has the key of each
//     suffix on a label boundary as it goes, probes it, and keeps the
//     longest match. A Bloom filter small enough to stay in the CPU cache
//     answers for most suffixes that are not indicators, and a 64-byte
//     slot holds a name of up to 42 bytes inline, so a name under no
//     indicator usually costs no access to main memory and a name under
//     one costs about one, whatever its depth.
//   - URLs, e-mail addresses, hashes (md5, sha1, sha256 in one set) and
//     AS numbers: exact-match hash maps.
//
// Values are given in the canonical form intel.NormalizeValue returns and
// looked up in the same form (lower case, A-labels); Apply checks the form
// and refuses what it could never match.
//
// # Updates and concurrency
//
// A Matcher publishes an immutable Snapshot of every table behind an
// atomic pointer. Readers load it and never lock or wait; writers (Apply)
// are serialized by a mutex, build the next snapshot from the current one
// without changing anything a reader can see, and publish it with one
// atomic store, so a reader sees all of a batch or none of it.
//
// Each hash table (host, name and exact) is published as a large base and
// a small delta of the changes since the base was built (additions and
// removal marks); a lookup consults the delta first when there is one. A
// batch copies only the deltas it touches and changes the copies; a batch
// that would take a delta past max(4096, n/64) changes folds it into a
// fresh copy of the base instead, an O(n) copy paid at most once per that
// many changes. Networks use bart's persistent insert and delete for small
// batches (copying only the trie nodes on the prefix's path) and one deep
// copy for large ones. Matcher.Apply states the costs in figures.
//
// Hashes are keyed with a random key per matcher, so values chosen by a
// feed cannot be crafted to collide.
//
// The package is a domain package: standard library, intel, and bart.
// Benchmarks: BenchmarkLookupAddr1M, BenchmarkLookupName1M and
// BenchmarkLoad1M here (go test -run X -bench . -cpu 1 -benchmem), and
// go run ./bench/intel, which prints lookups/s against the goals of
// issue 12.
package match
