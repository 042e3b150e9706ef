package intelweb

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// TAXII is a taxii.Backend over the store. Create it with NewTAXII.
type TAXII struct {
	st Store
}

var _ taxii.Backend = (*TAXII)(nil)

// NewTAXII returns the store-backed TAXII backend.
func NewTAXII(st Store) *TAXII { return &TAXII{st: st} }

func nationalCollection(t intel.TLP) taxii.Collection {
	return taxii.Collection{ID: taxii.NationalCollectionID(t), Alias: "national-" + strings.ToLower(strings.ReplaceAll(string(t), "+", "-")),
		Title:       "National, up to TLP:" + string(t),
		Description: "Indicators of the national hub marked TLP:" + string(t) + " or less restricted that you may read.",
		CanRead:     true, MediaTypes: []string{taxii.MediaSTIX}}
}

func orgCollection(o org.Organization) taxii.Collection {
	name := o.NameEN
	if name == "" {
		name = o.Name
	}
	return taxii.Collection{ID: taxii.OrgCollectionID(o.ID), Alias: "org-" + strconv.FormatInt(o.ID, 10),
		Title:       name + " (" + o.Code + "): indicators that concern it",
		Description: "Indicators that hit the assets of " + name + " or that it reported seeing.",
		CanRead:     true, MediaTypes: []string{taxii.MediaSTIX}}
}

// Collections lists the national collections, then the organizations'
// that p may see (its own; every organization for the national level),
// by organization id.
func (b *TAXII) Collections(ctx context.Context, p auth.Principal) ([]taxii.Collection, error) {
	var out []taxii.Collection
	for _, t := range intel.TLPs {
		if taxii.MaySee(p, taxii.Scope{Ceiling: t}) {
			out = append(out, nationalCollection(t))
		}
	}
	orgs, err := b.orgsFor(ctx, p)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		out = append(out, orgCollection(o))
	}
	return out, nil
}

// orgsFor returns the organizations whose collection p may see.
func (b *TAXII) orgsFor(ctx context.Context, p auth.Principal) ([]org.Organization, error) {
	if !p.Can(auth.PermReadFeeds) && !p.System {
		return nil, nil
	}
	if !p.SeesAll() {
		if p.OrgID == 0 || !taxii.MaySee(p, taxii.Scope{OrgID: p.OrgID}) {
			return nil, nil
		}
		o, err := b.st.GetOrg(ctx, sys, p.OrgID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("intelweb: organization %d: %w", p.OrgID, err)
		}
		return []org.Organization{o}, nil
	}
	var out []org.Organization
	f := store.OrgFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		pg, err := b.st.ListOrgs(ctx, sys, f)
		if err != nil {
			return nil, fmt.Errorf("intelweb: organizations: %w", err)
		}
		out = append(out, pg.Items...)
		if pg.Next == "" {
			break
		}
		f.After = pg.Next
	}
	slices.SortFunc(out, func(a, c org.Organization) int { return cmp.Compare(a.ID, c.ID) })
	return out, nil
}

// scope finds the collection named id (its id or alias) that p may see.
func (b *TAXII) scope(ctx context.Context, p auth.Principal, id string) (taxii.Scope, bool, error) {
	for _, t := range intel.TLPs {
		if c := nationalCollection(t); c.ID == id || c.Alias == id {
			s := taxii.Scope{Ceiling: t}
			return s, taxii.MaySee(p, s), nil
		}
	}
	if n, ok := strings.CutPrefix(id, "org-"); ok {
		oid, err := strconv.ParseInt(n, 10, 64)
		if err != nil || oid <= 0 {
			return taxii.Scope{}, false, nil
		}
		id = taxii.OrgCollectionID(oid)
	}
	orgs, err := b.orgsFor(ctx, p)
	if err != nil {
		return taxii.Scope{}, false, err
	}
	for _, o := range orgs {
		if taxii.OrgCollectionID(o.ID) == id {
			return taxii.Scope{OrgID: o.ID}, true, nil
		}
	}
	return taxii.Scope{}, false, nil
}

// Objects pages through the indicators of a collection that p may read.
func (b *TAXII) Objects(ctx context.Context, p auth.Principal, collectionID string, q taxii.Query) (taxii.Page, error) {
	s, ok, err := b.scope(ctx, p, collectionID)
	if err != nil {
		return taxii.Page{}, err
	}
	if !ok {
		return taxii.Page{}, taxii.ErrNotFound
	}
	if len(q.Types) > 0 && !slices.Contains(q.Types, "indicator") || len(q.SpecVersions) > 0 && !slices.Contains(q.SpecVersions, "2.1") {
		return taxii.Page{}, nil // the collections hold STIX 2.1 indicators only
	}
	// What concerns the reader's own organization decides AMBER+STRICT
	// in a national collection; an organization's collection is read
	// from the store's list of what concerns that organization. TLP:RED
	// goes by the recipients the store returns with each indicator.
	var mine map[int64]bool
	if s.National() && !p.SeesAll() && s.Ceiling.Rank() >= intel.TLPAmberStrict.Rank() {
		// Only AMBER+STRICT asks whether it concerns the reader.
		if mine, err = concerning(ctx, b.st, store.ConcernFilter{OrgID: p.OrgID, TLP: intel.TLPAmberStrict}); err != nil {
			return taxii.Page{}, err
		}
	}
	audience := func(in *intel.Indicator) taxii.Audience {
		a := taxii.Audience{TLP: in.TLP, People: in.Recipients.Users, RecipientOrgs: in.Recipients.Orgs}
		switch {
		case !s.National():
			a.Orgs = []int64{s.OrgID}
		case mine[in.ID]:
			a.Orgs = []int64{p.OrgID}
		}
		return a
	}
	limit := max(q.Limit, 1)
	var objs []taxii.Object
	keep := func(si store.StoredIndicator) error {
		if si.Seq <= q.After.Seq {
			return nil
		}
		a := audience(&si.Indicator)
		if !s.Holds(a) || !taxii.MayRead(p, a) {
			return nil
		}
		o, err := object(si)
		if err != nil {
			return nil // a value STIX cannot express is not served
		}
		if !q.AddedAfter.IsZero() && !o.DateAdded.After(q.AddedAfter) || len(q.IDs) > 0 && !slices.Contains(q.IDs, o.ID) {
			return nil
		}
		if len(q.Versions.At) > 0 && !q.Versions.All && !q.Versions.First && !q.Versions.Last && !slices.ContainsFunc(q.Versions.At, o.Version.Equal) {
			return nil
		}
		if q.NoBodies {
			o.Body = nil
		}
		objs = append(objs, o)
		if len(objs) > limit {
			return errEnough
		}
		return nil
	}
	if s.National() {
		f := store.IndicatorFilter{MaxTLP: s.Ceiling, AfterSeq: q.After.Seq, ChangedSince: q.AddedAfter}
		err = b.st.EachIndicator(ctx, sys, f, keep)
	} else {
		// A page asks the store for one more than it serves (to know
		// whether more follow): one query when nothing is filtered out.
		f := store.ConcernFilter{OrgID: s.OrgID, AfterSeq: q.After.Seq, ChangedSince: q.AddedAfter, PageRequest: store.PageRequest{Limit: limit + 1}}
		err = eachConcerning(ctx, b.st, f, keep)
	}
	if err != nil && !errors.Is(err, errEnough) {
		return taxii.Page{}, fmt.Errorf("intelweb: collection %s: %w", collectionID, err)
	}
	pg := taxii.Page{Objects: objs}
	if len(objs) > limit {
		pg.Objects, pg.More = objs[:limit], true
		pg.Next = pg.Objects[limit-1].Position()
	}
	return pg, nil
}

// object is the TAXII object of a stored indicator: the hub's STIX
// export, added when it last changed, at its change stamp.
func object(si store.StoredIndicator) (taxii.Object, error) {
	in := si.Indicator
	in.Sources = nil
	body, err := stix.IndicatorObject(&in, stix.ExportOptions{Now: si.Created})
	if err != nil {
		return taxii.Object{}, err
	}
	version := in.LastSeen
	if version.Before(in.FirstSeen) {
		version = in.FirstSeen
	}
	return taxii.Object{ID: stix.IndicatorID(in.Kind, in.Value), Type: "indicator", SpecVersion: "2.1",
		Version: version.UTC().Truncate(time.Millisecond), DateAdded: si.Modified.UTC().Truncate(time.Microsecond), Seq: si.Seq, Body: body}, nil
}

// Authenticator returns a taxii.Authenticator over the platform's API
// tokens: the same tokens as the JSON API, unknown, expired and revoked
// ones refused.
func Authenticator(st TokenStore) taxii.Authenticator {
	return func(ctx context.Context, token string) (auth.Principal, error) {
		t, err := st.TokenForAuth(ctx, auth.HashToken(token))
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, auth.ErrTokenExpired) {
			return auth.Principal{}, taxii.ErrUnauthenticated
		}
		if err != nil {
			return auth.Principal{}, err
		}
		p, err := st.PrincipalForToken(ctx, t)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Principal{}, taxii.ErrUnauthenticated
		}
		return p, err
	}
}

// TokenStore resolves API tokens.
type TokenStore interface {
	TokenForAuth(ctx context.Context, hash string) (auth.Token, error)
	PrincipalForToken(ctx context.Context, t auth.Token) (auth.Principal, error)
}
