package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestF15TOTPReEnrolmentNeedsProof: with TOTP on, a session alone cannot
// replace the authenticator: the password and a code of the current one
// are needed, the codes are used up, and other sessions end.
func TestF15TOTPReEnrolmentNeedsProof(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	u, err := w.st.UserForLogin(ctx, "sob")
	if err != nil {
		t.Fatal(err)
	}
	old := auth.NewTOTPSecret()
	if err := w.st.SetTOTPSecret(ctx, auth.SystemPrincipal, u.ID, old); err != nil {
		t.Fatal(err)
	}
	c := w.client()
	prev, _ := auth.TOTPCode(old, testNow.Add(-auth.TOTPPeriod))
	c.login("sob", prev)
	other := w.client()
	cur, _ := auth.TOTPCode(old, testNow)
	other.login("sob", cur)

	// The login codes are used up: the same code logs in no more.
	third := w.client()
	tok := third.csrf("/login")
	if resp, _ := third.post("/login", url.Values{"csrf": {tok}, "name": {"sob"}, "password": {testPassword}, "totp": {cur}}, w.ts.URL); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed login code: %d, want 401", resp.StatusCode)
	}
	w.srv.Throttle.Succeed("sob", "127.0.0.1")

	_, body := c.get("/account/totp")
	secret := regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`).FindStringSubmatch(body)[1]
	sig := regexp.MustCompile(`name="sig" value="([^"]+)"`).FindStringSubmatch(body)[1]
	tok = csrfRE.FindStringSubmatch(body)[1]
	newCode, _ := auth.TOTPCode(secret, testNow)
	form := func(extra url.Values) url.Values {
		v := url.Values{"csrf": {tok}, "secret": {secret}, "sig": {sig}, "code": {newCode}}
		for k, x := range extra {
			v[k] = x
		}
		return v
	}
	for name, extra := range map[string]url.Values{
		"no proof":       nil,
		"password only":  {"password": {testPassword}},
		"replayed code":  {"password": {testPassword}, "current": {cur}},
		"wrong password": {"password": {"not the password 1"}, "current": {cur}},
	} {
		if resp, _ := c.post("/account/totp", form(extra), w.ts.URL); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, resp.StatusCode)
		}
		// The test throttle locks a name and address after 3 failures;
		// each refusal is forgotten so the next case is judged on its own.
		w.srv.Throttle.Succeed("sob", "127.0.0.1")
	}
	if got, _ := w.st.UserForLogin(ctx, "sob"); got.TOTPSecret != old {
		t.Fatal("the authenticator was replaced without proof")
	}
	next, _ := auth.TOTPCode(old, testNow.Add(auth.TOTPPeriod))
	if resp, _ := c.post("/account/totp", form(url.Values{"password": {testPassword}, "current": {next}}), w.ts.URL); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with password and current code: %d, want 303", resp.StatusCode)
	}
	if got, _ := w.st.UserForLogin(ctx, "sob"); got.TOTPSecret != secret {
		t.Fatal("new secret not stored")
	}
	if code, _ := c.get("/account/totp"); code != http.StatusOK {
		t.Errorf("the session that changed TOTP: %d, want 200", code)
	}
	if code, _ := other.get("/account/totp"); code == http.StatusOK {
		t.Errorf("another session survived the TOTP change: %d", code)
	}
}

// TestF17ConsoleHidesDriverErrors: a conflict or invalid input whose cause
// is a database driver's message shows no detail; our own messages do.
func TestF17ConsoleHidesDriverErrors(t *testing.T) {
	driver := errors.New(`UNIQUE constraint failed: orgs.code (2067)`)
	if ue := classify(fmt.Errorf("sqlstore: create: %w: %w", store.ErrConflict, driver)); ue.detail {
		t.Errorf("driver text shown: %+v", ue)
	}
	if ue := classify(fmt.Errorf("sqlstore: delete: %w: organization 5 still has assets", store.ErrConflict)); !ue.detail {
		t.Errorf("our own conflict message hidden: %+v", ue)
	}
	if ue := classify(fmt.Errorf("sqlstore: x: %w: %w", store.ErrInvalid, driver)); ue.detail {
		t.Errorf("driver text shown for invalid input: %+v", ue)
	}
}
