package api

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

type importSummary = store.ImportSummary

// importFormat picks the format from ?format=, the Content-Type, or the
// first bytes of the body.
func importFormat(r *http.Request, br *bufio.Reader) (transfer.Format, error) {
	switch f := strings.ToLower(r.URL.Query().Get("format")); f {
	case "csv":
		return transfer.CSV, nil
	case "json":
		return transfer.JSON, nil
	case "":
	default:
		return "", errf(CodeBadRequest, "format must be csv or json")
	}
	head, _ := br.Peek(64)
	return transfer.Sniff(r.Header.Get("Content-Type"), head), nil
}

// enterImport admits one import of p's organization at a time, and a few
// on the whole server (security review F10); the caller defers done.
func (s *Server) enterImport(w http.ResponseWriter, p auth.Principal) (done func(), err error) {
	done, err = s.Imports.Enter(p.OrgID)
	if err != nil {
		w.Header().Set("Retry-After", "10")
	}
	return done, err
}

func (s *Server) importAssets(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermWriteAssets) {
		return errf(CodeForbidden, "your role may not import assets")
	}
	done, err := s.enterImport(w, p)
	if err != nil {
		return err
	}
	defer done()
	br := bufio.NewReader(http.MaxBytesReader(w, r.Body, maxImportBody))
	f, err := importFormat(r, br)
	if err != nil {
		return err
	}
	rows, err := transfer.ReadAssetsMax(br, f, strings.TrimSpace(r.URL.Query().Get("org_code")), transfer.MaxRowsOnline)
	if err != nil {
		return err
	}
	sum, err := s.Claims.Import(r.Context(), p, rows)
	if err != nil {
		return err
	}
	if sum.Created+sum.Updated > 0 {
		s.invalidate()
	}
	writeJSON(w, 200, sum)
	return nil
}

func (s *Server) importOrgs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermWriteOrgs) {
		return errf(CodeForbidden, "your role may not import organizations")
	}
	done, err := s.enterImport(w, p)
	if err != nil {
		return err
	}
	defer done()
	br := bufio.NewReader(http.MaxBytesReader(w, r.Body, maxImportBody))
	f, err := importFormat(r, br)
	if err != nil {
		return err
	}
	rows, err := transfer.ReadOrgsMax(br, f, transfer.MaxRowsOnline)
	if err != nil {
		return err
	}
	sum, err := s.Store.ImportOrgs(r.Context(), p, rows)
	if err != nil {
		return err
	}
	s.invalidate()
	writeJSON(w, 200, sum)
	return nil
}

func exportFormat(r *http.Request) (transfer.Format, string, error) {
	switch strings.ToLower(r.URL.Query().Get("format")) {
	case "", "csv":
		return transfer.CSV, "text/csv; charset=utf-8", nil
	case "json":
		return transfer.JSON, "application/json; charset=utf-8", nil
	}
	return "", "", errf(CodeBadRequest, "format must be csv or json")
}

func (s *Server) exportAssets(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, ct, err := exportFormat(r)
	if err != nil {
		return err
	}
	root, err := queryInt(r, "org_id")
	if err != nil {
		return err
	}
	// Render into memory first: an error must become a JSON error, not a
	// half-written file.
	var buf bytes.Buffer
	if err := transfer.ExportAssets(r.Context(), s.Store, p, &buf, f, root); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="assets.`+string(f)+`"`)
	_, err = buf.WriteTo(w)
	return err
}

func (s *Server) exportOrgs(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, ct, err := exportFormat(r)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := transfer.ExportOrgs(r.Context(), s.Store, p, &buf, f); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="orgs.`+string(f)+`"`)
	_, err = buf.WriteTo(w)
	return err
}
