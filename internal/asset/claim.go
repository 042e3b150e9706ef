package asset

import (
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Ownership is claimed, then proven or approved. A new asset registered by
// anyone below the national level is a claim: it is stored and shown, but
// nothing probes it until it is verified, either by a proof its claimant
// publishes (a DNS TXT record or a file on the web server, see Proof) or by
// the approval of someone above the claimant (see MayApprove). The national
// level (platform administrators, and the platform itself) registers assets
// verified at once.

// State is where an asset stands in that process.
type State string

// The states of an asset.
const (
	StateClaimed  State = "claimed"  // registered, waiting for a proof or an approval; never scanned
	StateVerified State = "verified" // proven or approved: in scope, scanned
	StateRejected State = "rejected" // refused by an approver; never scanned
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	return s == StateClaimed || s == StateVerified || s == StateRejected
}

// How a claim was verified, as recorded in Asset.VerifiedBy (approvals add
// ":" and the approver's name).
const (
	VerifiedByDNS      = "dns"      // the TXT record was found
	VerifiedByHTTP     = "http"     // the well-known file was found
	VerifiedByApproval = "approval" // "approval:<name>": an admin above the claimant
	VerifiedByNational = "national" // "national:<name>": registered or approved by the national level
)

// Errors of the claim rules. ErrRefused wraps ErrInvalid: a refused value
// is an invalid request, whoever asks again.
var (
	ErrNotVerified   = errors.New("asset: not verified: its ownership is claimed but not yet proven or approved, so it is not scanned")
	ErrRefused       = fmt.Errorf("%w: refused", ErrInvalid)
	ErrNeedsNational = errors.New("asset: only the national level may register or approve this")
	ErrOverlap       = errors.New("asset: overlaps a verified asset of another organization")
	ErrNotApprover   = errors.New("asset: you may not decide this claim")
	ErrNotClaimed    = errors.New("asset: not a pending claim")
)

// Limits are the rules a claim below the national level must keep. The
// zero value is the strict public-platform setting.
type Limits struct {
	// Internal allows private, loopback, link-local and other
	// special-purpose addresses and names such as localhost: a platform
	// deployed inside one network (config internal_deployment).
	Internal bool
	// MaxIPv4Prefix and MaxIPv6Prefix are the widest networks a member
	// may claim: a /15 is wider than the default /16 and needs the
	// national level. Zero means the default (16 and 32).
	MaxIPv4Prefix int
	MaxIPv6Prefix int
}

// Default widest networks a member may claim.
const (
	DefaultMaxIPv4Prefix = 16
	DefaultMaxIPv6Prefix = 32
)

func (l Limits) v4() int {
	if l.MaxIPv4Prefix <= 0 {
		return DefaultMaxIPv4Prefix
	}
	return l.MaxIPv4Prefix
}

func (l Limits) v6() int {
	if l.MaxIPv6Prefix <= 0 {
		return DefaultMaxIPv6Prefix
	}
	return l.MaxIPv6Prefix
}

// specialV4 and specialV6 are the ranges nobody outside the network they
// belong to can own: RFC 6890 special-purpose blocks that are never
// routed on the internet.
var (
	specialV4 = []string{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4"}
	specialV6 = []string{"::/128", "::1/128", "::ffff:0:0/96", "64:ff9b:1::/48", "100::/64", "fc00::/7", "fe80::/10", "ff00::/8"}
)

// specialPrefix returns the special-purpose range p overlaps, if any.
func specialPrefix(p netip.Prefix) (string, bool) {
	list := specialV4
	if p.Addr().Is6() {
		list = specialV6
	}
	for _, s := range list {
		sp := netip.MustParsePrefix(s)
		if sp.Overlaps(p) {
			return s, true
		}
	}
	return "", false
}

// specialName reports names that resolve only inside one network.
func specialName(n string) bool {
	if !strings.Contains(n, ".") {
		return true // "localhost", "intranet": a search-domain name
	}
	for _, s := range []string{"localhost", "local", "internal", "localdomain", "home.arpa", "lan", "intranet", "corp"} {
		if n == s || strings.HasSuffix(n, "."+s) {
			return true
		}
	}
	return false
}

// Check reports why an asset below the national level may not be claimed:
// ErrRefused (never, for anyone but the national level) or
// ErrNeedsNational (only the national level may register it). a must be
// prepared (see Asset.Prepare).
//
//   - A name that is a public suffix ("vn", "gov.vn", "com.vn", "co.uk",
//     "github.io") is refused, whatever the deployment: a registry zone
//     belongs to no organization. So is a URL on such a host.
//   - Special-purpose addresses and networks (private, loopback,
//     link-local, multicast, unspecified, shared, benchmarking) and names
//     such as localhost or *.internal are refused unless l.Internal.
//   - A network wider than l's prefix limits needs the national level.
func (l Limits) Check(a Asset) error {
	switch a.Kind {
	case KindDomain, KindHostname, KindMailDomain:
		return l.checkName(a.Value)
	case KindIPv4, KindIPv6:
		ad, err := netip.ParseAddr(a.Value)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return l.checkPrefix(netip.PrefixFrom(ad, ad.BitLen()))
	case KindCIDR:
		p, err := netip.ParsePrefix(a.Value)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRefused, err)
		}
		if err := l.checkPrefix(p); err != nil {
			return err
		}
		limit := l.v4()
		if p.Addr().Is6() {
			limit = l.v6()
		}
		if p.Bits() < limit {
			return fmt.Errorf("%w: %s is wider than /%d; ask the national level to register it", ErrNeedsNational, a.Value, limit)
		}
		return nil
	case KindURL:
		host := urlHost(a.Value, urlPathStart(a.Value))
		if ad, ok := hostAddr(host); ok {
			return l.checkPrefix(netip.PrefixFrom(ad, ad.BitLen()))
		}
		return l.checkName(host)
	case KindASN:
		return nil
	}
	return fmt.Errorf("%w: kind %q", ErrRefused, a.Kind)
}

func (l Limits) checkName(n string) error {
	// A one-label name is a search-domain name inside a network (the PSL's
	// implicit "*" rule would call it a TLD).
	if strings.Contains(n, ".") && PublicSuffixes().IsPublicSuffix(n) {
		return fmt.Errorf("%w: %s is a public suffix (a registry's zone, like gov.vn or com.vn); register your own domain under it", ErrRefused, n)
	}
	if !l.Internal && specialName(n) {
		return fmt.Errorf("%w: %s resolves only inside a private network", ErrRefused, n)
	}
	return nil
}

func (l Limits) checkPrefix(p netip.Prefix) error {
	if l.Internal {
		return nil
	}
	if s, ok := specialPrefix(p); ok {
		return fmt.Errorf("%w: %s is in the special-purpose range %s (private, loopback, link-local, multicast or reserved)", ErrRefused, p.Masked(), s)
	}
	return nil
}

// NationalOnly reports whether only the national level may approve a claim
// of kind k: an IP network or an AS number is allocated by a regional
// internet registry, which an approver checks against the allocation
// (the claim's evidence), not against a parent's knowledge.
func NationalOnly(k Kind) bool { return k == KindCIDR || k == KindASN }

// Approver is who decides on a claim, as far as the claim rules care.
type Approver struct {
	National bool   // a platform administrator (or the platform itself)
	AdminOf  string // the organization path an org-admin administers; "" if none
}

// MayApprove reports whether ap may approve (or reject) a claim of kind k
// by the organization at claimPath. conflictPaths are the organizations
// whose verified assets the claim overlaps; a conflict is settled only by
// an admin of their lowest common ancestor with the claimant, or above.
//
//   - The national level decides every claim.
//   - An org-admin decides claims of organizations strictly below their
//     own (never their own: nobody approves their own claim), except
//     networks and AS numbers (NationalOnly).
func MayApprove(ap Approver, k Kind, claimPath string, conflictPaths []string) error {
	if ap.National {
		return nil
	}
	if ap.AdminOf == "" || ap.AdminOf == claimPath || !strings.HasPrefix(claimPath, ap.AdminOf) {
		return fmt.Errorf("%w: an admin of a parent organization or the national level decides it", ErrNotApprover)
	}
	if NationalOnly(k) {
		return fmt.Errorf("%w: a %s is approved by the national level", ErrNeedsNational, k)
	}
	for _, c := range conflictPaths {
		lca := CommonAncestor(claimPath, c)
		if lca == "" || !strings.HasPrefix(lca, ap.AdminOf) {
			return fmt.Errorf("%w: the claim overlaps an asset of another organization; an admin of their common parent decides", ErrOverlap)
		}
	}
	return nil
}

// CommonAncestor returns the path of the lowest organization that both
// paths ("/1/7/42/") are in, or "" when they share no root.
func CommonAncestor(a, b string) string {
	n := 0
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		if a[i] == '/' {
			n = i + 1
		}
	}
	if n <= 1 {
		return ""
	}
	return a[:n]
}

// NewVerifyToken returns a fresh random token for a claim's proofs.
func NewVerifyToken() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ValidToken reports whether t has the form NewVerifyToken returns.
func ValidToken(t string) bool {
	if len(t) != 32 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if !('0' <= t[i] && t[i] <= '9' || 'a' <= t[i] && t[i] <= 'f') {
			return false
		}
	}
	return true
}

// The published proofs. The DNS proof is a TXT record on a dedicated
// underscore name, so it works for a name that is a CNAME and never
// clutters the zone's apex:
//
//	_rampart-verify.portal.example.gov.vn. 300 IN TXT "rampart-verify=<token>"
//
// The web proof is a file at /.well-known/rampart-verify/<token> on the
// host, over HTTP or HTTPS, whose content is the token (or
// "rampart-verify=<token>").
const (
	TXTLabel      = "_rampart-verify"
	TXTPrefix     = "rampart-verify="
	WellKnownPath = "/.well-known/rampart-verify/"
)

// Proof says how a claim of one asset can be proven automatically.
type Proof struct {
	DNSName string   // where the TXT record goes; "" when DNS cannot prove it
	TXT     string   // the record's text
	URLs    []string // where the file may be served; empty when a web server cannot prove it
	Body    string   // the file's content
}

// ProofFor returns how a (prepared, with its token) can be proven. A
// domain or mail domain covers every name under it, so only its zone's
// owner proves it, with DNS; a hostname or URL by DNS or by its web
// server; an address by its web server. Networks and AS numbers cannot
// prove themselves: they are approved (NationalOnly).
func ProofFor(a Asset) Proof {
	pr := Proof{TXT: TXTPrefix + a.VerifyToken, Body: a.VerifyToken}
	path := WellKnownPath + a.VerifyToken
	switch a.Kind {
	case KindDomain, KindMailDomain:
		pr.DNSName = TXTLabel + "." + a.Value
	case KindHostname:
		pr.DNSName = TXTLabel + "." + a.Value
		pr.URLs = []string{"https://" + a.Value + path, "http://" + a.Value + path}
	case KindIPv4:
		pr.URLs = []string{"https://" + a.Value + path, "http://" + a.Value + path}
	case KindIPv6:
		pr.URLs = []string{"https://[" + a.Value + "]" + path, "http://[" + a.Value + "]" + path}
	case KindURL:
		root := urlPathStart(a.Value)
		host := urlHost(a.Value, root)
		if _, ok := hostAddr(host); !ok {
			pr.DNSName = TXTLabel + "." + host
		}
		pr.URLs = []string{a.Value[:root] + path} // the URL's own origin, port included
	}
	return pr
}

// Claim is the request behind a claimed asset: who asked, with what
// evidence (for a network or an AS number, the registry's allocation), and
// what the last automatic check found.
type Claim struct {
	AssetID     int64      `json:"asset_id"`
	RequestedBy string     `json:"requested_by"`
	RequestedAt time.Time  `json:"requested_at"`
	Evidence    string     `json:"evidence,omitempty"`
	CheckedAt   *time.Time `json:"checked_at,omitempty"`
	CheckResult string     `json:"check_result,omitempty"` // why the last proof failed
	Reason      string     `json:"reason,omitempty"`       // the approver's reason for a rejection
}

// MaxEvidence bounds a claim's evidence text.
const MaxEvidence = 4000
