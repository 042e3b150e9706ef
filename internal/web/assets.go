package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const assetsPerPage = 50

type assetRow struct {
	asset.Asset
	OrgName string
}

type assetsData struct {
	Kind, Q, Org string
	Kinds        []asset.Kind
	Rows         []assetRow
	Next, First  string
	CanWrite     bool
	Summary      *store.ImportSummary
}

var assetKinds = []asset.Kind{asset.KindDomain, asset.KindHostname, asset.KindIPv4, asset.KindIPv6, asset.KindCIDR,
	asset.KindASN, asset.KindURL, asset.KindMailDomain}

var criticalities = []asset.Criticality{asset.CriticalityNormal, asset.CriticalityImportant, asset.CriticalityCritical, asset.CriticalityNational}

// assetsList lists the assets the user sees, with filters, the add link
// and the CSV import form.
func (s *Server) assetsList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	q := r.URL.Query()
	d := assetsData{Kind: q.Get("kind"), Q: strings.TrimSpace(q.Get("q")), Org: q.Get("org"), Kinds: assetKinds,
		CanWrite: c.p().Can(auth.PermWriteAssets)}
	f := store.AssetFilter{Kind: asset.Kind(d.Kind), Query: d.Q, PageRequest: store.PageRequest{Limit: assetsPerPage, After: q.Get("after")}}
	if d.Org != "" {
		id, err := strconv.ParseInt(d.Org, 10, 64)
		if err != nil {
			return &uiError{status: http.StatusBadRequest, key: "error.invalid"}
		}
		f.OrgID, f.Subtree = id, true
	}
	page, err := s.st.ListAssets(r.Context(), c.p(), f)
	if err != nil {
		return err
	}
	d.Rows = s.assetRows(r, c, page.Items)
	if page.Next != "" {
		nq := cloneValues(q)
		nq.Set("after", page.Next)
		nq.Del("ok")
		d.Next = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		fq.Del("ok")
		d.First = fq.Encode()
	}
	return s.page(w, r, c, "assets", "assets.title", "assets", d)
}

func (s *Server) assetRows(r *http.Request, c *reqCtx, as []asset.Asset) []assetRow {
	names := map[int64]string{}
	out := make([]assetRow, 0, len(as))
	for _, a := range as {
		name, ok := names[a.OrgID]
		if !ok {
			if o, err := s.st.GetOrg(r.Context(), c.p(), a.OrgID); err == nil {
				name = c.lang.OrgName(o)
			}
			names[a.OrgID] = name
		}
		out = append(out, assetRow{Asset: a, OrgName: name})
	}
	return out
}
