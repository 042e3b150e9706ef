// Package rpz serves the hub's blocklist as DNS response policy zones
// (draft-vixie-dnsop-dns-rpz) to the resolvers members already run: BIND,
// Unbound, Knot Resolver and PowerDNS configured as secondaries.
//
// # Zones
//
// Each blocklist consumer that may pull the rpz format gets its own zone
// (ZoneSpec): its origin is the consumer's Zone, its content the
// blocklist rendered through the consumer's filters (kinds, categories,
// minimum confidence, maximum TLP, maximum age) by package blocklist, so
// the zone over AXFR and the RPZ file over HTTP hold the same triggers.
// A blocked domain d is two triggers, "d CNAME ." and "*.d CNAME ."
// (NXDOMAIN for d and every name below it); an address or network is an
// rpz-ip trigger ("32.5.113.0.203.rpz-ip CNAME ."). The guard of package
// intelweb (registered assets, public suffixes, special addresses) has
// already taken out what must never be blocked.
//
// # Transfers
//
// Over TCP the server answers SOA, AXFR (RFC 5936) and IXFR (RFC 1995):
// an IXFR from a serial still in the zone's journal (the last History
// changes, bounded in size) gets the differences, an older one the whole
// zone in AXFR form. Over UDP it answers SOA, and IXFR with the current
// SOA only (the client then asks over TCP). Transfer messages are
// written straight to wire format, many records each, and signed one by
// one, so a million names leave in about a second.
//
// # Who may transfer what
//
// A request signed with a zone's TSIG key (HMAC-SHA256, RFC 8945) gets
// that zone and no other: another origin is REFUSED (signed), an unknown key
// BADKEY, a bad signature BADSIG, a clock too far off BADTIME. An
// unsigned request gets a zone only from a source network its spec
// lists in AllowUnsigned (Unbound 1.17 cannot sign zone transfers);
// anything else is REFUSED.
//
// # Changes
//
// Run polls the Source (the hub's blocklists: a new *blocklist.List is a
// change) and the zone specs, waits for the changes to settle
// (Debounce), renders every zone again, and for each zone whose triggers
// changed raises the SOA serial (the clock in seconds, or one more),
// records the difference for IXFR and sends NOTIFY (RFC 1996) to the
// zone's secondaries, signed with its key, retrying until they answer.
//
// The package reads the blocklist package and miekg/dns only; the store
// reaches it through Source and the zones func (internal/cli wires
// them).
package rpz
