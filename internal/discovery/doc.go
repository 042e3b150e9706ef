// Package discovery finds the constituency's internet assets that nobody
// registered: host names in Certificate Transparency logs and CT files
// (package ct), names from DNS (zone transfers, a wordlist with wildcard
// detection, NSEC walks and reverse DNS, package dnsdisc), names in
// certificates the platform's scans saw or that a host presents, links
// from owned web sites, and the prefixes owned AS numbers announce in
// offline routing data (package routing).
//
// Run is one discovery run over Targets (registered domains, networks,
// web sites and AS numbers) with the sources of Options; `rampart
// discover` prints what it emits as JSON lines. Every candidate name of
// CT, certificates and links must fall under one of the target domains
// (Domains: one map lookup per label).
//
// The platform side (service.go, jobs.go) places each candidate with the
// scope index (Place) and proposes it to the organization whose verified
// domain, network or AS covers it, as a store.Candidate and a
// discovery.unregistered-asset finding with its policy's deadline. The
// owner confirms it (it becomes a registered asset, verified when it lies
// inside the owner's proven scope, and is scanned from then on) or rejects
// it (it is never proposed again); either closes its finding at once
// (finding.Batch.Ended). Nothing discovered is scanned before: a
// candidate is not an asset, so the scheduler never sees it. The one
// exception is a national analyst's explicit sweep (Sweep): scan jobs of
// chosen pending candidates, each the covering asset's and scoped to the
// candidate alone, with who and why in the audit log. Jobs run in the
// control plane (see jobs.go for why) with leases and progress; a run
// reads a directory of CT files (Config.CTDir) and loads routing data
// (Config.LoadRouting) as it starts.
//
// Who may do what is said once, in actions.go: the owner's administrators
// or the level above decide (MayDecide), the national level (platform
// administrators and analysts) runs discovery over everything and
// administrators over their own scope (MayRun), and only the national
// level sweeps (MaySweep). The API and the console are faces over
// Service; the store enforces tenancy.
//
// Errors start with "discovery:". Everything read from the network or a
// file is bounded: see the limits of each package.
package discovery
