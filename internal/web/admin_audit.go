package web

import (
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

type auditData struct {
	Entries           []store.AuditEntry
	ObjectType, Actor string
	Next, First       string
}

// auditPage shows the audit log of the subtree, newest changes as the
// store orders them, filtered by object type and actor.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	if !c.p().Can(auth.PermReadAudit) {
		return errForbidden
	}
	q := r.URL.Query()
	d := auditData{ObjectType: strings.TrimSpace(q.Get("object_type")), Actor: strings.TrimSpace(q.Get("actor"))}
	page, err := s.st.ListAudit(r.Context(), c.p(), store.AuditFilter{ObjectType: d.ObjectType, Actor: d.Actor,
		PageRequest: store.PageRequest{Limit: 50, After: q.Get("after")}})
	if err != nil {
		return err
	}
	d.Entries = page.Items
	if page.Next != "" {
		nq := cloneValues(q)
		nq.Set("after", page.Next)
		d.Next = nq.Encode()
	}
	if q.Get("after") != "" {
		fq := cloneValues(q)
		fq.Del("after")
		d.First = fq.Encode()
	}
	return s.page(w, r, c, "audit", "audit.title", "admin", d)
}
