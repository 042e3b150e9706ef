package auth

import (
	"fmt"
	"strings"
	"time"
)

// Token lifetimes.
const (
	DefaultTokenLife = 365 * 24 * time.Hour
	MaxTokenLife     = 2 * 365 * 24 * time.Hour
)

// IssueToken prepares a token that principal by asks for: it checks the
// name, role and expiry, defaults the organization to by's own, and returns
// the token (with hash and prefix) and its secret. The store still decides
// whether by may grant that role on that organization.
func IssueToken(by Principal, name string, role Role, orgID int64, expiresAt *time.Time, now time.Time) (Token, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return Token{}, "", fmt.Errorf("%w: token name must be 1-100 characters", ErrInvalid)
	}
	if !role.Valid() {
		return Token{}, "", fmt.Errorf("%w: role %q is not a role", ErrInvalid, role)
	}
	if orgID == 0 && !role.Global() {
		orgID = by.OrgID
	}
	if orgID == 0 && !role.Global() {
		return Token{}, "", fmt.Errorf("%w: org_id is required for role %s", ErrInvalid, role)
	}
	exp := now.Add(DefaultTokenLife).UTC()
	if expiresAt != nil {
		exp = expiresAt.UTC()
	}
	if !exp.After(now) {
		return Token{}, "", fmt.Errorf("%w: expires_at is in the past", ErrInvalid)
	}
	if exp.Sub(now) > MaxTokenLife {
		return Token{}, "", fmt.Errorf("%w: a token may live at most %d days", ErrInvalid, int(MaxTokenLife.Hours()/24))
	}
	secret, prefix, hash, err := NewToken()
	if err != nil {
		return Token{}, "", err
	}
	t := Token{Name: name, Role: role, OrgID: orgID, Hash: hash, Prefix: prefix, ExpiresAt: &exp, CreatedBy: by.Name}
	if by.UserID != 0 && !role.Machine() {
		t.UserID = by.UserID
	}
	return t, secret, nil
}
