// Package stix reads STIX 2.1 bundles into indicator records and writes
// indicators back out as STIX 2.1 objects, for the TAXII server and the
// SIEM export.
//
// # Reading
//
//	f, _ := os.Open("bundle.json")
//	rej, err := stix.Parse(ctx, f, "partner-cert", func(r intel.Record) error {
//		return store.Add(r)
//	})
//
// Parse accepts a bundle or a TAXII 2.1 envelope (any JSON object with an
// "objects" array) and emits one normalized intel.Record per value of
// each indicator, in file order. What is read:
//
//   - the pattern, through ParsePattern: equality and OR over ipv4-addr,
//     ipv6-addr (addresses and CIDR networks), domain-name, url,
//     email-addr, email-message:from_ref/sender_ref, file hashes (MD5,
//     SHA-1, SHA-256) and autonomous-system; AND only between the hashes
//     and other properties of one file (each hash names the content; the
//     other properties are dropped);
//   - valid_from (first seen; else created), modified (last seen),
//     valid_until, confidence (default intel.DefaultConfidence);
//   - object_marking_refs: the published TLP 1.0 and TLP 2.0 marking
//     definitions and any TLP marking definition in the bundle; the
//     strictest applies; unmarked indicators get Options.DefaultTLP;
//   - labels: "malware:<name>", "actor:<name>" (threat actors and
//     intrusion sets), "campaign:<name>", "tool:<name>" for the objects an
//     indicator "indicates" (or is "attributed-to"), following
//     attributed-to from there up to three steps (campaign → intrusion
//     set → threat actor); the indicator's own labels, read as MISP tags
//     (misp.ReadTag: MISP writes its tags as STIX labels): galaxies give
//     "actor:", "malware:", "tool:" labels, "tlp:" labels the marking of
//     an indicator without object_marking_refs, MISP's export metadata
//     (misp:name=…) nothing, any other label "tag:<label>";
//   - the category (most specific first): our own x_rampart_category;
//     "compromised" in indicator_types; phishing (the word in the name,
//     types or labels, or an attack pattern of phishing indicated); C2
//     (C2, C&C, CnC, command and control in the name, types, labels or a
//     kill-chain phase, or C2 infrastructure indicated); malware
//     indicated; an e-mail address is phishing; anything else blocklist;
//   - Detail: name, references, created_by; Raw: the indicator object
//     (its description and pattern too), cut to intel.MaxRaw.
//
// An indicator is never half-read: an unsupported pattern, a bad value
// anywhere in it, a revoked indicator, a pattern language other than
// STIX, a bad timestamp or confidence reject the whole indicator with the
// reason in intel.Rejections, and nothing of it is emitted.
//
// # Memory
//
// The bundle is streamed: one object (at most Options.MaxObject bytes) and
// one 64 KiB read buffer are in memory at a time. Relationships may come
// after the indicators they label, so:
//
//   - when the reader can seek (a file), Parse reads the bundle twice. The
//     first pass checks the JSON and keeps only the small objects:
//     marking definitions, identities' names, the names of malware,
//     actors, campaigns, tools, infrastructure and attack patterns, and
//     the indicates / attributed-to relationships (about 40 bytes per
//     relationship of an indicator). The second pass reads the indicators
//     and emits them. Memory grows with those small objects and
//     relationships, never with the indicators; a malformed bundle fails
//     in the first pass, before anything is emitted;
//   - when it cannot (a network stream), Parse reads once and holds the
//     indicators back until the end, at most Options.MaxPending of them
//     (each about its Raw, ≤ 4 KiB, plus its fields); a larger bundle
//     fails with ErrTooManyPending and emits nothing. Write such a stream
//     to a file first.
//
// The JSON is read by the package's own scanner (scan.go), which checks
// strict JSON syntax while it finds each object's extent; the fuzz
// targets hold it to encoding/json's answers.
//
// # Writing
//
// IndicatorObject, WriteIndicator, BundleWriter and Bundle turn
// intel.Indicators into STIX 2.1 indicator objects with a deterministic
// ID (IndicatorID: UUIDv5 of kind and value), the pattern of the value
// (PatternFor), the TLP 2.0 marking (MarkingID, MarkingDefinition),
// confidence, validity, labels and x_rampart_category. Parse reads them
// back to the same kind, value, TLP, confidence, category and labels.
//
// The package is a domain package: the standard library, internal/intel
// and internal/intel/misp (for the meaning of MISP tags) only.
package stix
