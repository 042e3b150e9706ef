package monitor

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// owned is one verified asset and its owner.
type owned struct {
	AssetID int64
	OrgID   int64
	Value   string
}

// view is the part of the registry the detectors use, built from the
// verified assets only: claims are nobody's yet.
type view struct {
	version int64
	// domains are the domain and mail-domain assets whose DNS and
	// registration are watched (a name registered by two organizations
	// appears once per asset).
	domains []owned
	// orgDomains lists, per organization, the registrable domains of its
	// domain, mail-domain and hostname assets (a mail server there is
	// the organization's own).
	orgDomains map[int64]map[string]bool
	// registered holds every registered name and the registrable domain
	// of each: a name here is the constituency's, never a look-alike.
	registered map[string]bool
	// prefixes maps registered networks (cidr assets) to their owner.
	prefixes *bart.Table[owned]
	// originASNs lists, per organization, the ASNs that may originate its
	// networks: its own asn assets and those of its ancestors (a unit's
	// addresses are often announced by its ministry's network).
	originASNs map[int64][]uint32
	// orgASNs lists each organization's own ASNs.
	orgASNs map[int64][]uint32
}

// registry returns the registry view, reloading it when the assets
// changed since the last load.
func (s *Service) registry(ctx context.Context) (*view, error) {
	ver, err := s.d.Registry.AssetsVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("monitor: registry version: %w", err)
	}
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if s.reg != nil && s.reg.version == ver {
		return s.reg, nil
	}
	v, err := s.loadView(ctx, ver)
	if err != nil {
		return nil, err
	}
	s.reg = v
	return v, nil
}

func (s *Service) loadView(ctx context.Context, ver int64) (*view, error) {
	v := &view{version: ver, orgDomains: map[int64]map[string]bool{}, registered: map[string]bool{},
		prefixes: new(bart.Table[owned]), originASNs: map[int64][]uint32{}, orgASNs: map[int64][]uint32{}}
	psl := asset.PublicSuffixes()
	orgs := map[int64]bool{}
	err := s.d.Registry.EachAsset(ctx, auth.SystemPrincipal, func(a asset.Asset) error {
		if !a.Verified() {
			return nil
		}
		orgs[a.OrgID] = true
		o := owned{AssetID: a.ID, OrgID: a.OrgID, Value: a.Value}
		switch a.Kind {
		case asset.KindDomain, asset.KindMailDomain, asset.KindHostname:
			if a.Kind != asset.KindHostname {
				v.domains = append(v.domains, o)
			}
			v.registered[a.Value] = true
			reg := psl.RegistrableDomain(a.Value)
			if reg == "" {
				reg = a.Value
			}
			if a.Kind != asset.KindHostname {
				// A hostname's registrable domain may be a provider's
				// (portal.example.cloudapp.net): it marks only itself.
				v.registered[reg] = true
			}
			if v.orgDomains[a.OrgID] == nil {
				v.orgDomains[a.OrgID] = map[string]bool{}
			}
			v.orgDomains[a.OrgID][reg] = true
		case asset.KindCIDR:
			if p, err := netip.ParsePrefix(a.Value); err == nil {
				if cur, ok := v.prefixes.Get(p); !ok || cur.AssetID > o.AssetID {
					v.prefixes.Insert(p, o) // the same network twice: the older asset keeps it
				}
			}
		case asset.KindASN:
			if n, err := strconv.ParseUint(strings.TrimPrefix(a.Value, "AS"), 10, 32); err == nil {
				v.orgASNs[a.OrgID] = append(v.orgASNs[a.OrgID], uint32(n))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("monitor: read the registry: %w", err)
	}
	// Origins: an organization's own ASNs and its ancestors'.
	for id := range orgs {
		o, err := s.d.Registry.GetOrg(ctx, auth.SystemPrincipal, id)
		if err != nil {
			return nil, fmt.Errorf("monitor: organization %d: %w", id, err)
		}
		var asns []uint32
		for _, anc := range org.PathIDs(o.Path) {
			asns = append(asns, v.orgASNs[anc]...)
		}
		if !slices.Contains(org.PathIDs(o.Path), id) {
			asns = append(asns, v.orgASNs[id]...)
		}
		slices.Sort(asns)
		v.originASNs[id] = slices.Compact(asns)
	}
	return v, nil
}

// ownerOf returns the owner of the most specific registered network that
// holds p (equal to it or less specific), if any.
func (v *view) ownerOf(p netip.Prefix) (netip.Prefix, owned, bool) {
	return v.prefixes.LookupPrefixLPM(p)
}

// registrableOf is name's registrable domain, or name when it has none.
func registrableOf(name string) string {
	if r := asset.PublicSuffixes().RegistrableDomain(name); r != "" {
		return r
	}
	return name
}
