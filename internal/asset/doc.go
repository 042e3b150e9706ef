// # Values
//
// Every asset value is stored in the canonical form Normalize returns, so
// equal resources compare equal as strings: names are lower-case ASCII with
// internationalized labels in punycode, addresses and networks are in the
// netip canonical text, ASNs are "AS64500", and URLs keep only scheme, host,
// port and path. The one import outside the standard library is
// golang.org/x/net/idna, for the IDNA lookup profile.
//
// # Scope guard
//
// Rampart never probes a target that no registered asset covers. Build an
// Index from all assets whenever they change and look targets up in it:
//
//	b := asset.NewBuilder()
//	for _, a := range assets {
//		if err := b.Add(asset.Entry{AssetID: a.ID, OrgID: a.OrgID, Kind: a.Kind, Value: a.Value}); err != nil {
//			// a malformed stored value covers nothing; log it
//		}
//	}
//	ix := b.Build()
//	m, err := ix.Lookup("https://portal.example.gov.vn/app/login")
//	if errors.Is(err, asset.ErrOutOfScope) {
//		// refuse the probe
//	}
//
// An Index is immutable: publish a new one (for example through an
// atomic.Pointer) instead of changing it, and share it freely between
// goroutines. Lookup takes text; LookupAddr and LookupName are the
// allocation-free paths for callers that already hold an address or a
// normalized name. Overlaps reports where one organization's assets cover
// another's, so registry staff can settle ownership.
//
// # Claims
//
// Ownership is claimed, then proven or approved (claim.go). Below the
// national level a new asset is a claim in StateClaimed; Limits.Check
// refuses public suffixes (the Public Suffix List ships in data/, parsed on
// first use), special-purpose addresses and names unless the deployment is
// internal, and networks wider than the configured prefix; ProofFor says
// which DNS TXT record (_rampart-verify.<name>) or well-known file proves a
// claim; MayApprove says who may approve it instead. Only verified assets
// enter the scope guard's index.
package asset
