// Package auth holds users, roles, API tokens and the permission model, plus
// the primitives that keep them safe: argon2id password hashes, hashed
// tokens and login throttling.
//
// Tenancy: every principal (a user or a token) belongs to one organization
// and acts on that organization's subtree only, except the platform-wide
// roles (platform-admin, analyst). The store enforces it using Principal.
//
// It is a domain package: it imports the standard library and x/crypto only.
package auth

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// Role is what a principal may do.
type Role string

// The roles. Human roles first, then machine roles.
const (
	RolePlatformAdmin Role = "platform-admin" // everything, everywhere
	RoleAnalyst       Role = "analyst"        // reads everything, triages findings
	RoleOrgAdmin      Role = "org-admin"      // manages its subtree, its users and tokens
	RoleOrgMember     Role = "org-member"     // edits assets and contacts in its subtree
	RoleViewer        Role = "viewer"         // reads its subtree
	RoleWorker        Role = "worker"         // machine: takes scan jobs, reads scope
	RoleSensor        Role = "sensor"         // machine: sends sensor events
	RoleFeedConsumer  Role = "feed-consumer"  // machine: reads shared blocklists and feeds
	RoleFeedProducer  Role = "feed-producer"  // machine: a member's or partner CERT's system that submits indicators and sightings
)

// Roles lists every valid role.
var Roles = []Role{RolePlatformAdmin, RoleAnalyst, RoleOrgAdmin, RoleOrgMember, RoleViewer, RoleWorker, RoleSensor, RoleFeedConsumer, RoleFeedProducer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// Machine reports whether r is a role for software rather than people.
func (r Role) Machine() bool {
	return r == RoleWorker || r == RoleSensor || r == RoleFeedConsumer || r == RoleFeedProducer
}

// Global reports whether r reads across every organization.
func (r Role) Global() bool { return r == RolePlatformAdmin || r == RoleAnalyst }

// Perm is one kind of action checked by the store.
type Perm string

// The permissions.
const (
	PermReadRegistry Perm = "registry:read"   // organizations, contacts, assets
	PermWriteOrgs    Perm = "orgs:write"      // create, edit, delete organizations
	PermWriteAssets  Perm = "assets:write"    // create, edit, delete, import assets and contacts
	PermReadScope    Perm = "scope:read"      // ask the scope guard
	PermManageUsers  Perm = "users:manage"    // users and tokens in the subtree
	PermReadAudit    Perm = "audit:read"      // the audit log
	PermTriage       Perm = "findings:triage" // change finding states
	PermRunJobs      Perm = "jobs:run"        // take and complete scan jobs
	PermSendSensor   Perm = "sensor:send"     // submit sensor data
	PermReadFeeds    Perm = "feeds:read"      // read blocklists and feeds
	PermWriteFeeds   Perm = "feeds:write"     // submit indicators and sightings to the threat-intelligence hub
	PermReviewIntel  Perm = "intel:review"    // run feeds, decide the hub's review queue, manage blocklist consumers
	PermReadMetrics  Perm = "metrics:read"    // scrape /metrics (unless it is configured public)
)

var grants = sync.OnceValue(func() map[Role][]Perm {
	return map[Role][]Perm{
		RolePlatformAdmin: {PermReadRegistry, PermWriteOrgs, PermWriteAssets, PermReadScope, PermManageUsers, PermReadAudit, PermTriage, PermRunJobs, PermSendSensor, PermReadFeeds, PermWriteFeeds, PermReviewIntel, PermReadMetrics},
		RoleAnalyst:       {PermReadRegistry, PermReadScope, PermTriage, PermReadFeeds, PermWriteFeeds, PermReviewIntel, PermReadMetrics},
		RoleOrgAdmin:      {PermReadRegistry, PermWriteOrgs, PermWriteAssets, PermReadScope, PermManageUsers, PermReadAudit, PermTriage, PermReadFeeds},
		RoleOrgMember:     {PermReadRegistry, PermWriteAssets, PermReadScope, PermTriage, PermReadFeeds},
		RoleViewer:        {PermReadRegistry, PermReadScope, PermReadFeeds},
		RoleWorker:        {PermReadScope, PermRunJobs},
		RoleSensor:        {PermSendSensor},
		RoleFeedConsumer:  {PermReadFeeds},
		// A producer's sightings are sensor data to the store (it records
		// a sighting for auth.PermSendSensor or PermTriage); it never
		// triages findings.
		RoleFeedProducer: {PermReadFeeds, PermWriteFeeds, PermSendSensor},
	}
})

// Can reports whether role r holds permission p.
func (r Role) Can(p Perm) bool {
	for _, g := range grants()[r] {
		if g == p {
			return true
		}
	}
	return false
}

// rank orders human roles for "may grant": nobody grants above themselves.
var rank = sync.OnceValue(func() map[Role]int {
	return map[Role]int{
		RolePlatformAdmin: 5, RoleAnalyst: 4, RoleOrgAdmin: 3, RoleOrgMember: 2, RoleViewer: 1,
		RoleWorker: 3, RoleSensor: 3, RoleFeedConsumer: 1, RoleFeedProducer: 3,
	}
})

// MayGrant reports whether a principal with role r may create a user or
// token with role other. Platform-wide roles are granted by platform admins
// only; machine roles by admins.
func (r Role) MayGrant(other Role) bool {
	if !r.Can(PermManageUsers) || !other.Valid() {
		return false
	}
	if r == RolePlatformAdmin {
		return true
	}
	if other.Global() || other == RoleWorker {
		return false // workers probe the whole registry: platform admins only
	}
	return rank()[other] <= rank()[r]
}

// MayResetCredentials reports whether principal p may set another user's
// password or TOTP secret: a user of role target in the organization with
// materialized path targetPath, which the store has already found inside
// p's subtree. Platform administrators may reset anyone; others need
// PermManageUsers and either a strictly lower role than theirs, or an equal
// role in a strict descendant of their own organization (the parent's
// administrators). Peers — two org-admins of one organization — may not
// take over each other's accounts. Oneself is not this rule's business:
// self-service changes prove the current password instead.
func MayResetCredentials(p Principal, target Role, targetPath string) bool {
	if p.System || p.Role == RolePlatformAdmin {
		return true
	}
	if !p.Role.MayGrant(target) {
		return false
	}
	if rank()[target] < rank()[p.Role] {
		return true
	}
	return p.OrgPath != "" && targetPath != p.OrgPath && strings.HasPrefix(targetPath, p.OrgPath)
}

// Sentinel errors.
var (
	ErrInvalid        = errors.New("auth: invalid")
	ErrBadCredentials = errors.New("auth: bad credentials")
	ErrThrottled      = errors.New("auth: too many failed attempts, try again later")
	ErrTokenExpired   = errors.New("auth: token expired")
	ErrForbidden      = errors.New("auth: forbidden")
	ErrNotFound       = errors.New("auth: not found")
	// ErrTOTPReplay: a TOTP code of a step at or before the last one the
	// user's account accepted; a code works once.
	ErrTOTPReplay = errors.New("auth: authentication code already used")
)

// Principal is who is acting: a user or an API token, or the system itself.
// Stores scope every call by it.
type Principal struct {
	UserID  int64  `json:"user_id,omitempty"`
	TokenID int64  `json:"token_id,omitempty"`
	Name    string `json:"name"` // user name or "token:<name>", for the audit log
	Role    Role   `json:"role"`
	OrgID   int64  `json:"org_id"`
	OrgPath string `json:"org_path"` // materialized path of OrgID
	System  bool   `json:"-"`        // internal jobs: unrestricted
}

// SystemPrincipal is the platform acting on its own (migrations, bootstrap,
// the scheduler). It bypasses tenancy; never hand it to a request.
var SystemPrincipal = Principal{Name: "system", Role: RolePlatformAdmin, System: true}

// Can reports whether p holds permission perm.
func (p Principal) Can(perm Perm) bool { return p.System || p.Role.Can(perm) }

// SeesAll reports whether p reads every organization.
func (p Principal) SeesAll() bool { return p.System || p.Role.Global() }

// User is a person who logs in.
type User struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"` // login name, unique, lower case
	DisplayName  string    `json:"display_name,omitempty"`
	Email        string    `json:"email,omitempty"`
	Role         Role      `json:"role"`
	OrgID        int64     `json:"org_id"`
	PasswordHash string    `json:"-"`
	TOTPSecret   string    `json:"-"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Token is an API credential. Only its SHA-256 hash is stored; the secret is
// shown once at creation.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	OrgID      int64      `json:"org_id"`
	UserID     int64      `json:"user_id,omitempty"` // the user it acts for, if any
	Hash       string     `json:"-"`
	Prefix     string     `json:"prefix"` // first characters, to recognise it in lists
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	Revoked    bool       `json:"revoked"`
}
