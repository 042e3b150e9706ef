// Package intel is the threat-intelligence model: indicators, their kinds,
// TLP markings, confidence and labels, and the records feeds deliver.
//
// A feed (STIX bundle, MISP event, CSV list, Shadowserver report, a
// partner's push) is parsed into Records: one source's statement about one
// value. Records about the same (kind, value) merge into one Indicator with
// several sources. Values are normalized like assets (lower case, punycode,
// canonical CIDR) so the same value from two feeds is one indicator.
//
// The package is a domain package: standard library and the asset
// normalizer only. Parsers live below it (intel/stix, intel/misp,
// intel/feedcsv, intel/shadowserver), the matchers in intel/match, storage
// in the store, and the hub service that routes early warnings in
// internal/hub.
package intel
