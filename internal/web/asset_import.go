package web

import (
	"io"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// assetImport imports an uploaded CSV (or JSON) file of assets: all rows
// or none, and importing the same file again changes nothing.
func (s *Server) assetImport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	done, err := s.Imports.Enter(c.p().OrgID)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		return &uiError{status: http.StatusTooManyRequests, key: "error.importbusy", cause: err}
	}
	defer done()
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return &uiError{status: http.StatusBadRequest, key: "error.nofile", cause: err}
	}
	defer file.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(file, head)
	format := transfer.Sniff(hdr.Header.Get("Content-Type")+" "+hdr.Filename, head[:n])
	if format == "" {
		format = transfer.CSV
	}
	rows, err := transfer.ReadAssetsMax(io.MultiReader(strings.NewReader(string(head[:n])), file), format, strings.TrimSpace(r.PostFormValue("org_code")),
		transfer.MaxRowsOnline)
	if err != nil {
		return err
	}
	sum, err := s.Claims.Import(r.Context(), c.p(), rows)
	if err != nil {
		return err
	}
	d := assetsData{Kinds: assetKinds, CanWrite: true, Summary: &sum}
	page, err := s.st.ListAssets(r.Context(), c.p(), store.AssetFilter{PageRequest: store.PageRequest{Limit: assetsPerPage}})
	if err != nil {
		return err
	}
	d.Rows = s.assetRows(r, c, page.Items)
	v := s.newView(r, c, "assets.title", "assets", d)
	v.Flash = "flash.imported"
	return s.render(w, http.StatusOK, "assets", v)
}
