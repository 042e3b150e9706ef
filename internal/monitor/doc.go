// Package monitor watches the constituency's internet resources and
// reports what changes as findings of kind monitor.*, through the findings
// service (finding.Batch{Source: monitor, Ref: the detector}), each for the
// organization that owns the asset concerned. It is a control-plane
// service: it reads the registry and its own memory from the store
// (store.MonitorState, migration 0021), talks to resolvers, RDAP servers,
// CT logs and BGP peers itself, and never touches the data plane.
//
// Only verified assets count: a claim is nobody's yet, so nothing is asked
// about it and nothing imitating it is reported.
//
// # Detectors
//
// DNS changes (DNSRound, every 15 minutes). The NS, MX, A, AAAA and CAA
// records of every domain and mail-domain asset are asked of the
// configured resolver (miekg/dns: a deadline per query, TCP after a
// truncated answer, at most 64 values of 300 bytes kept per record set,
// a rate limit). The first answer is the baseline. An answer that differs
// is reported from the first round it is seen, with the baseline as
// "before", until it has lasted AdoptAfter (7 days): then it is the new
// normal. An answer back to the baseline is no longer reported, and its
// finding expires. A failed lookup (timeout, SERVFAIL) changes nothing.
// Verdicts:
//
//	monitor.delegation-changed  high  NS to a provider (registrable domain of the servers) not used before and not the
//	                                  organization's own, or the delegation gone (NXDOMAIN, no NS)
//	monitor.mx-changed          high  a new mail server outside the organization's domains and the previous mail providers
//	monitor.mx-changed          low   other MX changes
//	monitor.dns-changed         low   NS changes within the same providers, CAA changes
//	monitor.dns-changed         info  A or AAAA records moved (the new set shares no address with the old: a rotating
//	                                  pool is no change)
//
// Registration expiry (ExpiryRound, every 6 hours). Dates come from RDAP
// (RFC 9083: the domain object's "expiration" event; a base URL or one
// per top-level domain, since air-gapped sites have their registry's
// server or none; a deadline, a 256 KiB cap, one lookup per domain per
// day), from a CSV of domain,expiry read every round, or from
// ImportExpiry (`rampart monitor expiry-import`). monitor.domain-expiring
// opens 30 days before expiry (medium), turns high at 7 days and
// critical once expired, on the registrable domain.
//
// Look-alike domains (CheckNames, CTRound, LookalikeRound). Generate makes
// the permutations of a registered name: letters left out, doubled,
// swapped, look-alike letters (digits, Cyrillic), Vietnamese accents added
// to each vowel and to d ("bộ" for "bo") and dropped from an accented
// name, hyphens, added words (-login, secure-, -gov …), other suffixes
// (.com, .vn, .com.vn, .gov.vn …), and the name flattened into one label.
// The Matcher recognizes them without listing them: a name's first label
// is reduced to a skeleton (accents, homoglyphs and hyphens folded) and
// looked up among the constituents' skeletons and their one-letter
// deletions (which finds one-letter edits), then the technique is named.
// One-letter edits of names shorter than five letters are not reported
// (they are other people's names far more often), nor another suffix of
// one shorter than four. Names are checked as CT logs give them (the
// monitor's own reader of configured logs, resuming at its saved position
// and starting at a new log's end; discovery may hand every certificate's
// names to CheckNames) and as zone files or name lists give them (a ccTLD
// zone dump). monitor.lookalike-domain goes to the imitated organization:
// high when a certificate was issued, medium otherwise; it is reported
// again every round for Hold (30 days) after it was last seen.
//
// Certificates from an unexpected CA (CTRound). A certificate in a watched
// log for a name under a registered domain whose CAA records (as the DNS
// detector snapshotted them at the domain's apex) name issuers, from a CA
// known to be none of them, is monitor.cert-unexpected-issuer (medium) for
// the domain's owner. A CA outside the short table of issuer
// organizations and their CAA domains is not judged.
//
// BGP (StartBGP, Speaker). An in-process BGP speaker (gobgp's server
// package) peers with route collectors or members' border routers,
// connecting out or taking connections, and takes their routes. Each
// route for a registered network (a cidr asset) or a more specific part
// of it is judged as it arrives: its origin AS is legitimate when it is
// one of the owner's ASNs (asn assets of the organization or its
// ancestors) or when the route is RPKI-valid under the imported ROAs
// (rpki-client's JSON, read again when it changes: the holder authorized
// that origin). Otherwise it is monitor.bgp-hijack: critical when the
// route is RPKI-invalid, high when no ROA covers it; when the owner has
// no ASN registered only an invalid route is a hijack. A registered
// network whose legitimate route disappears, once a session has been up
// for Settle, is monitor.bgp-withdrawn (medium). Every Refresh all
// registered networks are judged again from the peers' tables, which
// keeps standing hijacks reported. A hijack is a finding within
// milliseconds of its UPDATE (BenchmarkBGPHijackToFinding).
//
// Exposure changes (ExposureRound, every minute). The observations the
// scans record are read past a cursor; an open port on an asset that had a
// finished scan before the port appeared is new against its history: a
// remote administration service (RDP, VNC, telnet, WinRM, SMB, SSH) or a
// database is monitor.new-exposure (high; SSH medium), anything else a
// monitor.new-service event (info). Each is reported while the port stays
// open, for Hold (14 days). The ports of an asset's first scan are its
// baseline.
//
// # Lifetimes
//
// Monitoring findings close by expiry (findings.DefaultExpiry: three days
// without a report). Detectors therefore report a standing problem at
// every round, and stop when it is gone; the holds above bound how long a
// one-time sighting stays open.
package monitor
