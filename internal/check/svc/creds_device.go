package svc

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
)

// Router and camera web logins: a device that asks for HTTP Basic or
// Digest authentication in a realm (or from a server) that names its
// family gets at most three of that family's documented factory defaults
// (credentials.txt), on the page that asked. Success is a 200 with the
// device's page instead of the 401; a lockout banner, a 403 or a 429 ends
// the attempts at once.
//
// Only families whose factory defaults the vendor documents and whose
// login is Basic or Digest are here. MikroTik's webfig and the ZTE and
// Huawei ONT pages log in through their own scripted forms (webfig's
// encrypted session, the ONTs' token forms), not HTTP authentication, and
// are left out rather than guessed at; RouterOS v7's REST API, which does
// take Basic, is creds_mikrotik.go's.

// deviceFamily is one family of devices and where it asks for a login.
type deviceFamily struct {
	service string // credentials.txt service, also the result's subject
	product string // for the evidence
	path    string // the page that asks for a login
	// is tells the family by the lower-cased realm and Server header.
	is func(realm, server string) bool
	// page tells the device's page after the login (nil: any 200 that is
	// no login form).
	page func(body []byte) bool
}

var deviceFamilies = []deviceFamily{
	{service: "tplink-router", product: "TP-Link router", path: "/",
		is: func(realm, _ string) bool { return strings.Contains(realm, "tp-link") }},
	{service: "dlink-router", product: "D-Link router or camera", path: "/",
		is: func(realm, _ string) bool {
			if strings.Contains(realm, "d-link") {
				return true
			}
			for _, p := range []string{"dir-", "dsl-", "dcs-", "dwr-", "di-"} {
				if strings.HasPrefix(realm, p) {
					return true
				}
			}
			return false
		}},
	{service: "netgear-router", product: "Netgear router", path: "/",
		is: func(realm, _ string) bool { return strings.Contains(realm, "netgear") }},
	{service: "hikvision-camera", product: "Hikvision camera or recorder (ISAPI)", path: "/ISAPI/Security/userCheck",
		is: func(realm, server string) bool {
			for _, s := range []string{"hikvision-webs", "app-webs", "dnvrs-webs", "davinci"} {
				if strings.Contains(server, s) {
					return true
				}
			}
			return strings.Contains(realm, "hikvision") || strings.HasPrefix(realm, "ds-")
		},
		page: func(b []byte) bool { return bytes.Contains(b, []byte("<statusValue>200</statusValue>")) }},
	{service: "dahua-camera", product: "Dahua camera or recorder", path: "/cgi-bin/magicBox.cgi?action=getSystemInfo",
		is:   func(realm, _ string) bool { return strings.HasPrefix(realm, "login to ") },
		page: func(b []byte) bool { return bytes.Contains(b, []byte("deviceType=")) }},
	{service: "axis-camera", product: "Axis network camera", path: "/axis-cgi/param.cgi?action=list&group=Brand",
		is:   func(realm, _ string) bool { return strings.HasPrefix(realm, "axis_") },
		page: func(b []byte) bool { return bytes.Contains(b, []byte("Brand.Brand=")) }},
}

// deviceLocked tells a lockout or rate-limit answer: no more attempts.
func deviceLocked(status int, h http.Header, body []byte) bool {
	if status == http.StatusForbidden || status == http.StatusTooManyRequests {
		return true
	}
	text := strings.ToLower(string(body[:min(len(body), 8<<10)]) + " " + h.Get("WWW-Authenticate"))
	for _, s := range []string{"lock", "too many", "try again later", "exceeded"} {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// isLoginForm tells a page that still asks for a password.
func isLoginForm(body []byte) bool {
	b := bytes.ToLower(body)
	return bytes.Contains(b, []byte(`type="password"`)) || bytes.Contains(b, []byte(`type=password`)) || bytes.Contains(b, []byte(`type='password'`))
}

// webDevice finds the family of a device that asks for HTTP
// authentication and tries that family's defaults.
func webDevice(ctx context.Context, w *webClient, t check.Target, m check.Meta) (*check.Result, error) {
	seen := map[string]bool{}
	for _, fam := range deviceFamilies {
		if seen[fam.path] {
			continue
		}
		seen[fam.path] = true
		status, h, body, err := w.send(ctx, http.MethodGet, fam.path, nil, nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusUnauthorized || deviceLocked(status, h, body) {
			continue
		}
		chs := ParseChallenges(h.Values("WWW-Authenticate"))
		server := strings.ToLower(h.Get("Server"))
		for _, f := range deviceFamilies {
			if f.path != fam.path {
				continue
			}
			for _, ch := range chs {
				if (ch.Scheme == "basic" || ch.Scheme == "digest") && f.is(strings.ToLower(ch.Params["realm"]), server) {
					return tryDevice(ctx, w, t, m, f, chs)
				}
			}
		}
	}
	return nil, nil
}

// pickChallenge prefers Digest (the password does not cross the wire)
// over Basic.
func pickChallenge(chs []Challenge) (Challenge, bool) {
	var basic *Challenge
	for i, ch := range chs {
		switch ch.Scheme {
		case "digest":
			if _, err := digestAuthorization(ch, http.MethodGet, "/", "", "", "x"); err == nil {
				return ch, true
			}
		case "basic":
			if basic == nil {
				basic = &chs[i]
			}
		}
	}
	if basic != nil {
		return *basic, true
	}
	return Challenge{}, false
}

// tryDevice sends at most maxAttempts authenticated requests, one per
// default of fam, each answering the challenge the last 401 carried.
func tryDevice(ctx context.Context, w *webClient, t check.Target, m check.Meta, fam deviceFamily, chs []Challenge) (*check.Result, error) {
	for _, cred := range credentialsFor(fam.service) {
		ch, ok := pickChallenge(chs)
		if !ok {
			return nil, nil
		}
		hdr := http.Header{}
		scheme := "Basic"
		if ch.Scheme == "digest" {
			scheme = "Digest"
			a, err := digestAuthorization(ch, http.MethodGet, fam.path, cred.User, cred.Password, "")
			if err != nil {
				return nil, nil
			}
			hdr.Set("Authorization", a)
		} else {
			req, _ := http.NewRequest(http.MethodGet, "/", nil)
			req.SetBasicAuth(cred.User, cred.Password)
			hdr.Set("Authorization", req.Header.Get("Authorization"))
		}
		status, h, body, err := w.send(ctx, http.MethodGet, fam.path, hdr, nil)
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK && !isLoginForm(body) && (fam.page == nil || fam.page(body)) {
			r := credResult(m, t, fam.service, cred.User, passwordKind(cred.Password), check.Evidence{
				Request:  "GET " + fam.path + " with " + scheme + " authentication as " + cred.User,
				Response: "200 with the device's page instead of 401",
				Fields:   map[string]string{"product": fam.product, "realm": printable([]byte(ch.Params["realm"]))}})
			return &r, nil
		}
		if status != http.StatusUnauthorized || deviceLocked(status, h, body) {
			return nil, nil // locked, rate limited, or an answer we do not read: stop
		}
		chs = ParseChallenges(h.Values("WWW-Authenticate"))
	}
	return nil, nil
}
