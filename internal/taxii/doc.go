// Package taxii serves and reads TAXII 2.1, the HTTPS protocol for sharing
// STIX threat intelligence (OASIS TAXII Version 2.1, 2021).
//
// # Server
//
// Server is an http.Handler for the read side of TAXII 2.1: discovery
// (/taxii2/), one API root, its collections, a collection's objects (with
// added_after, limit, next, match[id], match[type], match[version] and
// match[spec_version]), one object and its versions, and the manifest. It
// speaks application/taxii+json;version=2.1, answers 406 to a client that
// accepts neither that nor STIX, and every error is a TAXII error message.
// Collections are read-only (can_write false); a POST gets 403.
//
// The server knows nothing of storage or of who may read what. A Backend
// (an interface of this package) lists the collections a caller may see
// and pages through a collection's objects for that caller; the server
// authenticates the request with the platform's API tokens, passed as
// "Authorization: Bearer rpt_..." or, for TAXII clients that know only
// HTTP Basic, as the password of any user name.
//
// Pagination is by cursor: the next token names the position (date added,
// sequence) of the last object returned, so objects added while a client
// pages appear after the objects it has already seen and none are skipped
// or repeated.
//
// # Audiences and TLP
//
// MayRead is the reference policy for TLP 2.0 (table-tested): CLEAR, GREEN
// and AMBER reach every authenticated member who may read feeds;
// AMBER+STRICT only the organizations an indicator concerns (and the
// hub's own analysts); RED only the people named on it. MemoryBackend is a
// complete Backend over that policy: one national collection per TLP
// ceiling and, for every organization, a collection of the indicators that
// concern it. A store-backed Backend applies the same two functions.
// Indicators are served as the hub exports them (internal/intel/stix):
// one deterministic id per value, a new version each time it is seen.
//
// # Client
//
// Client reads a TAXII 2.1 server: discovery, API root, collections, and
// Poll, which follows more/next pagination (or X-TAXII-Date-Added-Last when
// a server gives no next) and returns the added_after to use next time.
// Every request carries the TAXII Accept header, a deadline and a cap on
// the body read; failures are *Error values that say whether a retry may
// help.
//
// The package must not import the store or the queue: the lead wires a
// Backend over the store and an Authenticator over the token table.
package taxii
