package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

func testUsers(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)

	u := auth.User{Name: " Lan.Nguyen ", DisplayName: "Nguyễn Thị Lan", Email: "Lan@Example.VN", Role: auth.RoleOrgMember, OrgID: f.a1.ID, PasswordHash: "hash-1"}
	must(t, s.CreateUser(ctx, admin, &u), "create user")
	if u.ID == 0 || u.Name != "lan.nguyen" || u.CreatedAt.IsZero() {
		t.Fatalf("user not stored/normalized: %+v", u)
	}
	dup := auth.User{Name: "LAN.NGUYEN", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, admin, &dup), store.ErrConflict, "duplicate name")
	bad := auth.User{Name: "no org", Role: auth.RoleViewer, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, sys, &bad), store.ErrInvalid, "bad name")
	bad = auth.User{Name: "noorg", Role: auth.RoleViewer, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, sys, &bad), store.ErrInvalid, "org-bound role without org")
	bad = auth.User{Name: "norole", Role: "wizard", OrgID: f.a.ID, PasswordHash: "x"}
	wantErr(t, s.CreateUser(ctx, sys, &bad), store.ErrInvalid, "unknown role")
	analyst := auth.User{Name: "analyst", Role: auth.RoleAnalyst, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, sys, &analyst), "platform-wide user without org")

	got, err := s.GetUser(ctx, admin, u.ID)
	must(t, err, "get user")
	if got.Name != u.Name || got.DisplayName != u.DisplayName || got.OrgID != f.a1.ID || got.PasswordHash != "hash-1" {
		t.Fatalf("get user = %+v", got)
	}
	_, err = s.GetUser(ctx, admin, analyst.ID)
	wantErr(t, err, store.ErrNotFound, "org admin reads a platform-wide user")
	self, err := s.PrincipalForUser(ctx, u)
	must(t, err, "principal for user")
	if self.UserID != u.ID || self.Name != u.Name || self.Role != auth.RoleOrgMember || self.OrgID != f.a1.ID || self.OrgPath != f.a1.Path {
		t.Fatalf("principal = %+v", self)
	}
	pan, err := s.PrincipalForUser(ctx, analyst)
	must(t, err, "principal for analyst")
	if !pan.SeesAll() || pan.OrgPath != "" {
		t.Fatalf("analyst principal = %+v", pan)
	}
	_, err = s.GetUser(ctx, self, u.ID)
	must(t, err, "a user reads themselves")

	users := all(t, func(after string) (store.Page[auth.User], error) {
		return s.ListUsers(ctx, admin, store.PageRequest{After: after, Limit: 1})
	})
	if len(users) != 1 || users[0].ID != u.ID {
		t.Fatalf("admin of A lists %+v", users)
	}
	users = all(t, func(after string) (store.Page[auth.User], error) {
		return s.ListUsers(ctx, sys, store.PageRequest{After: after, Limit: 1})
	})
	if len(users) != 2 {
		t.Fatalf("system lists %d users, want 2", len(users))
	}

	// Passwords and TOTP: oneself always; others by a manager who may grant their role.
	must(t, s.SetPassword(ctx, self, u.ID, "hash-2"), "set own password")
	must(t, s.SetTOTPSecret(ctx, self, u.ID, "JBSWY3DPEHPK3PXP"), "set own totp")
	login, err := s.UserForLogin(ctx, "LAN.NGUYEN")
	must(t, err, "user for login")
	if login.PasswordHash != "hash-2" || login.TOTPSecret != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("login user = %+v", login)
	}
	must(t, s.SetPassword(ctx, admin, u.ID, "hash-3"), "admin resets password")
	wantErr(t, s.SetPassword(ctx, self, analyst.ID, "x"), store.ErrNotFound, "member resets analyst password")
	other := auth.User{Name: "other", Role: auth.RoleViewer, OrgID: f.a1.ID, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, admin, &other), "create other")
	wantErr(t, s.SetPassword(ctx, self, other.ID, "x"), store.ErrForbidden, "member resets a colleague's password")
	superior := auth.User{Name: "chief", Role: auth.RoleOrgAdmin, OrgID: f.a1.ID, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, admin, &superior), "create chief")
	wantErr(t, s.SetTOTPSecret(ctx, as(auth.RoleOrgMember, f.a), superior.ID, ""), store.ErrForbidden, "member clears an admin's totp")
	wantErr(t, s.SetPassword(ctx, sys, 999999, "x"), store.ErrNotFound, "unknown user")

	// Login lookups.
	_, err = s.UserForLogin(ctx, "nobody")
	wantErr(t, err, store.ErrNotFound, "unknown login")
	off := auth.User{Name: "disabled", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "x", Disabled: true}
	must(t, s.CreateUser(ctx, sys, &off), "create disabled user")
	_, err = s.UserForLogin(ctx, "disabled")
	wantErr(t, err, store.ErrNotFound, "disabled login")
	got, err = s.GetUser(ctx, sys, off.ID)
	must(t, err, "get disabled")
	if !got.Disabled {
		t.Fatal("disabled flag lost")
	}
}

func testTokens(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	u := auth.User{Name: "dev", Role: auth.RoleOrgMember, OrgID: f.a.ID, PasswordHash: "x"}
	must(t, s.CreateUser(ctx, admin, &u), "user")
	dev, err := s.PrincipalForUser(ctx, u)
	must(t, err, "principal")

	tok, secret, err := auth.IssueToken(admin, "ci", auth.RoleViewer, f.a1.ID, nil, time.Now())
	must(t, err, "issue token")
	if secret == "" {
		t.Fatal("no secret")
	}
	must(t, s.CreateToken(ctx, admin, &tok), "create token")
	if tok.ID == 0 || tok.CreatedAt.IsZero() || tok.CreatedBy != admin.Name {
		t.Fatalf("token = %+v", tok)
	}
	dupHash := auth.Token{Name: "dup", Role: auth.RoleViewer, OrgID: f.a.ID, Hash: tok.Hash}
	wantErr(t, s.CreateToken(ctx, admin, &dupHash), store.ErrConflict, "duplicate hash")
	noHash := auth.Token{Name: "nohash", Role: auth.RoleViewer, OrgID: f.a.ID}
	wantErr(t, s.CreateToken(ctx, admin, &noHash), store.ErrInvalid, "no hash")

	got, err := s.TokenForAuth(ctx, tok.Hash)
	must(t, err, "token for auth")
	if got.ID != tok.ID || got.Role != auth.RoleViewer || got.OrgID != f.a1.ID || got.LastUsedAt == nil || got.ExpiresAt == nil {
		t.Fatalf("token for auth = %+v", got)
	}
	first := *got.LastUsedAt
	got, err = s.TokenForAuth(ctx, tok.Hash)
	must(t, err, "token for auth again")
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) {
		t.Fatalf("last_used_at rewritten within a minute: %v then %v", first, got.LastUsedAt)
	}
	p, err := s.PrincipalForToken(ctx, got)
	must(t, err, "principal for token")
	if p.TokenID != tok.ID || p.Name != "token:ci" || p.Role != auth.RoleViewer || p.OrgPath != f.a1.Path || p.UserID != admin.UserID {
		t.Fatalf("token principal = %+v", p)
	}
	_, err = s.TokenForAuth(ctx, "no-such-hash")
	wantErr(t, err, store.ErrNotFound, "unknown token")

	past := time.Now().Add(-time.Hour)
	expired := auth.Token{Name: "old", Role: auth.RoleViewer, OrgID: f.a.ID, Hash: "expired-hash", ExpiresAt: &past}
	must(t, s.CreateToken(ctx, admin, &expired), "create expired token")
	_, err = s.TokenForAuth(ctx, expired.Hash)
	wantErr(t, err, auth.ErrTokenExpired, "expired token")

	// A user's own token: listed and revocable by that user.
	mineT := auth.Token{Name: "laptop", Role: auth.RoleOrgMember, OrgID: f.a.ID, UserID: u.ID, Hash: "dev-hash"}
	must(t, s.CreateToken(ctx, admin, &mineT), "token for dev")
	own, err := s.ListTokens(ctx, dev, store.PageRequest{})
	must(t, err, "dev lists own tokens")
	if len(own.Items) != 1 || own.Items[0].ID != mineT.ID || own.Items[0].Hash != "dev-hash" {
		t.Fatalf("dev's tokens: %+v", own.Items)
	}
	wantErr(t, s.RevokeToken(ctx, dev, tok.ID), store.ErrForbidden, "dev revokes someone else's token")
	must(t, s.RevokeToken(ctx, dev, mineT.ID), "dev revokes own token")
	_, err = s.TokenForAuth(ctx, mineT.Hash)
	wantErr(t, err, store.ErrNotFound, "revoked token")
	must(t, s.RevokeToken(ctx, dev, mineT.ID), "revoke twice")

	toks := all(t, func(after string) (store.Page[auth.Token], error) {
		return s.ListTokens(ctx, admin, store.PageRequest{After: after, Limit: 2})
	})
	if len(toks) != 3 {
		t.Fatalf("admin lists %d tokens, want 3", len(toks))
	}
	for _, x := range toks {
		if x.ID == mineT.ID && !x.Revoked {
			t.Fatal("revoked flag not listed")
		}
	}
	must(t, s.RevokeToken(ctx, admin, tok.ID), "admin revokes")
	_, err = s.TokenForAuth(ctx, tok.Hash)
	wantErr(t, err, store.ErrNotFound, "revoked by admin")
	wantErr(t, s.RevokeToken(ctx, admin, 999999), store.ErrNotFound, "revoke unknown")

	// A token of a disabled user does not authenticate.
	off := auth.User{Name: "gone", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "x", Disabled: true}
	must(t, s.CreateUser(ctx, sys, &off), "disabled user")
	offT := auth.Token{Name: "gone", Role: auth.RoleViewer, OrgID: f.a.ID, UserID: off.ID, Hash: "gone-hash"}
	must(t, s.CreateToken(ctx, sys, &offT), "token of disabled user")
	_, err = s.TokenForAuth(ctx, offT.Hash)
	wantErr(t, err, store.ErrNotFound, "token of a disabled user")
}

// testConcurrentWriters runs writers side by side; none may fail with a
// "database is locked" or serialization error.
func testConcurrentWriters(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	const writers, each = 8, 25
	tok := auth.Token{Name: "busy", Role: auth.RoleViewer, OrgID: f.a.ID, Hash: "busy-hash"}
	must(t, s.CreateToken(ctx, sys, &tok), "token")
	v0, _ := s.AssetsVersion(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*3)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := as(auth.RoleOrgMember, f.a)
			o := f.a1
			if w%2 == 1 {
				o = f.a11
			}
			for i := range each {
				a := asset.Asset{OrgID: o.ID, Kind: asset.KindHostname, Value: fmt.Sprintf("w%d-%d.example.vn", w, i)}
				if err := s.CreateAsset(ctx, p, &a); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
				if i%5 == 0 {
					a.Notes = "touched"
					if err := s.UpdateAsset(ctx, p, &a); err != nil {
						errs <- fmt.Errorf("writer %d update: %w", w, err)
					}
					if _, err := s.ListAssets(ctx, p, store.AssetFilter{PageRequest: store.PageRequest{Limit: 10}}); err != nil {
						errs <- fmt.Errorf("reader %d: %w", w, err)
					}
					if _, err := s.TokenForAuth(ctx, tok.Hash); err != nil {
						errs <- fmt.Errorf("auth %d: %w", w, err)
					}
				}
			}
			rows := importRows(20, o.Code)
			for i := range rows {
				rows[i].Asset.Value = fmt.Sprintf("imp%d-%d.example.vn", w, i)
			}
			if _, err := s.ImportAssets(ctx, p, rows); err != nil {
				errs <- fmt.Errorf("writer %d import: %w", w, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n := 0
	must(t, s.EachAsset(ctx, sys, func(asset.Asset) error { n++; return nil }), "count")
	if want := writers * (each + 20); n != want {
		t.Fatalf("%d assets after concurrent writes, want %d", n, want)
	}
	if v, _ := s.AssetsVersion(ctx); v-v0 < int64(writers*each) {
		t.Fatalf("AssetsVersion moved by %d for %d writes", v-v0, writers*each)
	}
}
