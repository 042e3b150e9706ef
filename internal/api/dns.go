package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Protective DNS: members register the ranges their machines ask the
// resolvers from, and read the blocked queries of their own clients. The
// store keeps each caller to their subtree, so a member never sees
// another organization's client addresses.

// dnsClientNetworkRequest registers a client network.
type dnsClientNetworkRequest struct {
	OrgID  int64  `json:"org_id"`
	Prefix string `json:"prefix"` // a CIDR or an address, inside an address asset of the organization
	Note   string `json:"note,omitempty"`
}

// dnsRoutes are the protective DNS routes of the table.
func (s *Server) dnsRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/dns/client-networks", op: "listDNSClientNetworks", tag: "dns",
			summary: "Client networks of your subtree: the ranges members' machines ask the protective resolvers from, each inside an address asset of its organization",
			resp:    []store.DNSClientNetwork{}, status: 200, h: s.listDNSClientNetworks},
		{method: "POST", path: "/api/v1/dns/client-networks", op: "createDNSClientNetwork", tag: "dns",
			summary: "Register a client network of an organization you administer (assets:write); blocked queries from it become that organization's findings (longest prefix wins over its address assets)",
			body:    dnsClientNetworkRequest{}, resp: store.DNSClientNetwork{}, status: 201, h: s.createDNSClientNetwork},
		{method: "DELETE", path: "/api/v1/dns/client-networks/{id}", op: "deleteDNSClientNetwork", tag: "dns",
			summary: "Remove a client network", status: 204, h: s.deleteDNSClientNetwork},
		{method: "GET", path: "/api/v1/dns/blocked", op: "listDNSBlocked", tag: "dns",
			summary: "Blocked queries of your subtree's clients, last seen first: one row per organization, client address and name with its count",
			query: []param{{"org_id", "integer", "this organization only"}, {"client", "string", "this client address only"},
				{"since", "string", "last seen at or after (RFC 3339)"}, {"limit", "integer", "at most this many rows"}},
			resp: []store.DNSBlocked{}, status: 200, h: s.listDNSBlocked},
	}
}

func (s *Server) dnsStore() (store.DNS, error) {
	ds, ok := s.Store.(store.DNS)
	if !ok {
		return nil, errf(CodeUnavailable, "this server's store keeps no protective DNS state")
	}
	return ds, nil
}

func (s *Server) listDNSClientNetworks(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ds, err := s.dnsStore()
	if err != nil {
		return err
	}
	out, err := ds.ListDNSClientNetworks(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Server) createDNSClientNetwork(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ds, err := s.dnsStore()
	if err != nil {
		return err
	}
	var req dnsClientNetworkRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.OrgID <= 0 || strings.TrimSpace(req.Prefix) == "" {
		return errf(CodeBadRequest, "org_id and prefix are required")
	}
	n := store.DNSClientNetwork{OrgID: req.OrgID, Prefix: req.Prefix, Note: req.Note}
	if err := ds.CreateDNSClientNetwork(r.Context(), p, &n); err != nil {
		return err
	}
	writeJSON(w, 201, n)
	return nil
}

func (s *Server) deleteDNSClientNetwork(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ds, err := s.dnsStore()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := ds.DeleteDNSClientNetwork(r.Context(), p, id); err != nil {
		return err
	}
	return noContent(w)
}

func (s *Server) listDNSBlocked(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ds, err := s.dnsStore()
	if err != nil {
		return err
	}
	var f store.DNSBlockedFilter
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	f.Limit = int(min(max(limit, 0), int64(store.MaxLimit)))
	f.Client = strings.TrimSpace(r.URL.Query().Get("client"))
	if v := r.URL.Query().Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
			return errf(CodeBadRequest, "since must be an RFC 3339 time")
		}
	}
	out, err := ds.ListDNSBlocked(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, out)
	return nil
}
