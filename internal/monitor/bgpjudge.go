package monitor

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Route is one announcement heard from a BGP peer.
type Route struct {
	Prefix netip.Prefix
	// Origin is the AS that originated the route: the last AS of the
	// path; 0 when the path ends in an AS_SET (OriginSet then lists it)
	// or is empty.
	Origin    uint32
	OriginSet []uint32
	ASPath    []uint32 // the path, flattened, for the evidence
	Peer      string
	At        time.Time
}

// HijackEvidence is the evidence of a monitor.bgp-hijack finding.
type HijackEvidence struct {
	Prefix       string    `json:"prefix"`     // as announced
	Registered   string    `json:"registered"` // the registered network it falls in
	MoreSpecific bool      `json:"more_specific"`
	OriginAS     uint32    `json:"origin_as"`
	OriginSet    []uint32  `json:"origin_set,omitempty"`
	ASPath       []uint32  `json:"as_path"`
	Expected     []uint32  `json:"expected_origins"`
	RPKI         RPKIState `json:"rpki"`
	VRPs         []VRP     `json:"vrps,omitempty"`
	Peer         string    `json:"peer"`
	SeenAt       time.Time `json:"seen_at"`
}

// judgement is what one route means for the registry.
type judgement struct {
	ours       bool // the route is for a registered network or a part of it
	registered netip.Prefix
	owner      owned
	legit      bool // originated by the owner (or authorized by a valid ROA)
	hijack     bool
	rpki       RPKIState
	vrps       []VRP
	expected   []uint32
}

// judgeRoute judges a route against the registry and the ROAs. Only
// routes for a registered network or a more specific part of it are the
// constituency's (a less specific covering one is an upstream's
// aggregate). Such a route is legitimate when its origin is one of the
// owner's ASNs (or its ancestors'), or when a ROA makes it RPKI-valid:
// the holder authorized that origin (often its provider). Otherwise it
// is a hijack when the owner has ASNs registered or when the route is
// RPKI-invalid; with neither, the platform cannot tell and stays silent.
func judgeRoute(r Route, reg *view, roas *ROASet) judgement {
	var j judgement
	j.registered, j.owner, j.ours = reg.ownerOf(r.Prefix)
	if !j.ours {
		return j
	}
	j.expected = reg.originASNs[j.owner.OrgID]
	j.rpki, j.vrps = roas.Validate(r.Prefix, r.Origin)
	byOwner := slices.Contains(j.expected, r.Origin) && r.Origin != 0
	for _, a := range r.OriginSet {
		byOwner = byOwner || slices.Contains(j.expected, a)
	}
	switch {
	case byOwner || j.rpki == RPKIValid:
		j.legit = true
	case len(j.expected) > 0 || j.rpki == RPKIInvalid:
		j.hijack = true
	}
	return j
}

// hijackFinding is the finding of a hijack judged j for route r.
func hijackFinding(r Route, j judgement) finding.Finding {
	sev := finding.High
	if j.rpki == RPKIInvalid {
		sev = finding.Critical
	}
	origin := "AS" + fmt.Sprint(r.Origin)
	if r.Origin == 0 {
		origin = fmt.Sprint("AS-SET", r.OriginSet)
	}
	ev := HijackEvidence{Prefix: r.Prefix.String(), Registered: j.registered.String(), MoreSpecific: r.Prefix.Bits() > j.registered.Bits(),
		OriginAS: r.Origin, OriginSet: r.OriginSet, ASPath: r.ASPath, Expected: j.expected, RPKI: j.rpki, VRPs: capVRPs(j.vrps),
		Peer: r.Peer, SeenAt: r.At}
	return finding.Finding{OrgID: j.owner.OrgID, AssetID: j.owner.AssetID, Check: "monitor.bgp-hijack", Severity: sev,
		Target: r.Prefix.String(), Subject: origin,
		Title:    fmt.Sprintf("%s announced by %s (registered %s, RPKI %s)", r.Prefix, origin, j.registered, j.rpki),
		Evidence: evidence(ev)}
}

func capVRPs(v []VRP) []VRP {
	if len(v) > 16 {
		return v[:16]
	}
	return v
}

// WithdrawnEvidence is the evidence of a monitor.bgp-withdrawn finding.
type WithdrawnEvidence struct {
	Registered    string    `json:"registered"`
	LastSeen      time.Time `json:"last_seen"`
	LastOrigins   []uint32  `json:"last_origins"`
	LastPrefixes  []string  `json:"last_prefixes"`
	WithdrawnAt   time.Time `json:"withdrawn_at"`
	PeersUp       []string  `json:"peers_up"`
	EstablishedAt time.Time `json:"established_at"`
}
