// Package dnsdisc finds host names through DNS: a zone transfer where a
// zone's servers allow one (Transfer), a wordlist of common labels resolved
// through the configured resolver with wildcard detection (Brute, with the
// shipped DefaultWords), a walk of a DNSSEC zone's NSEC chain (WalkNSEC),
// and the PTR records of a registered network (Reverse).
//
// Every query goes through a Resolver: one server, a deadline per query,
// UDP with TCP when an answer is truncated, and an optional token bucket
// (Limiter) shared by everything sent to that server, so a sweep never
// floods a member's resolver. Answers are read with miekg/dns, whose
// parser refuses malformed messages; a transfer reads at most MaxTransfer
// records and a walk visits at most MaxWalk names.
package dnsdisc
