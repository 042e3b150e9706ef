package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// Users and tokens follow the registry's tenancy with two extra rules: the
// acting principal must hold auth.PermManageUsers and MayGrant the role
// concerned, and users or tokens without an organization (platform-wide
// roles) are visible to platform-wide principals only. A user may always
// read their own record and change their own password and TOTP secret.
// Audit entries carry the records' JSON, which never includes password
// hashes, TOTP secrets or token hashes (their fields are tagged json:"-").

const userCols = "id, name, display_name, email, role, org_id, password_hash, totp_secret, disabled, created_at, updated_at"

var userNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._@+-]{0,127}$`) })

func scanUser(sc scanner, extra ...any) (auth.User, error) {
	var (
		u    auth.User
		role string
		org  sql.NullInt64
	)
	dest := append([]any{&u.ID, &u.Name, &u.DisplayName, &u.Email, &role, &org, &u.PasswordHash, &u.TOTPSecret, &u.Disabled, &u.CreatedAt, &u.UpdatedAt}, extra...)
	err := sc.Scan(dest...)
	u.Role, u.OrgID = auth.Role(role), org.Int64
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// orgPathOf returns the path of an organization, "" for id 0, or
// ErrNotFound if it is missing or outside sc.
func (s *Store) orgPathOf(ctx context.Context, q querier, sc scope, id int64) (string, error) {
	if id == 0 {
		if !sc.all {
			return "", notFound("organization", 0)
		}
		return "", nil
	}
	o, err := s.loadOrg(ctx, q, sc, id, false)
	return o.Path, err
}

// visible reports whether an object of organization orgID (path) is in sc;
// platform-wide objects (no organization) are visible to platform-wide
// principals only.
func visible(sc scope, orgID int64, path string) bool {
	if orgID == 0 {
		return sc.all
	}
	return sc.contains(path)
}

func (s *Store) loadUser(ctx context.Context, q querier, sc scope, id int64, lock bool) (auth.User, string, error) {
	query := "SELECT " + userColsU + ", COALESCE(o.path, '') FROM users u LEFT JOIN orgs o ON o.id = u.org_id WHERE u.id = ?"
	if lock && s.d.postgres() {
		query += " FOR UPDATE OF u"
	}
	var path string
	u, err := scanUser(q.QueryRowContext(ctx, s.q(query), id), &path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !visible(sc, u.OrgID, path)) {
		return auth.User{}, "", notFound("user", id)
	}
	return u, path, err
}

// userColsU is userCols qualified with the alias u.
var userColsU = "u." + strings.ReplaceAll(userCols, ", ", ", u.")

// CreateUser stores u (PasswordHash already set).
func (s *Store) CreateUser(ctx context.Context, p auth.Principal, u *auth.User) error {
	const op = "create user"
	u.Name = strings.ToLower(strings.TrimSpace(u.Name))
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.Email = strings.ToLower(strings.TrimSpace(u.Email))
	switch {
	case !userNameRE().MatchString(u.Name):
		return s.fail(op, invalid("user name %q must be 1-128 lower-case letters, digits or . _ @ + -", u.Name))
	case !u.Role.Valid():
		return s.fail(op, invalid("role %q is not a role", u.Role))
	case u.OrgID == 0 && !u.Role.Global():
		return s.fail(op, invalid("org_id is required for role %s", u.Role))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		path, err := s.orgPathOf(ctx, tx, sc, u.OrgID)
		if err != nil && !(u.OrgID == 0 && !sc.all) {
			return err
		}
		if !p.Can(auth.PermManageUsers) || (!p.System && !p.Role.MayGrant(u.Role)) || (u.OrgID == 0 && !sc.all) {
			return forbidden(fmt.Sprintf("%s may not create a user with role %s", p.Role, u.Role))
		}
		t := now()
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO users (name, display_name, email, role, org_id, password_hash, totp_secret, disabled, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			u.Name, u.DisplayName, u.Email, string(u.Role), nullInt64(u.OrgID), u.PasswordHash, s.sealTOTP(u.TOTPSecret), u.Disabled, t, t).Scan(&u.ID)
		if err != nil {
			if s.d.classify(err) == store.ErrConflict {
				// User names are one namespace for the whole platform; the
				// answer says no more than that this one is not available
				// (not where it is used), and carries no driver text.
				return fmt.Errorf("%w: user name %q is not available", store.ErrConflict, u.Name)
			}
			return err
		}
		u.CreatedAt, u.UpdatedAt = t, t
		return s.audit(ctx, tx, p, change{orgID: u.OrgID, orgPath: path, action: "user.create", objType: "user", objID: u.ID, after: u})
	})
}

// GetUser returns a user: oneself always, others with auth.PermManageUsers
// inside the subtree.
func (s *Store) GetUser(ctx context.Context, p auth.Principal, id int64) (auth.User, error) {
	const op = "get user"
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return auth.User{}, s.fail(op, err)
	}
	self := p.UserID != 0 && p.UserID == id
	if self {
		sc = scope{all: true}
	}
	u, _, err := s.loadUser(ctx, s.r, sc, id, false)
	if err != nil {
		return auth.User{}, s.fail(op, err)
	}
	if !self && !p.Can(auth.PermManageUsers) {
		return auth.User{}, s.fail(op, forbidden("reading users needs "+string(auth.PermManageUsers)))
	}
	if u.TOTPSecret, err = s.openTOTP(u.TOTPSecret); err != nil {
		return auth.User{}, s.fail(op, err)
	}
	return u, nil
}

// ListUsers lists the users of the subtree in ID order.
func (s *Store) ListUsers(ctx context.Context, p auth.Principal, f store.PageRequest) (store.Page[auth.User], error) {
	const op = "list users"
	var page store.Page[auth.User]
	if !p.Can(auth.PermManageUsers) {
		return page, s.fail(op, forbidden("listing users needs "+string(auth.PermManageUsers)))
	}
	limit, after, sc, err := s.listStart(ctx, p, f)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if !sc.all {
		cond, args := sc.cond("path")
		w.add("u.org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
	}
	if after > 0 {
		w.add("u.id > ?", after)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (auth.User, error) { return scanUser(sc) }, s.q("SELECT "+userColsU+" FROM users u"+w.String()+" ORDER BY u.id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(u auth.User) int64 { return u.ID }), nil
}

// setCredential changes one credential column of a user: oneself always
// (the face has checked the current password), others with
// auth.PermManageUsers in the subtree under auth.MayResetCredentials (no
// peer takeover, nobody resets a superior). In the same transaction it
// revokes the user's sessions and API tokens, but for the token making a
// change to its own user, so a reset locks out whoever held the old
// credentials. Machine tokens belong to no user and stay.
func (s *Store) setCredential(ctx context.Context, p auth.Principal, op, action, col string, userID int64, value string) error {
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		self := p.UserID != 0 && p.UserID == userID
		if self {
			sc = scope{all: true}
		}
		u, path, err := s.loadUser(ctx, tx, sc, userID, true)
		if err != nil {
			return err
		}
		if !self && (!p.Can(auth.PermManageUsers) || !auth.MayResetCredentials(p, u.Role, path)) {
			return forbidden(fmt.Sprintf("%s may not change the credentials of this %s", p.Role, u.Role))
		}
		before := u
		u.UpdatedAt = now()
		if _, err := tx.ExecContext(ctx, s.q("UPDATE users SET "+col+" = ?, updated_at = ? WHERE id = ?"), value, u.UpdatedAt, u.ID); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, change{orgID: u.OrgID, orgPath: path, action: action, objType: "user", objID: u.ID, before: before, after: u}); err != nil {
			return err
		}
		keep := int64(0)
		if self {
			keep = p.TokenID
		}
		res, err := tx.ExecContext(ctx, s.q("UPDATE tokens SET revoked = ? WHERE user_id = ? AND revoked = ? AND id <> ?"), true, u.ID, false, keep)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return s.audit(ctx, tx, p, change{orgID: u.OrgID, orgPath: path, action: "user.tokens_revoked", objType: "user", objID: u.ID,
				after: map[string]any{"revoked_tokens": n, "reason": action}})
		}
		return nil
	})
}

// SetPassword replaces a user's password hash.
func (s *Store) SetPassword(ctx context.Context, p auth.Principal, userID int64, hash string) error {
	if hash == "" {
		return s.fail("set password", invalid("empty password hash"))
	}
	return s.setCredential(ctx, p, "set password", "user.set_password", "password_hash", userID, hash)
}

// SetTOTPSecret replaces (or, with "", clears) a user's TOTP secret,
// sealed when the store has a SecretBox.
func (s *Store) SetTOTPSecret(ctx context.Context, p auth.Principal, userID int64, secret string) error {
	return s.setCredential(ctx, p, "set totp secret", "user.set_totp", "totp_secret", userID, s.sealTOTP(secret))
}

// AcceptTOTPStep records step as the user's last accepted TOTP step; a
// step at or before the stored one is auth.ErrTOTPReplay. The conditional
// update is atomic, so two requests racing with one code accept it once.
func (s *Store) AcceptTOTPStep(ctx context.Context, userID int64, step uint64) error {
	const op = "accept totp step"
	if step == 0 || step > 1<<62 {
		return s.fail(op, invalid("TOTP step out of range"))
	}
	res, err := s.w.ExecContext(ctx, s.q("UPDATE users SET totp_step = ? WHERE id = ? AND totp_step < ?"), int64(step), userID, int64(step))
	if err != nil {
		return s.fail(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlstore: %s: user %d: %w", op, userID, auth.ErrTOTPReplay)
	}
	return nil
}

// totpLabel binds sealed TOTP secrets to their column.
const totpLabel = "users.totp_secret"

func (s *Store) sealTOTP(secret string) string {
	if s.box == nil || secret == "" {
		return secret
	}
	return s.box.Seal(secret, totpLabel)
}

func (s *Store) openTOTP(stored string) (string, error) {
	if !auth.IsSealed(stored) {
		return stored, nil
	}
	if s.box == nil {
		return "", fmt.Errorf("%w: TOTP secret is sealed and the store has no secret key", store.ErrInvalid)
	}
	return s.box.Open(stored, totpLabel)
}

// UseSecretBox makes the store seal TOTP and webhook secrets with box from
// now on and seals the clear ones stored before (a lazy migration that runs at every
// start and finds nothing to do after the first). Call it once, before the
// store serves requests.
func (s *Store) UseSecretBox(ctx context.Context, box *auth.SecretBox) error {
	s.box = box
	if err := s.sealClear(ctx, box, "webhooks", "secret", webhookSecretLabel); err != nil {
		return err
	}
	return s.sealClear(ctx, box, "users", "totp_secret", totpLabel)
}

// sealClear seals the values of table.col stored in clear, under label.
// The tables and columns are the store's own constants, never input.
func (s *Store) sealClear(ctx context.Context, box *auth.SecretBox, table, col, label string) error {
	op := "seal " + table + "." + col
	rows, err := s.w.QueryContext(ctx, s.q("SELECT id, "+col+" FROM "+table+" WHERE "+col+" <> ''"))
	if err != nil {
		return s.fail(op, err)
	}
	type clear struct {
		id     int64
		secret string
	}
	var todo []clear
	for rows.Next() {
		var c clear
		if err := rows.Scan(&c.id, &c.secret); err != nil {
			rows.Close()
			return s.fail(op, err)
		}
		if !auth.IsSealed(c.secret) {
			todo = append(todo, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.fail(op, err)
	}
	if len(todo) == 0 {
		return nil
	}
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		for _, c := range todo {
			// The condition keeps a secret changed meanwhile as it is.
			if _, err := tx.ExecContext(ctx, s.q("UPDATE "+table+" SET "+col+" = ? WHERE id = ? AND "+col+" = ?"), box.Seal(c.secret, label), c.id, c.secret); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.log.Info("sqlstore: sealed secrets stored in clear", "table", table, "column", col, "rows", len(todo))
	}
	return err
}

// UserForLogin finds an enabled user by name; disabled and unknown users
// are both ErrNotFound.
func (s *Store) UserForLogin(ctx context.Context, name string) (auth.User, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	u, err := scanUser(s.r.QueryRowContext(ctx, s.q("SELECT "+userCols+" FROM users WHERE name = ?"), name))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && u.Disabled) {
		return auth.User{}, s.fail("user for login", fmt.Errorf("%w: %w: user %q", store.ErrNotFound, auth.ErrNotFound, name))
	}
	if err == nil {
		u.TOTPSecret, err = s.openTOTP(u.TOTPSecret)
	}
	return u, s.fail("user for login", err)
}

// PrincipalForUser builds the principal of a user, with the current path
// of its organization.
func (s *Store) PrincipalForUser(ctx context.Context, u auth.User) (auth.Principal, error) {
	p := auth.Principal{UserID: u.ID, Name: u.Name, Role: u.Role, OrgID: u.OrgID}
	path, err := s.pathForPrincipal(ctx, u.OrgID)
	p.OrgPath = path
	return p, s.fail("principal for user", err)
}

// PrincipalForToken builds the principal of a token: "token:<name>".
func (s *Store) PrincipalForToken(ctx context.Context, t auth.Token) (auth.Principal, error) {
	p := auth.Principal{UserID: t.UserID, TokenID: t.ID, Name: "token:" + t.Name, Role: t.Role, OrgID: t.OrgID}
	if t.UserID != 0 {
		// A person's token acts in their name: sessions simply as the
		// person, other tokens as "person (token:name)", so the audit log
		// and finding history say who did what.
		var user string
		err := s.r.QueryRowContext(ctx, s.q("SELECT name FROM users WHERE id = ?"), t.UserID).Scan(&user)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return auth.Principal{}, s.fail("principal for token", err)
		}
		if user != "" {
			p.Name = user + " (token:" + t.Name + ")"
			if t.Name == "session" || t.Name == "web-session" {
				p.Name = user
			}
		}
	}
	path, err := s.pathForPrincipal(ctx, t.OrgID)
	p.OrgPath = path
	return p, s.fail("principal for token", err)
}

func (s *Store) pathForPrincipal(ctx context.Context, orgID int64) (string, error) {
	if orgID == 0 {
		return "", nil
	}
	var path string
	err := s.r.QueryRowContext(ctx, s.q("SELECT path FROM orgs WHERE id = ?"), orgID).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("organization", orgID)
	}
	return path, err
}

const tokenCols = "id, name, role, org_id, user_id, hash, prefix, expires_at, last_used_at, created_by, created_at, revoked"

func scanToken(sc scanner, extra ...any) (auth.Token, error) {
	var (
		t             auth.Token
		role          string
		org, user     sql.NullInt64
		expires, used sql.NullTime
	)
	dest := append([]any{&t.ID, &t.Name, &role, &org, &user, &t.Hash, &t.Prefix, &expires, &used, &t.CreatedBy, &t.CreatedAt, &t.Revoked}, extra...)
	err := sc.Scan(dest...)
	t.Role, t.OrgID, t.UserID = auth.Role(role), org.Int64, user.Int64
	t.ExpiresAt, t.LastUsedAt = timePtr(expires), timePtr(used)
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

// CreateToken stores t (Hash already set) under the rules of CreateUser;
// a token acting for a user needs that user visible too.
func (s *Store) CreateToken(ctx context.Context, p auth.Principal, t *auth.Token) error {
	const op = "create token"
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "" || len(t.Name) > 100:
		return s.fail(op, invalid("token name must be 1-100 characters"))
	case t.Hash == "":
		return s.fail(op, invalid("token hash is required"))
	case !t.Role.Valid():
		return s.fail(op, invalid("role %q is not a role", t.Role))
	case t.OrgID == 0 && !t.Role.Global():
		return s.fail(op, invalid("org_id is required for role %s", t.Role))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		path, err := s.orgPathOf(ctx, tx, sc, t.OrgID)
		if err != nil && !(t.OrgID == 0 && !sc.all) {
			return err
		}
		if t.UserID != 0 {
			if _, _, err := s.loadUser(ctx, tx, sc, t.UserID, false); err != nil {
				return err
			}
		}
		if !p.Can(auth.PermManageUsers) || (!p.System && !p.Role.MayGrant(t.Role)) || (t.OrgID == 0 && !sc.all) {
			return forbidden(fmt.Sprintf("%s may not create a token with role %s", p.Role, t.Role))
		}
		if t.CreatedBy == "" {
			t.CreatedBy, _ = actorOf(p)
		}
		t.CreatedAt, t.Revoked, t.LastUsedAt = now(), false, nil
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO tokens (name, role, org_id, user_id, hash, prefix, expires_at, last_used_at, created_by, created_at, revoked)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`),
			t.Name, string(t.Role), nullInt64(t.OrgID), nullInt64(t.UserID), t.Hash, t.Prefix, nullTime(t.ExpiresAt), t.CreatedBy, t.CreatedAt, false).Scan(&t.ID)
		if err != nil {
			return err
		}
		if t.ExpiresAt != nil {
			e := t.ExpiresAt.UTC().Truncate(time.Microsecond)
			t.ExpiresAt = &e
		}
		return s.audit(ctx, tx, p, change{orgID: t.OrgID, orgPath: path, action: "token.create", objType: "token", objID: t.ID, after: t})
	})
}

// ListTokens lists the tokens of the subtree in ID order; without
// auth.PermManageUsers, a user lists their own tokens.
func (s *Store) ListTokens(ctx context.Context, p auth.Principal, f store.PageRequest) (store.Page[auth.Token], error) {
	const op = "list tokens"
	var page store.Page[auth.Token]
	limit, after, err := pageStart(f)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	switch {
	case p.Can(auth.PermManageUsers):
		sc, err := s.scopeOf(ctx, s.r, p)
		if err != nil {
			return page, s.fail(op, err)
		}
		if !sc.all {
			cond, args := sc.cond("path")
			w.add("org_id IN (SELECT id FROM orgs WHERE "+cond+")", args...)
		}
	case p.UserID != 0:
		w.add("user_id = ?", p.UserID)
	default:
		return page, s.fail(op, forbidden("listing tokens needs "+string(auth.PermManageUsers)))
	}
	if after > 0 {
		w.add("id > ?", after)
	}
	items, err := queryAll(ctx, s.r, func(sc scanner) (auth.Token, error) { return scanToken(sc) }, s.q("SELECT "+tokenCols+" FROM tokens"+w.String()+" ORDER BY id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(t auth.Token) int64 { return t.ID }), nil
}

// RevokeToken revokes a token: its own user may always, others need
// auth.PermManageUsers in the subtree and to MayGrant its role. Revoking a
// revoked token succeeds without a new audit entry.
func (s *Store) RevokeToken(ctx context.Context, p auth.Principal, id int64) error {
	const op = "revoke token"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		var path string
		t, err := scanToken(tx.QueryRowContext(ctx, s.q("SELECT "+tokenCols+", COALESCE((SELECT path FROM orgs WHERE id = tokens.org_id), '') FROM tokens WHERE id = ?"+s.d.forUpdate()), id), &path)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("token", id)
		}
		if err != nil {
			return err
		}
		own := p.UserID != 0 && t.UserID == p.UserID
		if !own && !visible(sc, t.OrgID, path) {
			return notFound("token", id)
		}
		if !own && (!p.Can(auth.PermManageUsers) || (!p.System && !p.Role.MayGrant(t.Role))) {
			return forbidden(fmt.Sprintf("%s may not revoke a token with role %s", p.Role, t.Role))
		}
		if t.Revoked {
			return nil
		}
		before := t
		t.Revoked = true
		if _, err := tx.ExecContext(ctx, s.q("UPDATE tokens SET revoked = ? WHERE id = ?"), true, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: t.OrgID, orgPath: path, action: "token.revoke", objType: "token", objID: id, before: before, after: t})
	})
}

// lastUsedEvery bounds how often TokenForAuth writes last_used_at, and
// lastUsedWait how long it waits for the writer to do so.
const (
	lastUsedEvery = time.Minute
	lastUsedWait  = 500 * time.Millisecond
)

// TokenForAuth finds a live token by hash. Unknown and revoked tokens, and
// tokens of a disabled user, are ErrNotFound; expired ones
// auth.ErrTokenExpired. last_used_at is written at most once a minute, so
// authenticating is a read almost always.
func (s *Store) TokenForAuth(ctx context.Context, hash string) (auth.Token, error) {
	const op = "token for auth"
	var disabled sql.NullBool
	t, err := scanToken(s.r.QueryRowContext(ctx, s.q("SELECT "+tokenCols+", (SELECT disabled FROM users WHERE id = tokens.user_id) FROM tokens WHERE hash = ?"), hash), &disabled)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && (t.Revoked || disabled.Bool)):
		return auth.Token{}, s.fail(op, notFound("token", "by hash"))
	case err != nil:
		return auth.Token{}, s.fail(op, err)
	}
	tnow := now()
	if t.ExpiresAt != nil && !tnow.Before(*t.ExpiresAt) {
		return auth.Token{}, s.fail(op, fmt.Errorf("token %d: %w", t.ID, auth.ErrTokenExpired))
	}
	if t.LastUsedAt == nil || tnow.Sub(*t.LastUsedAt) >= lastUsedEvery {
		// Best effort: a busy writer (a long import on SQLite) must not
		// delay or fail authentication. The condition repeats the check so
		// concurrent requests write once.
		uctx, cancel := context.WithTimeout(ctx, lastUsedWait)
		res, err := s.w.ExecContext(uctx, s.q("UPDATE tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)"),
			tnow, t.ID, tnow.Add(-lastUsedEvery))
		cancel()
		if err != nil {
			s.log.Warn("sqlstore: token last_used_at not updated", "token", t.ID, "err", err)
		} else if n, _ := res.RowsAffected(); n > 0 {
			t.LastUsedAt = &tnow
		}
	}
	return t, nil
}

// EnsureBootstrapToken registers t as the one live token named t.Name (the
// token of RAMPART_ADMIN_TOKEN): a platform-admin token of no user, so a
// change of the admin's password does not revoke it. Other live tokens of
// that name are revoked; a live token with t.Hash gets t's expiry (so each
// start with the variable set refreshes it); one revoked before stays
// revoked and the call fails with ErrForbidden.
func (s *Store) EnsureBootstrapToken(ctx context.Context, t *auth.Token) (int, error) {
	const op = "ensure bootstrap token"
	if t.Hash == "" || t.Name == "" || t.ExpiresAt == nil {
		return 0, s.fail(op, invalid("bootstrap token needs a name, a hash and an expiry"))
	}
	p := auth.SystemPrincipal
	revoked := 0
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		olds, err := queryAll(ctx, tx, func(sc scanner) (auth.Token, error) { return scanToken(sc) },
			s.q("SELECT "+tokenCols+" FROM tokens WHERE name = ? AND hash <> ? AND revoked = ?"), t.Name, t.Hash, false)
		if err != nil {
			return err
		}
		for _, o := range olds {
			if _, err := tx.ExecContext(ctx, s.q("UPDATE tokens SET revoked = ? WHERE id = ?"), true, o.ID); err != nil {
				return err
			}
			after := o
			after.Revoked = true
			if err := s.audit(ctx, tx, p, change{orgID: o.OrgID, action: "token.revoke", objType: "token", objID: o.ID, before: o, after: after}); err != nil {
				return err
			}
			revoked++
		}
		exp := t.ExpiresAt.UTC().Truncate(time.Microsecond)
		t.ExpiresAt, t.Role, t.OrgID, t.UserID = &exp, auth.RolePlatformAdmin, 0, 0
		if t.CreatedBy == "" {
			t.CreatedBy = "system"
		}
		cur, err := scanToken(tx.QueryRowContext(ctx, s.q("SELECT "+tokenCols+" FROM tokens WHERE hash = ?"+s.d.forUpdate()), t.Hash))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			t.CreatedAt = now()
			err = tx.QueryRowContext(ctx, s.q(`INSERT INTO tokens (name, role, org_id, user_id, hash, prefix, expires_at, last_used_at, created_by, created_at, revoked)
				VALUES (?, ?, NULL, NULL, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`),
				t.Name, string(t.Role), t.Hash, t.Prefix, exp, t.CreatedBy, t.CreatedAt, false).Scan(&t.ID)
			if err != nil {
				return err
			}
			return s.audit(ctx, tx, p, change{action: "token.create", objType: "token", objID: t.ID, after: t})
		case err != nil:
			return err
		case cur.Revoked:
			return forbidden(fmt.Sprintf("token %d (%s) was revoked; a revoked value is not registered again: set a new one", cur.ID, cur.Prefix))
		}
		if _, err := tx.ExecContext(ctx, s.q("UPDATE tokens SET name = ?, role = ?, org_id = NULL, user_id = NULL, prefix = ?, expires_at = ? WHERE id = ?"),
			t.Name, string(t.Role), t.Prefix, exp, cur.ID); err != nil {
			return err
		}
		t.ID, t.CreatedAt, t.CreatedBy, t.LastUsedAt = cur.ID, cur.CreatedAt, cur.CreatedBy, cur.LastUsedAt
		return s.audit(ctx, tx, p, change{action: "token.refresh", objType: "token", objID: t.ID, before: cur, after: t})
	})
	if err != nil {
		return 0, s.fail(op, err)
	}
	return revoked, nil
}
