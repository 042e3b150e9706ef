// Package store defines how Rampart keeps its state. The interfaces here are
// the contract; sqlstore implements them on SQLite and PostgreSQL, and
// storetest runs one conformance suite against every implementation.
//
// Tenancy lives here, not in handlers: every method takes the acting
// auth.Principal and
//   - reads return only objects in the principal's subtree (or everything for
//     platform-wide roles); an object outside it is reported as not found,
//     never as forbidden, so its existence does not leak;
//   - writes require the matching auth.Perm and that the object (and, for a
//     move, its new parent) lies in the subtree, else ErrForbidden or
//     ErrNotFound;
//   - every successful write appends an audit entry (who, when, what,
//     before and after) in the same transaction.
//
// Methods are safe for concurrent use. Errors wrap the sentinels below so
// callers test them with errors.Is.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

// Sentinel errors.
var (
	ErrNotFound  = errors.New("store: not found")
	ErrConflict  = errors.New("store: conflict") // unique key taken, or still referenced
	ErrForbidden = errors.New("store: forbidden")
	ErrInvalid   = errors.New("store: invalid input")
	// ErrUnavailable means the database cannot be reached (down,
	// restarting, refusing connections): the same call may succeed later.
	ErrUnavailable = errors.New("store: database unavailable")
)

// DefaultLimit and MaxLimit bound one page of a listing.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Page is one page of a listing. Next is an opaque cursor for the following
// page, empty on the last page.
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// PageRequest asks for one page: at most Limit items after cursor After.
type PageRequest struct {
	Limit int    // 0 means DefaultLimit; capped at MaxLimit
	After string // the Next of the previous page
}

// OrgFilter narrows ListOrgs.
type OrgFilter struct {
	PageRequest
	ParentID int64    // direct children of this organization
	Root     int64    // the whole subtree of this organization (itself included)
	Kind     org.Kind // only this kind
	Query    string   // substring of code or names, case-insensitive
}

// AssetFilter narrows ListAssets.
type AssetFilter struct {
	PageRequest
	OrgID       int64 // assets of this organization only
	Subtree     bool  // with OrgID: also assets of its descendants
	Kind        asset.Kind
	Criticality asset.Criticality
	Tag         string
	Query       string // substring of the value
}

// ImportRow is one asset to import, with its 1-based line (or element)
// number in the source for error messages. OrgCode names the owner when
// OrgID is zero.
type ImportRow struct {
	Line    int
	OrgCode string
	Asset   asset.Asset
}

// ImportSummary reports what an import changed.
type ImportSummary struct {
	Rows      int `json:"rows"`
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ImportError is a row that failed an import; the import stored nothing.
type ImportError struct {
	Line   int
	Reason string
	Err    error
}

func (e *ImportError) Error() string {
	return "store: import line " + strconv.Itoa(e.Line) + ": " + e.Reason
}
func (e *ImportError) Unwrap() error { return e.Err }

// AuditEntry is one change, appended by the store in the same transaction.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Actor      string          `json:"actor"`
	ActorRole  auth.Role       `json:"actor_role"`
	OrgID      int64           `json:"org_id,omitempty"` // the organization the object belongs to
	Action     string          `json:"action"`           // e.g. "org.create", "asset.update"
	ObjectType string          `json:"object_type"`
	ObjectID   int64           `json:"object_id"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	PageRequest
	ObjectType string
	ObjectID   int64
	Actor      string
}

// Orgs keeps organizations and their contacts.
type Orgs interface {
	// CreateOrg stores o, sets its ID, Path and times. A root (ParentID 0)
	// needs a platform-wide write; a child needs the parent in the subtree.
	CreateOrg(ctx context.Context, p auth.Principal, o *org.Organization) error
	GetOrg(ctx context.Context, p auth.Principal, id int64) (org.Organization, error)
	GetOrgByCode(ctx context.Context, p auth.Principal, code string) (org.Organization, error)
	ListOrgs(ctx context.Context, p auth.Principal, f OrgFilter) (Page[org.Organization], error)
	// UpdateOrg changes code, names, kind and parent. Moving an organization
	// under its own descendant is ErrInvalid; paths of the subtree follow.
	UpdateOrg(ctx context.Context, p auth.Principal, o *org.Organization) error
	// DeleteOrg removes an organization with no children, assets or users;
	// otherwise ErrConflict.
	DeleteOrg(ctx context.Context, p auth.Principal, id int64) error

	// ImportOrgs upserts organizations (and their contacts) keyed by code
	// in one transaction: all rows or none. Re-importing the same rows
	// changes nothing and writes no audit entry. A bad row returns
	// *ImportError.
	ImportOrgs(ctx context.Context, p auth.Principal, rows []OrgImportRow) (ImportSummary, error)

	CreateContact(ctx context.Context, p auth.Principal, c *org.Contact) error
	ListContacts(ctx context.Context, p auth.Principal, orgID int64) ([]org.Contact, error)
	DeleteContact(ctx context.Context, p auth.Principal, id int64) error
}

// Assets keeps assets.
type Assets interface {
	// CreateAsset calls a.Prepare, then stores it. The same (kind, value)
	// may be registered once per organization (ErrConflict otherwise);
	// registering it under two organizations is allowed and reported as
	// an overlap by the scope guard.
	CreateAsset(ctx context.Context, p auth.Principal, a *asset.Asset) error
	GetAsset(ctx context.Context, p auth.Principal, id int64) (asset.Asset, error)
	ListAssets(ctx context.Context, p auth.Principal, f AssetFilter) (Page[asset.Asset], error)
	UpdateAsset(ctx context.Context, p auth.Principal, a *asset.Asset) error
	DeleteAsset(ctx context.Context, p auth.Principal, id int64) error
	// ImportAssets upserts rows keyed by (org, kind, value) in one
	// transaction: all rows or none. Re-importing the same rows changes
	// nothing and writes no audit entry. A bad row returns *ImportError.
	ImportAssets(ctx context.Context, p auth.Principal, rows []ImportRow) (ImportSummary, error)
	// EachAsset calls fn for every asset the principal sees, in ID order,
	// streaming (for the scope index and exports).
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	// AssetsVersion returns a number that changes whenever any asset changes,
	// so caches (the scope index) know when to rebuild.
	AssetsVersion(ctx context.Context) (int64, error)
}

// Users keeps users and API tokens.
type Users interface {
	// CreateUser stores u (PasswordHash already set). The principal must
	// MayGrant u.Role and see u.OrgID.
	CreateUser(ctx context.Context, p auth.Principal, u *auth.User) error
	GetUser(ctx context.Context, p auth.Principal, id int64) (auth.User, error)
	ListUsers(ctx context.Context, p auth.Principal, f PageRequest) (Page[auth.User], error)
	// SetPassword replaces the hash; a user may always change their own
	// (the face proves the current password first), others need
	// auth.MayResetCredentials. Either way the user's sessions and API
	// tokens are revoked in the same transaction, except the session making
	// a change to its own user; machine tokens (no user) stay.
	SetPassword(ctx context.Context, p auth.Principal, userID int64, hash string) error
	// SetTOTPSecret replaces (or, with "", clears) a TOTP secret under the
	// rules of SetPassword, revoking the same sessions and tokens.
	SetTOTPSecret(ctx context.Context, p auth.Principal, userID int64, secret string) error
	// UserForLogin finds an enabled user by name with no principal: the
	// login handler needs it before anyone is authenticated. Unknown and
	// disabled users are ErrNotFound, also wrapping auth.ErrNotFound.
	UserForLogin(ctx context.Context, name string) (auth.User, error)
	// AcceptTOTPStep records step as the last TOTP step the user's account
	// accepted, atomically; an error wrapping auth.ErrTOTPReplay when that
	// step or a later one was accepted before, so a code works once.
	AcceptTOTPStep(ctx context.Context, userID int64, step uint64) error
	// EnsureBootstrapToken registers t (hash, prefix, expiry set; no user)
	// as the one live platform-admin token named t.Name: other live tokens
	// of that name are revoked (how many is returned), a live token with
	// t.Hash gets t's expiry, and one revoked before stays revoked
	// (ErrForbidden): a value someone revoked is burned.
	EnsureBootstrapToken(ctx context.Context, t *auth.Token) (revoked int, err error)

	// CreateToken stores t (Hash already set). Rules as CreateUser.
	CreateToken(ctx context.Context, p auth.Principal, t *auth.Token) error
	ListTokens(ctx context.Context, p auth.Principal, f PageRequest) (Page[auth.Token], error)
	RevokeToken(ctx context.Context, p auth.Principal, id int64) error
	// TokenForAuth finds a live token by its hash, for authentication; it
	// updates LastUsedAt at most once a minute. Expired tokens give
	// auth.ErrTokenExpired, unknown or revoked ones ErrNotFound.
	TokenForAuth(ctx context.Context, hash string) (auth.Token, error)
	// PrincipalFor builds the principal of a user or token (fills OrgPath).
	PrincipalForUser(ctx context.Context, u auth.User) (auth.Principal, error)
	PrincipalForToken(ctx context.Context, t auth.Token) (auth.Principal, error)
}

// Audit reads the audit log. Only principals with auth.PermReadAudit read
// it, and only entries of their subtree (platform admins: everything).
type Audit interface {
	ListAudit(ctx context.Context, p auth.Principal, f AuditFilter) (Page[AuditEntry], error)
}

// Store is the whole state. Close releases it; nothing may be called after.
type Store interface {
	Orgs
	Assets
	Claims
	Regions
	Users
	Audit
	Scans
	ScanProfiles
	Findings
	Notifications
	AlertQueue
	Dashboard
	Assessments
	Deadlines
	Outbox
	Intel
	Discovery
	// Migrate applies the embedded migrations not yet applied; it is
	// idempotent and safe to run from several processes at once.
	Migrate(ctx context.Context) error
	// Ping reports whether the database answers (for /readyz).
	Ping(ctx context.Context) error
	// Driver names the engine: "sqlite" or "postgres".
	Driver() string
	Close() error
}

// OrgImportRow is one organization to import, with its contacts. ParentCode
// names the parent (empty for a root); a parent must be stored already or
// come earlier in the same import.
type OrgImportRow struct {
	Line       int
	ParentCode string
	Org        org.Organization
	Contacts   []org.Contact
}
