package transfer

import (
	"context"
	"io"
	"sort"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// Source is the part of a store an export reads.
type Source interface {
	ListOrgs(ctx context.Context, p auth.Principal, f store.OrgFilter) (store.Page[org.Organization], error)
	ListContacts(ctx context.Context, p auth.Principal, orgID int64) ([]org.Contact, error)
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
}

// AllOrgs lists every organization p sees, parents before children (so an
// export imports back in one pass).
func AllOrgs(ctx context.Context, src Source, p auth.Principal) ([]org.Organization, error) {
	var all []org.Organization
	f := store.OrgFilter{PageRequest: store.PageRequest{Limit: store.MaxLimit}}
	for {
		page, err := src.ListOrgs(ctx, p, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	sort.SliceStable(all, func(i, j int) bool {
		di, dj := strings.Count(all[i].Path, "/"), strings.Count(all[j].Path, "/")
		if di != dj {
			return di < dj
		}
		return all[i].ID < all[j].ID
	})
	return all, nil
}

func codeMap(orgs []org.Organization) func(int64) string {
	codes := make(map[int64]string, len(orgs))
	for _, o := range orgs {
		codes[o.ID] = o.Code
	}
	return func(id int64) string { return codes[id] }
}

// ExportOrgs writes every organization p sees (with contacts in JSON).
func ExportOrgs(ctx context.Context, src Source, p auth.Principal, w io.Writer, f Format) error {
	orgs, err := AllOrgs(ctx, src, p)
	if err != nil {
		return err
	}
	contacts := map[int64][]org.Contact{}
	if f == JSON {
		for _, o := range orgs {
			cs, err := src.ListContacts(ctx, p, o.ID)
			if err != nil {
				return err
			}
			contacts[o.ID] = cs
		}
	}
	return WriteOrgs(w, f, orgs, contacts, codeMap(orgs))
}

// ExportAssets writes every asset p sees; with root > 0 only those of that
// organization's subtree (store.ErrNotFound if p does not see root).
func ExportAssets(ctx context.Context, src Source, p auth.Principal, w io.Writer, f Format, root int64) error {
	orgs, err := AllOrgs(ctx, src, p)
	if err != nil {
		return err
	}
	var keep map[int64]bool
	if root != 0 {
		var rootPath string
		for _, o := range orgs {
			if o.ID == root {
				rootPath = o.Path
			}
		}
		if rootPath == "" {
			return store.ErrNotFound
		}
		keep = map[int64]bool{}
		for _, o := range orgs {
			if org.InSubtree(o.Path, rootPath) {
				keep[o.ID] = true
			}
		}
	}
	var assets []asset.Asset
	err = src.EachAsset(ctx, p, func(a asset.Asset) error {
		if keep == nil || keep[a.OrgID] {
			assets = append(assets, a)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return WriteAssets(w, f, assets, codeMap(orgs))
}
