// Package blocklist turns the hub's indicators into lists that firewalls,
// routers and resolvers enforce: plain text, CSV, an nftables set, an
// ipset restore file, a Mikrotik RouterOS script and a DNS response policy
// zone (RPZ).
//
// A List is built once from the indicators (Build): the Guard takes out
// every indicator that would hurt the constituency if enforced (it covers
// a registered asset, is a public suffix, a special-purpose address or a
// range wider than the configured prefix) and returns it as a Review item
// with the reason in English and Vietnamese; the rest is sorted once.
// Each Consumer then renders the list through its own filters (kinds,
// categories, minimum confidence, maximum TLP, maximum age), streaming to
// an io.Writer in a fixed order, so that two pulls of an unchanged list
// are byte-identical and an ETag is the hash of the output. Handler serves
// the formats over HTTP with If-None-Match.
//
// TLP: a blocklist feeds machines, not people, so TLP:RED indicators are
// never rendered, whatever a consumer's ceiling says.
//
// Address formats (nftables, ipset, Mikrotik) merge the addresses and
// networks into the fewest non-overlapping CIDRs: nftables refuses
// overlapping intervals in a set.
//
// The package is store-agnostic: the registry of assets reaches the guard
// through the Registry interface (AssetIndex is an implementation over a
// list of assets), and consumers reach the handler through a lookup func.
package blocklist
