package scan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// SweepReason is the reason of a sweep's scan job.
const SweepReason = "sweep"

// maxSweepAddrs bounds the addresses a swept name may lead to.
const maxSweepAddrs = 32

// SweepJob builds the scan job of a national analyst's explicit sweep of a
// discovered candidate that nobody has confirmed (discovery.Service.Sweep
// is the only caller): the one scan of something the registry does not
// hold. The candidate (kind and value: a host name, an address or a
// network) is not looked up in the scope guard, which does not know it;
// the analyst's decision, audited by the store, stands for it.
//
//   - The job is the covering asset's (cover: the verified domain the name
//     is under, the AS number the prefix came from): its results are that
//     asset's, as every result belongs to the asset its job was scheduled
//     for, and they reach the organization the candidate was proposed to.
//   - Its scope is the candidate alone: the name itself (not its
//     subdomains), or the address or network; for a name, the addresses
//     discovery resolved it to (addrs) join the organization's own as the
//     only ones it may lead to. Private and special-purpose addresses stay
//     refused unless the platform allows internal ones.
//   - The organization's exclusions hold, and so does its blackout window
//     (store.ErrConflict while it is in force); its opt-in to default
//     credential attempts does not: a sweep never tries passwords.
func (s *Scheduler) SweepJob(cover asset.Asset, kind asset.Kind, value string, addrs []string, pol store.ScanPolicy, by string, now time.Time) (store.ScanJob, error) {
	switch kind {
	case asset.KindHostname, asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
	default:
		return store.ScanJob{}, fmt.Errorf("%w: scan: a sweep scans a host name, an address or a network, not a %s", store.ErrInvalid, kind)
	}
	v, err := asset.Normalize(kind, value)
	if err != nil {
		return store.ScanJob{}, fmt.Errorf("%w: scan: sweep of %q: %w", store.ErrInvalid, value, err)
	}
	if InBlackout(pol.Blackouts, now) {
		return store.ScanJob{}, fmt.Errorf("%w: scan: the organization's scan blackout window is in force", store.ErrConflict)
	}
	p := s.cfg.Defaults
	p.AssetKind, p.AssetValue, p.Exclusions, p.VirtualHosts = kind, v, pol.Exclusions, nil
	// No default-password attempts on what no owner has confirmed, even
	// for an organization that opted in for its registered assets.
	p.Credentials = false
	if oa, ok := s.scope.(OrgAddrs); ok {
		p.AllowedAddrs = append(slices.Clip(p.AllowedAddrs), oa.OrgAddrs(cover.OrgID)...)
	}
	if kind == asset.KindHostname {
		n := 0
		for _, a := range addrs {
			if ad, err := netip.ParseAddr(a); err == nil && n < maxSweepAddrs {
				p.AllowedAddrs = append(p.AllowedAddrs, ad.Unmap().String())
				n++
			}
		}
	}
	if p.Ports == "" {
		p.Ports = s.cfg.Ports
	}
	if p.Checks == nil {
		p.Checks = s.cfg.Checks
	}
	params, err := json.Marshal(p)
	if err != nil {
		return store.ScanJob{}, err
	}
	h := sha256.Sum256([]byte(string(kind) + "\x00" + v))
	j := store.ScanJob{
		ID:          fmt.Sprintf("a%d-%s-%s-%s", cover.ID, SweepReason, hex.EncodeToString(h[:4]), now.UTC().Format("20060102T150405.000000000")),
		OrgID:       cover.OrgID,
		AssetID:     cover.ID,
		Type:        scanjob.JobPortscan,
		Region:      s.cfg.Region,
		Reason:      SweepReason,
		Target:      v,
		Params:      params,
		State:       store.JobQueued,
		RequestedBy: by,
		CreatedAt:   now.UTC(),
		Dispatch:    Dispatch,
	}
	if s.cfg.Router != nil {
		if places := s.cfg.Router.Place(cover, pol); len(places) > 0 {
			j.Region, j.WaitingReason = places[0].Region, places[0].Waiting
		}
	}
	return j, nil
}

// Wake wakes the outbox relay after jobs were stored by someone else than
// Queue (a sweep stores its job with its audit entry).
func (s *Scheduler) Wake() {
	if s.cfg.Wake != nil {
		s.cfg.Wake()
	}
}
