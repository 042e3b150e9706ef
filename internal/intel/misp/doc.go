// Package misp reads MISP feeds into indicator records: the feed's
// manifest.json (ParseManifest) and its event files ({"Event": {…}},
// ParseEvent), or a whole feed laid out as files (ReadFeed). Reading
// (files here, HTTP in the hub) is kept apart from parsing, which takes
// an io.Reader.
//
//	res, err := misp.ReadFeed(ctx, os.DirFS("/var/lib/feeds/circl"), "misp:circl", store.Add)
//
// What is read, for every attribute of the event and of its objects:
//
//   - only attributes marked to_ids; the others, deleted ones and types
//     Rampart does not carry (filename, regkey, text …) are skipped and
//     counted by reason in Result.SkippedBy, not rejected;
//   - ip-src, ip-dst (addresses or CIDR), their |port forms (the port
//     goes to Detail), domain, hostname, hostname|port, domain|ip (two
//     records, both or none), url, email, email-src, email-dst,
//     email-reply-to, md5, sha1, sha256, filename|md5, filename|sha1,
//     filename|sha256 and malware-sample (the file name goes to Detail),
//     AS. link attributes point to reports, not to threats, and are
//     skipped even when marked to_ids;
//   - tags (ReadTag), the event's for every attribute, an attribute's own
//     overriding them: tlp:* gives the TLP (unmarked: Options.DefaultTLP,
//     else AMBER); threat-actor, malware and tool galaxies give "actor:",
//     "malware:" and "tool:" labels, other tags "tag:" labels;
//     misp:confidence-level, admiralty-scale and estimative-language give
//     the confidence (else intel.DefaultConfidence);
//   - the category: a tag's hint (phishing, C2, spam, scanner, malware),
//     else an e-mail sender is phishing, a hash malware, a payload's
//     delivery or installation malware, the destination of network
//     activity C2, anything else blocklist;
//   - first and last seen: the attribute's first_seen and last_seen, else
//     its timestamp (Unix seconds), else the event's;
//   - ExternalID: the attribute's UUID; Detail: the event's UUID and
//     title, the organization, the MISP type and category, the comment,
//     the object's name; Raw: the attribute's JSON, cut to intel.MaxRaw.
//
// An attribute is never half-read: a bad value (in either half of a
// domain|ip) rejects the whole attribute, with the reason. An event file
// is read whole, at most Options.MaxEvent bytes, before its first record
// is emitted, so a malformed event emits nothing; ReadFeed rejects it and
// reads the next one.
//
// The package is a domain package: the standard library and
// internal/intel only.
package misp
