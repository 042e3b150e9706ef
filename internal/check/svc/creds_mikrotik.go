package svc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/rampart-cert/rampart/internal/check"
)

// MikroTik RouterOS: version 7 answers a REST API under /rest (HTTPS, and
// HTTP since 7.9) with HTTP Basic authentication, and its manual gives
// the default login as admin with no password. The router is told first
// by its web page (webfig's "RouterOS router configuration page"); then
// /rest/system/resource without credentials must answer 401 before the
// default is tried. RouterOS 6 has webfig but no /rest: its login is
// webfig's own encrypted session, and nothing is reported rather than
// guessed.

const mikrotikResource = "/rest/system/resource"

// isRouterOSPage tells webfig's landing page.
func isRouterOSPage(status int, body []byte) bool {
	if status != http.StatusOK {
		return false
	}
	b := bytes.ToLower(body)
	return bytes.Contains(b, []byte("routeros router configuration page")) ||
		(bytes.Contains(b, []byte("/webfig/")) && bytes.Contains(b, []byte("mikrotik")))
}

// routerOSResource reads /rest/system/resource's answer: an object (or a
// list of one, as the manual's example prints it) with the version.
func routerOSResource(body []byte) (version, board string, ok bool) {
	var res struct {
		Version  string `json:"version"`
		Board    string `json:"board-name"`
		Platform string `json:"platform"`
	}
	if json.Unmarshal(body, &res) != nil {
		var list []json.RawMessage
		if json.Unmarshal(body, &list) != nil || len(list) != 1 || json.Unmarshal(list[0], &res) != nil {
			return "", "", false
		}
	}
	return res.Version, res.Board, res.Version != ""
}

// webMikroTik tries RouterOS v7's REST API with the shipped default.
func webMikroTik(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	status, _, body, err := w.send(ctx, http.MethodGet, "/", nil, nil)
	if err != nil || !isRouterOSPage(status, body) {
		return nil, err
	}
	status, _, _, err = w.send(ctx, http.MethodGet, mikrotikResource, nil, nil)
	if err != nil || status != http.StatusUnauthorized {
		return nil, err // RouterOS 6 (no /rest), or REST not served here
	}
	for _, cred := range credentialsFor("mikrotik-routeros") {
		req, _ := http.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth(cred.User, cred.Password)
		status, h, body, err := w.send(ctx, http.MethodGet, mikrotikResource, http.Header{"Authorization": req.Header["Authorization"]}, nil)
		if err != nil {
			return nil, err
		}
		if version, board, ok := routerOSResource(body); status == http.StatusOK && ok {
			r := credResult(m, t, "mikrotik-routeros", cred.User, passwordKind(cred.Password), check.Evidence{
				Request:  "GET " + mikrotikResource + " with Basic authentication as " + cred.User,
				Response: "200 with the router's resource record instead of 401",
				Fields:   map[string]string{"product": "MikroTik RouterOS", "version": printable([]byte(version)), "board": printable([]byte(board))}})
			return &r, nil
		}
		if status != http.StatusUnauthorized || deviceLocked(status, h, body) {
			return nil, nil
		}
	}
	return nil, nil
}
