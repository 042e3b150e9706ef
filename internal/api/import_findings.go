package api

import (
	"net/http"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/imports"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// importFindings imports one file of a third-party tool through the
// findings service: each result on the organization owning its host, as
// the caller sees the registry.
func (s *Server) importFindings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	tool, err := imports.ParseTool(r.URL.Query().Get("tool"))
	if err != nil {
		return errf(CodeBadRequest, err.Error())
	}
	done, err := s.enterImport(w, p)
	if err != nil {
		return err
	}
	defer done()
	rep, err := s.Findings.Import(r.Context(), p, findings.ImportRequest{Tool: tool, Input: http.MaxBytesReader(w, r.Body, maxImportBody),
		Limits: imports.Limits{MaxBytes: maxImportBody, MaxResults: transfer.MaxRowsOnline}})
	if err != nil {
		return err
	}
	writeJSON(w, 200, rep)
	return nil
}
