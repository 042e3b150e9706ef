package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// token stores a token and returns it with its hash.
func (f *fixture) token(t *testing.T, name string, role auth.Role, orgID, userID int64) auth.Token {
	t.Helper()
	_, prefix, hash, _ := auth.NewToken()
	exp := time.Now().Add(time.Hour).UTC()
	tk := auth.Token{Name: name, Role: role, OrgID: orgID, UserID: userID, Hash: hash, Prefix: prefix, ExpiresAt: &exp}
	must(t, f.s.CreateToken(f.ctx, sys, &tk), "create token "+name)
	return tk
}

func (f *fixture) live(t *testing.T, tk auth.Token) bool {
	t.Helper()
	_, err := f.s.TokenForAuth(f.ctx, tk.Hash)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token %s: %v", tk.Name, err)
	}
	return err == nil
}

// testF13CredentialChanges: a password or TOTP change or reset revokes the
// user's sessions and API tokens (not the session making a change to its
// own user, nor machine tokens); peers of one organization cannot reset
// each other, the parent organization's administrators can.
func testF13CredentialChanges(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	u := auth.User{Name: "victim", Role: auth.RoleOrgAdmin, OrgID: f.a1.ID, PasswordHash: "h1"}
	must(t, s.CreateUser(ctx, sys, &u), "create victim")
	peer := auth.User{Name: "peer", Role: auth.RoleOrgAdmin, OrgID: f.a1.ID, PasswordHash: "h1"}
	must(t, s.CreateUser(ctx, sys, &peer), "create peer")
	sess1 := f.token(t, "session", auth.RoleOrgAdmin, f.a1.ID, u.ID)
	sess2 := f.token(t, "web-session", auth.RoleOrgAdmin, f.a1.ID, u.ID)
	api := f.token(t, "ci", auth.RoleOrgMember, f.a1.ID, u.ID)
	machine := f.token(t, "sensor", auth.RoleSensor, f.a1.ID, 0)
	peerSess := f.token(t, "session", auth.RoleOrgAdmin, f.a1.ID, peer.ID)

	peerP, err := s.PrincipalForToken(ctx, peerSess)
	must(t, err, "peer principal")
	wantErr(t, s.SetPassword(ctx, peerP, u.ID, "h2"), store.ErrForbidden, "peer org-admin resets a peer")
	wantErr(t, s.SetTOTPSecret(ctx, peerP, u.ID, ""), store.ErrForbidden, "peer org-admin clears a peer's TOTP")
	if !f.live(t, sess1) {
		t.Fatal("a refused reset revoked the session")
	}

	// Self-service change from sess1: sess1 stays, the rest of the user's go.
	self, err := s.PrincipalForToken(ctx, sess1)
	must(t, err, "self principal")
	must(t, s.SetPassword(ctx, self, u.ID, "h2"), "own password change")
	if !f.live(t, sess1) || f.live(t, sess2) || f.live(t, api) {
		t.Errorf("after own change: sess1 %v (want live), sess2 %v, api %v (want revoked)", f.live(t, sess1), f.live(t, sess2), f.live(t, api))
	}
	if !f.live(t, machine) || !f.live(t, peerSess) {
		t.Error("own change revoked a machine token or another user's session")
	}

	// A reset by the parent organization's administrator revokes everything.
	parentAdmin := as(auth.RoleOrgAdmin, f.a)
	must(t, s.SetPassword(ctx, parentAdmin, u.ID, "h3"), "parent admin resets the child's admin")
	if f.live(t, sess1) {
		t.Error("reset left the user's session live")
	}
	sess3 := f.token(t, "session", auth.RoleOrgAdmin, f.a1.ID, u.ID)
	must(t, s.SetTOTPSecret(ctx, parentAdmin, u.ID, "JBSWY3DPEHPK3PXP"), "parent admin sets TOTP")
	if f.live(t, sess3) {
		t.Error("TOTP reset left the user's session live")
	}
	if !f.live(t, machine) {
		t.Error("resets revoked a machine token")
	}
	// Lower roles in one's own organization stay resettable.
	member := auth.User{Name: "member", Role: auth.RoleOrgMember, OrgID: f.a1.ID, PasswordHash: "h1"}
	must(t, s.CreateUser(ctx, sys, &member), "create member")
	must(t, s.SetPassword(ctx, peerP, member.ID, "h2"), "org-admin resets a member")
}

// testF15TOTPSteps: each TOTP step is accepted once, in increasing order.
func testF15TOTPSteps(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	u := auth.User{Name: "totp.user", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "h"}
	must(t, s.CreateUser(ctx, sys, &u), "create user")
	must(t, s.AcceptTOTPStep(ctx, u.ID, 59_000_000), "first step")
	for _, step := range []uint64{59_000_000, 58_999_999} {
		if err := s.AcceptTOTPStep(ctx, u.ID, step); !errors.Is(err, auth.ErrTOTPReplay) {
			t.Errorf("step %d again: %v, want ErrTOTPReplay", step, err)
		}
	}
	must(t, s.AcceptTOTPStep(ctx, u.ID, 59_000_001), "next step")
	other := auth.User{Name: "totp.other", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "h"}
	must(t, s.CreateUser(ctx, sys, &other), "create other")
	must(t, s.AcceptTOTPStep(ctx, other.ID, 59_000_000), "steps are per user")
	_, err := s.UserForLogin(ctx, "nobody")
	if !errors.Is(err, auth.ErrNotFound) || !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown login: %v, want store and auth ErrNotFound", err)
	}
}

// testF16OrgIdentity: an organization's own administrator cannot change
// its code or kind; its parent's administrators can.
func testF16OrgIdentity(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	own := as(auth.RoleOrgAdmin, f.a1)
	o := f.a1
	o.Code = "QG-FAKE"
	wantErr(t, s.UpdateOrg(ctx, own, &o), store.ErrForbidden, "own admin changes the code")
	o = f.a1
	o.Kind = "national"
	wantErr(t, s.UpdateOrg(ctx, own, &o), store.ErrForbidden, "own admin changes the kind")
	o = f.a1
	o.Name = "Tên mới"
	must(t, s.UpdateOrg(ctx, own, &o), "own admin renames")
	child := f.a11
	child.Code = "A11-NEW"
	must(t, s.UpdateOrg(ctx, own, &child), "admin changes a child's code")
	o.Code, o.Kind = "A1-NEW", "unit"
	must(t, s.UpdateOrg(ctx, as(auth.RoleOrgAdmin, f.a), &o), "parent admin changes code and kind")
}

// testF17Conflicts: taken codes and names get one generic answer without
// driver text or where the other one lives.
func testF17Conflicts(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)
	dup := f.b1
	dup.ID, dup.ParentID, dup.Path = 0, f.a.ID, ""
	err := s.CreateOrg(ctx, admin, &dup)
	wantErr(t, err, store.ErrConflict, "code used in another subtree")
	if msg := strings.ToLower(err.Error()); strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate") ||
		strings.Contains(msg, "constraint") || strings.Contains(msg, "sqlstate") || !strings.Contains(msg, "not available") {
		t.Errorf("conflict message %q: want the generic one", err)
	}
	o := f.a1
	o.Code = f.b1.Code
	err = s.UpdateOrg(ctx, admin, &o)
	wantErr(t, err, store.ErrConflict, "rename to a code used elsewhere")
	if strings.Contains(strings.ToLower(err.Error()), "unique") {
		t.Errorf("update conflict message %q carries driver text", err)
	}
	b := auth.User{Name: "b.admin", Role: auth.RoleOrgAdmin, OrgID: f.b.ID, PasswordHash: "h"}
	must(t, s.CreateUser(ctx, sys, &b), "create b.admin")
	taken := auth.User{Name: "b.admin", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: "h"}
	err = s.CreateUser(ctx, admin, &taken)
	wantErr(t, err, store.ErrConflict, "user name used in another subtree")
	if msg := strings.ToLower(err.Error()); strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate") || strings.Contains(msg, "constraint") {
		t.Errorf("user conflict message %q carries driver text", err)
	}
}

// testF22BootstrapToken: the RAMPART_ADMIN_TOKEN token expires, is
// refreshed while the value stays, replaced tokens are revoked, and a
// revoked value is not registered again.
func testF22BootstrapToken(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	const name = "admin (RAMPART_ADMIN_TOKEN)"
	exp1 := time.Now().Add(24 * time.Hour).UTC()
	t1 := auth.Token{Name: name, Hash: auth.HashToken("first-bootstrap-value-0123456789abcdef"), Prefix: "sha256:1", ExpiresAt: &exp1}
	n, err := s.EnsureBootstrapToken(ctx, &t1)
	must(t, err, "register first")
	if n != 0 || t1.ID == 0 || !f.live(t, t1) {
		t.Fatalf("first: revoked %d, token %+v", n, t1)
	}
	exp2 := time.Now().Add(30 * 24 * time.Hour).UTC()
	again := auth.Token{Name: name, Hash: t1.Hash, Prefix: "sha256:1", ExpiresAt: &exp2}
	_, err = s.EnsureBootstrapToken(ctx, &again)
	must(t, err, "register the same value again")
	got, err := s.TokenForAuth(ctx, t1.Hash)
	must(t, err, "token after refresh")
	if got.ID != t1.ID || got.ExpiresAt == nil || got.ExpiresAt.Sub(exp2).Abs() > time.Second || got.UserID != 0 || got.Role != auth.RolePlatformAdmin {
		t.Errorf("refreshed token = %+v, want id %d expiring %v without a user", got, t1.ID, exp2)
	}
	t2 := auth.Token{Name: name, Hash: auth.HashToken("second-bootstrap-value-0123456789abcdef"), Prefix: "sha256:2", ExpiresAt: &exp2}
	n, err = s.EnsureBootstrapToken(ctx, &t2)
	must(t, err, "register a new value")
	if n != 1 || f.live(t, t1) || !f.live(t, t2) {
		t.Errorf("new value: revoked %d, old live %v, new live %v", n, f.live(t, t1), f.live(t, t2))
	}
	must(t, s.RevokeToken(ctx, sys, t2.ID), "revoke")
	_, err = s.EnsureBootstrapToken(ctx, &auth.Token{Name: name, Hash: t2.Hash, Prefix: "sha256:2", ExpiresAt: &exp2})
	wantErr(t, err, store.ErrForbidden, "a revoked value registered again")
	if f.live(t, t2) {
		t.Error("revoked bootstrap token came back")
	}
}
