package hub

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/jsonw"
)

// Early warning: each record is matched against the registry's verified
// assets (a claim nobody has proven yet learns nothing from the hub), and
// every hit is a finding for the asset's owner.

// maxHitsPerRecord bounds the assets one record warns: a /8 on a
// blocklist should not become a finding for every address of a ministry.
const maxHitsPerRecord = 256

// registry is one snapshot of the verified assets, for matching.
type registry struct {
	ix      *asset.Index
	version int64
	// nets are the address assets (ipv4, ipv6, cidr) sorted by first
	// address, so a network indicator finds the assets inside it.
	nets []netAsset
	// names are the name assets (domain, hostname, mail_domain) sorted
	// by their labels read from the right, so a domain indicator finds
	// the registered names under it.
	names []nameAsset
	// urls counts the url assets: without any, a URL is looked up by its
	// host alone, which does not allocate.
	urls int
}

type netAsset struct {
	p netip.Prefix
	e asset.Entry
}

type nameAsset struct {
	rev string // "vn.gov.moh"
	e   asset.Entry
}

// reverseName turns "a.b.c" into "c.b.a".
func reverseName(n string) string {
	labels := strings.Split(n, ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".")
}

// loadRegistry reads the verified assets.
func loadRegistry(ctx context.Context, st Store, version int64) (*registry, error) {
	b := asset.NewBuilder()
	r := &registry{version: version}
	err := st.EachAsset(ctx, auth.SystemPrincipal, func(a asset.Asset) error {
		if !a.Verified() {
			return nil
		}
		e := asset.Entry{AssetID: a.ID, OrgID: a.OrgID, Kind: a.Kind, Value: a.Value}
		if b.Add(e) != nil {
			return nil // a stored value that no longer parses covers nothing
		}
		switch a.Kind {
		case asset.KindIPv4, asset.KindIPv6, asset.KindCIDR:
			p, err := netip.ParsePrefix(a.Value)
			if err != nil {
				ad, aerr := netip.ParseAddr(a.Value)
				if aerr != nil {
					return nil
				}
				p = netip.PrefixFrom(ad, ad.BitLen())
			}
			r.nets = append(r.nets, netAsset{p: p.Masked(), e: e})
		case asset.KindDomain, asset.KindHostname, asset.KindMailDomain:
			r.names = append(r.names, nameAsset{rev: reverseName(a.Value), e: e})
		case asset.KindURL:
			r.urls++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("hub: read the registry: %w", err)
	}
	r.ix = b.Build()
	slices.SortFunc(r.nets, func(a, b netAsset) int {
		if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.p.Bits(), b.p.Bits())
	})
	slices.SortFunc(r.names, func(a, b nameAsset) int { return strings.Compare(a.rev, b.rev) })
	return r, nil
}

// hit is one asset a record warns about: the owner, what the finding
// names as its target and subject.
type hit struct {
	m       asset.Match
	target  string
	subject string
}

// match finds the assets a record is about.
func (r *registry) match(rec *intel.Record) []hit {
	switch rec.Kind {
	case intel.KindIPv4, intel.KindIPv6:
		a, err := netip.ParseAddr(rec.Value)
		if err != nil {
			return nil
		}
		if m, ok := r.ix.LookupAddr(a); ok {
			return []hit{{m: m, target: rec.Value}}
		}
	case intel.KindCIDR:
		return r.matchNet(rec.Value)
	case intel.KindDomain:
		return r.matchDomain(rec.Value)
	case intel.KindURL:
		host := intel.URLHost(rec.Value)
		if r.urls > 0 {
			if m, err := r.ix.Lookup(rec.Value); err == nil {
				return []hit{{m: m, target: host, subject: rec.Value}}
			}
		}
		if a, err := netip.ParseAddr(host); err == nil {
			if m, ok := r.ix.LookupAddr(a); ok {
				return []hit{{m: m, target: host, subject: rec.Value}}
			}
		} else if m, ok := r.ix.LookupName(host); ok {
			return []hit{{m: m, target: host, subject: rec.Value}}
		}
	case intel.KindEmail:
		at := strings.LastIndexByte(rec.Value, '@')
		if at < 0 {
			return nil
		}
		if m, ok := r.ix.LookupName(rec.Value[at+1:]); ok {
			return []hit{{m: m, target: rec.Value[at+1:], subject: rec.Value}}
		}
	case intel.KindASN:
		if m, err := r.ix.Lookup(rec.Value); err == nil {
			return []hit{{m: m, target: rec.Value}}
		}
	}
	return nil
}

// matchNet: the most specific asset holding the whole network; else every
// address asset inside it (a listed /22 that holds a member's /24).
func (r *registry) matchNet(v string) []hit {
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return nil
	}
	if m, err := r.ix.Lookup(v); err == nil {
		return []hit{{m: m, target: v}}
	}
	first := p.Masked().Addr()
	i, _ := slices.BinarySearchFunc(r.nets, first, func(n netAsset, a netip.Addr) int { return n.p.Addr().Compare(a) })
	var out []hit
	for ; i < len(r.nets) && p.Contains(r.nets[i].p.Addr()) && len(out) < maxHitsPerRecord; i++ {
		n := r.nets[i]
		if n.p.Bits() < p.Bits() {
			continue
		}
		out = append(out, hit{m: entryMatch(n.e), target: n.e.Value, subject: v})
	}
	return out
}

// matchDomain: the asset covering the name (itself or a parent domain),
// and the registered names under it.
func (r *registry) matchDomain(v string) []hit {
	var out []hit
	if m, ok := r.ix.LookupName(v); ok {
		out = append(out, hit{m: m, target: v})
	}
	prefix := reverseName(v) + "."
	i, _ := slices.BinarySearchFunc(r.names, prefix, func(n nameAsset, s string) int { return strings.Compare(n.rev, s) })
	for ; i < len(r.names) && strings.HasPrefix(r.names[i].rev, prefix) && len(out) < maxHitsPerRecord; i++ {
		e := r.names[i].e
		if len(out) > 0 && out[0].m.AssetID == e.AssetID {
			continue
		}
		out = append(out, hit{m: entryMatch(e), target: e.Value, subject: v})
	}
	return out
}

func entryMatch(e asset.Entry) asset.Match {
	return asset.Match{AssetID: e.AssetID, OrgID: e.OrgID, Kind: e.Kind, Value: e.Value}
}

// severityOf is an early warning's severity: by kind, one step lower when
// the source has little confidence in it (below 30).
func severityOf(kind string, c intel.Category, confidence int) finding.Severity {
	s := finding.Medium
	switch kind {
	case intel.FindingCompromisedHost:
		s = finding.Critical
	case intel.FindingMaliciousContent, intel.FindingLeakedCredentials:
		s = finding.High
	case intel.FindingExposedService, intel.FindingBlocklisted:
		s = finding.Medium
	}
	if c == intel.CategorySpam || c == intel.CategoryScanner {
		s = finding.Medium
	}
	if confidence < 30 {
		switch s {
		case finding.Critical:
			s = finding.High
		case finding.High:
			s = finding.Medium
		case finding.Medium:
			s = finding.Low
		}
	}
	return s
}

// secretKey reports a detail key that may carry a secret: such a value
// never reaches a finding.
func secretKey(k string) bool {
	known := secretKeys.Load()
	if v, ok := (*known)[k]; ok {
		return v
	}
	secret := isSecretKey(k)
	secretMu.Lock()
	defer secretMu.Unlock()
	if known = secretKeys.Load(); len(*known) < maxSecretKeys {
		next := make(map[string]bool, len(*known)+1)
		maps.Copy(next, *known)
		next[k] = secret
		secretKeys.Store(&next)
	}
	return secret
}

// secretKeys remembers secretKey's answers: a report's rows have the same
// fields, asked about a million times. It is read without a lock and
// replaced by a copy with each new name (a report has a few dozen); a feed
// of ever new field names fills it no further than maxSecretKeys.
var (
	secretKeys    atomic.Pointer[map[string]bool]
	secretMu      sync.Mutex
	maxSecretKeys = 4096
)

func init() { secretKeys.Store(&map[string]bool{}) }

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"pass", "pwd", "secret", "credential", "token", "cookie"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// warning builds the finding of one hit.
func warning(rec *intel.Record, h hit) finding.Finding {
	kind := intel.FindingKind(rec.Category)
	target, subject := h.target, h.subject
	if kind == intel.FindingExposedService {
		// The service is the subject: one finding per open port.
		if port := rec.Detail["port"]; port != "" {
			target = joinHostPort(target, port)
		}
		subject = firstOf(rec.Detail["tag"], rec.Detail["service"], rec.Detail["protocol"], subject)
	}
	if kind == intel.FindingCompromisedHost && subject == "" {
		subject = firstOf(rec.Detail["infection"], infectionLabel(rec.Labels))
	}
	if kind == intel.FindingLeakedCredentials {
		subject = leakName(rec)
	}
	return finding.Finding{
		OrgID: h.m.OrgID, AssetID: h.m.AssetID, Check: kind, Severity: severityOf(kind, rec.Category, rec.Confidence),
		Target: target, Subject: cut(subject, 500), Title: title(kind, rec, target, subject), Evidence: evidence(rec, kind),
	}
}

func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + port
	}
	return host + ":" + port
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func infectionLabel(labels []string) string {
	for _, l := range labels {
		if name, ok := strings.CutPrefix(l, "malware:"); ok {
			return name
		}
	}
	return ""
}

// leakName is the leak a credentials record comes from: its own word, or
// the feed.
func leakName(rec *intel.Record) string {
	return firstOf(rec.Detail["leak"], rec.Detail["breach"], rec.Detail["source"], rec.Feed)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// title is the finding's one-line English title; the console shows the
// kind's bilingual title from the catalog beside it.
func title(kind string, rec *intel.Record, target, subject string) string {
	var what string
	switch kind {
	case intel.FindingCompromisedHost:
		what = "compromised host " + target
		if subject != "" {
			what += " (" + subject + ")"
		}
	case intel.FindingMaliciousContent:
		what = string(rec.Category) + " content on " + target
	case intel.FindingExposedService:
		what = "exposed service on " + target
		if subject != "" {
			what += " (" + subject + ")"
		}
	case intel.FindingLeakedCredentials:
		what = "accounts of " + target + " in leak " + subject
	default:
		what = target + " listed"
		if rec.Category != intel.CategoryBlocklist {
			what += " for " + string(rec.Category)
		}
	}
	return cut(what+", reported by "+rec.Feed, 300)
}

// evidence is what the owner reads: the feed, when, the value and what
// the row said. A leak shows the account names and the leak only, never
// the row (it may carry passwords); a TLP:RED record shows only that a
// restricted source named the asset.
func evidence(rec *intel.Record, kind string) json.RawMessage {
	ev := warningEvidence{Feed: rec.Feed, Seen: rec.LastSeen.UTC().Format(time.RFC3339), TLP: string(rec.TLP)}
	switch {
	case kind == intel.FindingLeakedCredentials:
		ev.Leak, ev.Accounts = leakName(rec), []string{rec.Value}
	case rec.TLP == intel.TLPRed:
		ev.Indicator = &evidenceValue{string(rec.Kind), rec.Value}
		ev.Note = "the source restricts its details (TLP:RED); ask the national CERT"
	default:
		ev.Indicator = &evidenceValue{string(rec.Kind), rec.Value}
		ev.Category, ev.Confidence, ev.ExternalID, ev.Labels = string(rec.Category), rec.Confidence, rec.ExternalID, rec.Labels
		if !rec.FirstSeen.IsZero() {
			ev.FirstSeen = rec.FirstSeen.UTC().Format(time.RFC3339)
		}
		// The row's own map is written, its keys sorted, rather than
		// copied: a report of a million owned rows built a million maps.
		var keys [24]string
		ev.detailKeys, ev.detailFrom = keys[:0], rec.Detail
		secret := false
		for k := range rec.Detail {
			if secretKey(k) {
				secret = true
				continue
			}
			ev.detailKeys = append(ev.detailKeys, k)
		}
		slices.Sort(ev.detailKeys)
		if !secret {
			ev.Raw = rec.Raw
		}
	}
	return ev.appendJSON(make([]byte, 0, 256+len(ev.Raw)*3))
}

// appendJSON appends ev as json.Marshal writes it (warn_json_test.go
// holds it to that), without reflecting over it and sorting a map per
// warning: a report of a million owned rows spent a tenth of its time
// there.
func (ev *warningEvidence) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = jsonw.AppendField(b, "feed", ev.Feed, true)
	b = jsonw.AppendField(b, "seen", ev.Seen, false)
	b = jsonw.AppendField(b, "tlp", ev.TLP, false)
	if ev.Indicator != nil {
		b = append(b, `,"indicator":{`...)
		b = jsonw.AppendField(b, "kind", ev.Indicator.Kind, true)
		b = jsonw.AppendField(b, "value", ev.Indicator.Value, false)
		b = append(b, '}')
	}
	b = jsonw.AppendOpt(b, `,"category":`, ev.Category)
	if ev.Confidence != 0 {
		b = jsonw.AppendInt(b, "confidence", int64(ev.Confidence))
	}
	b = jsonw.AppendOpt(b, `,"first_seen":`, ev.FirstSeen)
	b = jsonw.AppendOpt(b, `,"external_id":`, ev.ExternalID)
	if len(ev.Labels) > 0 {
		b = jsonw.AppendStrings(b, "labels", ev.Labels)
	}
	switch {
	case len(ev.detailKeys) > 0:
		b = append(b, `,"detail":{`...)
		for i, k := range ev.detailKeys {
			b = jsonw.AppendField(b, k, cut(ev.detailFrom[k], 512), i == 0)
		}
		b = append(b, '}')
	case ev.detailKeys == nil && len(ev.Detail) > 0:
		keys := make([]string, 0, len(ev.Detail))
		for k := range ev.Detail {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"detail":{`...)
		for i, k := range keys {
			b = jsonw.AppendField(b, k, ev.Detail[k], i == 0)
		}
		b = append(b, '}')
	}
	b = jsonw.AppendOpt(b, `,"raw":`, ev.Raw)
	b = jsonw.AppendOpt(b, `,"leak":`, ev.Leak)
	if len(ev.Accounts) > 0 {
		b = jsonw.AppendStrings(b, "accounts", ev.Accounts)
	}
	if ev.More != 0 {
		b = jsonw.AppendInt(b, "more_accounts", int64(ev.More))
	}
	b = jsonw.AppendOpt(b, `,"note":`, ev.Note)
	return append(b, '}')
}

// warningEvidence is an early warning's evidence as the owner reads it.
type warningEvidence struct {
	Feed       string            `json:"feed"`
	Seen       string            `json:"seen"`
	TLP        string            `json:"tlp"`
	Indicator  *evidenceValue    `json:"indicator,omitempty"`
	Category   string            `json:"category,omitempty"`
	Confidence int               `json:"confidence,omitempty"`
	FirstSeen  string            `json:"first_seen,omitempty"`
	ExternalID string            `json:"external_id,omitempty"`
	Labels     []string          `json:"labels,omitempty"`
	Detail     map[string]string `json:"detail,omitempty"`
	Raw        string            `json:"raw,omitempty"`
	Leak       string            `json:"leak,omitempty"`
	Accounts   []string          `json:"accounts,omitempty"`
	More       int               `json:"more_accounts,omitempty"`
	Note       string            `json:"note,omitempty"`
	// detailKeys, when not nil, are written as Detail instead of it:
	// these keys of detailFrom (sorted), each value cut to 512 bytes.
	detailKeys []string
	detailFrom map[string]string
}

type evidenceValue struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// leakKey groups the accounts of one leak on one owned mail domain.
type leakKey struct {
	asset int64
	leak  string
}

// maxLeakAccounts bounds the account names one finding lists.
const maxLeakAccounts = 1000

// leaks gathers a run's leaked accounts, so each mail domain and leak is
// one finding listing its accounts.
type leaks struct {
	order []leakKey
	by    map[leakKey]*leakGroup
}

type leakGroup struct {
	f        finding.Finding
	rec      intel.Record
	accounts []string
	more     int
}

func (l *leaks) add(rec *intel.Record, h hit) {
	if l.by == nil {
		l.by = map[leakKey]*leakGroup{}
	}
	k := leakKey{h.m.AssetID, leakName(rec)}
	g := l.by[k]
	if g == nil {
		g = &leakGroup{f: warning(rec, h), rec: *rec}
		g.rec.Raw, g.rec.Detail = "", nil
		l.by[k] = g
		l.order = append(l.order, k)
	}
	if slices.Contains(g.accounts, rec.Value) {
		return
	}
	if len(g.accounts) < maxLeakAccounts {
		g.accounts = append(g.accounts, rec.Value)
	} else {
		g.more++
	}
	if rec.LastSeen.After(g.rec.LastSeen) {
		g.rec.LastSeen = rec.LastSeen
	}
}

// findings returns one finding per mail domain and leak.
func (l *leaks) findings() []finding.Finding {
	out := make([]finding.Finding, 0, len(l.order))
	for _, k := range l.order {
		g := l.by[k]
		slices.Sort(g.accounts)
		ev := warningEvidence{Feed: g.rec.Feed, Seen: g.rec.LastSeen.UTC().Format(time.RFC3339), TLP: string(g.rec.TLP),
			Leak: k.leak, Accounts: g.accounts, More: g.more}
		g.f.Evidence = ev.appendJSON(nil)
		g.f.Title = cut(strconv.Itoa(len(g.accounts)+g.more)+" accounts of "+g.f.Target+" in leak "+k.leak+", reported by "+g.rec.Feed, 300)
		out = append(out, g.f)
	}
	return out
}
