// Package hub is the threat-intelligence hub's service: what comes in
// (imports and configured feeds of STIX, MISP, CSV and Shadowserver
// reports), what it becomes (indicators merged from every source, in the
// store), and the early warning: every record matched against the
// registry, each hit a finding for the asset's owner through the findings
// service.
//
// # Imports
//
// Import streams an input through the queue's object store (JetStream) and
// reads it back chunk by chunk, so a report of a gigabyte never sits
// whole in memory and an import the process did not finish resumes after
// a restart (Resume). ImportFile reads a local file in place (it is
// durable already); ImportDir reads a MISP feed directory. A run:
//
//  1. parses with the format's parser (internal/intel/stix, misp,
//     feedcsv, shadowserver), which emits normalized records and collects
//     rejections with their reasons;
//  2. matches each record against the registry's verified assets
//     (addresses, networks both ways, domains and their subdomains, URL
//     hosts, mail domains, AS numbers) and turns each hit into an
//     early-warning finding (intel.FindingKind of the record's category;
//     evidence names the feed, the time and the row, never a password);
//  3. applies the records in batches (store.Intel.ApplyIndicators, one
//     transaction per batch) while the parser goes on, and records the
//     batch's findings (finding.Batch{Source: intel, Ref: feed});
//  4. stores the outcome on the feed: counts, the first rejections, the
//     error of a failed run.
//
// Records about the constituency's own weaknesses (CategoryExposed: an
// open service a third party saw; CategoryLeak: accounts in a leak) are
// routed to their owners but not kept as indicators: they are nothing to
// block, and the finding is their record.
//
// # Feeds
//
// A configured feed (store.Feed) has a location: a file, a directory (a
// MISP feed) or an http(s) URL read with a deadline and a size cap. Run
// runs every enabled feed when its interval has passed and retries a
// failing one with a growing pause (a minute, doubling, at most the
// interval), showing its error on the feed; RunFeed runs one now. A TAXII
// feed's location is a collection: TAXIIPolling (Deps.TAXII) polls it with
// internal/taxii's client from the feed's last success (an hour of
// overlap), with a token or password named by an environment variable in
// the feed's options, and reads the objects as a STIX bundle.
//
// # Feedback
//
// ConsumeFeedback reads the finding events: an owner who marks an early
// warning a false positive, or asks to, leaves feedback on the feed for
// its analyst (store.Intel.AddFeedback).
//
// The package is a service: it uses the store's and the queue's
// contracts, the findings service and the domain packages, never a
// driver.
package hub
