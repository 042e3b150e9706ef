// Package intelweb is how the threat-intelligence hub's indicators leave
// the platform over HTTP: a TAXII 2.1 Backend over the store, the
// platform's API tokens as TAXII credentials, and the blocklists with
// their guard and consumer keys.
//
// # TAXII
//
// TAXII implements taxii.Backend with the reference layout of package
// taxii: one national collection per TLP ceiling, and one collection per
// organization holding the indicators that concern it: those its people or
// systems reported seeing (sightings) and those that hit one of its assets
// (the early-warning findings, intel.*, name the indicator in their
// evidence). Who may read what is taxii.MayRead and taxii.MaySee, applied
// over the platform's own view of the store (the store alone shows
// non-national principals CLEAR and GREEN only): an indicator's audience
// is its marking and, for the reader's organization, whether the indicator
// concerns it. The store records no named recipients, so TLP:RED reaches
// no one through TAXII.
//
// Objects are the hub's STIX export of each indicator (internal/intel/stix:
// one deterministic id per value, version its last-seen time); the store
// keeps the latest version only. Positions follow the store's change
// stamp: date added is when the indicator last changed and the sequence
// its Seq, so a client paging with next misses nothing and sees nothing
// twice, and an indicator that changes moves to the end of the collection
// as a new version.
//
// # Blocklists
//
// Blocklists keeps one built blocklist.List, rebuilt when the indicators,
// the registry or the review queue change. Every active indicator passes
// the guard (the registry's assets, the public suffix list, special
// addresses, wide ranges); one it holds back goes to the store's review
// queue with the reason and stays out until an analyst approves it
// (special and malformed values stay out whatever the decision). Handler
// serves the lists to consumers by key (store.Consumer; only the key's
// SHA-256 is stored).
//
// TLP for machines: a consumer serving one member organization gets at
// most TLP:AMBER (AMBER+STRICT is for the organizations concerned, which
// a list for many indicators cannot tell apart); a national consumer (no
// organization) at most what its filter says; RED never.
//
// The package is a face: it reads the store's and the domain's contracts
// and never a driver.
package intelweb
