package storetest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// auditOf returns the entries about one object, oldest first.
func auditOf(t *testing.T, s store.Store, typ string, id int64) []store.AuditEntry {
	t.Helper()
	es := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(t.Context(), sys, store.AuditFilter{ObjectType: typ, ObjectID: id, PageRequest: store.PageRequest{After: after}})
	})
	// Order is the implementation's; sort oldest first by ID.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].ID < es[j-1].ID; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	return es
}

func countAudit(t *testing.T, s store.Store) int {
	t.Helper()
	return len(all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(t.Context(), sys, store.AuditFilter{PageRequest: store.PageRequest{After: after, Limit: store.MaxLimit}})
	}))
}

// wantAudit checks the actions of an object's entries and that before and
// after are present as each action implies.
func wantAudit(t *testing.T, es []store.AuditEntry, actor string, actions ...string) {
	t.Helper()
	if len(es) != len(actions) {
		got := make([]string, len(es))
		for i, e := range es {
			got[i] = e.Action
		}
		t.Fatalf("audit actions %v, want %v", got, actions)
	}
	for i, e := range es {
		if e.Action != actions[i] {
			t.Fatalf("entry %d action %q, want %q", i, e.Action, actions[i])
		}
		if actor != "" && e.Actor != actor {
			t.Fatalf("entry %d actor %q, want %q", i, e.Actor, actor)
		}
		if e.At.IsZero() || e.ActorRole == "" {
			t.Fatalf("entry %d lacks time or role: %+v", i, e)
		}
		create, del := strings.HasSuffix(e.Action, ".create"), strings.HasSuffix(e.Action, ".delete")
		if (len(e.Before) > 0) == create {
			t.Fatalf("%s: before = %s", e.Action, e.Before)
		}
		if (len(e.After) > 0) == del {
			t.Fatalf("%s: after = %s", e.Action, e.After)
		}
		for _, raw := range []json.RawMessage{e.Before, e.After} {
			if len(raw) > 0 && !json.Valid(raw) {
				t.Fatalf("%s: invalid JSON %s", e.Action, raw)
			}
		}
	}
}

func field(t *testing.T, raw json.RawMessage, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("audit JSON %s: %v", raw, err)
	}
	return m[name]
}

func testAudit(t *testing.T, s store.Store) {
	f := newFixture(t, s)
	ctx := f.ctx
	admin := as(auth.RoleOrgAdmin, f.a)

	o := f.org(t, admin, f.a.ID, "AUD", org.KindUnit)
	o.NameEN = "Audited"
	must(t, s.UpdateOrg(ctx, admin, &o), "update")
	must(t, s.DeleteOrg(ctx, admin, o.ID), "delete")
	es := auditOf(t, s, "org", o.ID)
	wantAudit(t, es, admin.Name, "org.create", "org.update", "org.delete")
	if es[0].OrgID != o.ID || field(t, es[1].Before, "name_en") != "Organization AUD" || field(t, es[1].After, "name_en") != "Audited" {
		t.Fatalf("org update entry: %+v", es[1])
	}
	if es[1].ActorRole != auth.RoleOrgAdmin {
		t.Fatalf("actor role %q", es[1].ActorRole)
	}

	a := f.asset(t, admin, f.a1, asset.KindDomain, "audit.example.vn")
	a.Criticality = asset.CriticalityCritical
	must(t, s.UpdateAsset(ctx, admin, &a), "update asset")
	must(t, s.DeleteAsset(ctx, admin, a.ID), "delete asset")
	es = auditOf(t, s, "asset", a.ID)
	wantAudit(t, es, admin.Name, "asset.create", "asset.update", "asset.delete")
	if es[0].OrgID != f.a1.ID || field(t, es[1].Before, "criticality") != "normal" || field(t, es[1].After, "criticality") != "critical" {
		t.Fatalf("asset update entry: %+v", es[1])
	}

	c := org.Contact{OrgID: f.a.ID, Name: "C", Email: "c@example.vn"}
	must(t, s.CreateContact(ctx, admin, &c), "contact")
	must(t, s.DeleteContact(ctx, admin, c.ID), "delete contact")
	wantAudit(t, auditOf(t, s, "contact", c.ID), admin.Name, "contact.create", "contact.delete")

	// Users and tokens: never a hash or a secret.
	const pwHash, newHash, totp, tokHash = "$argon2id$v=19$m=65536,t=3,p=2$SECRETSALT$SECRETKEY", "$argon2id$NEWHASH", "TOTPSECRETBASE32", "TOKENHASHHEX"
	u := auth.User{Name: "audited", Role: auth.RoleViewer, OrgID: f.a.ID, PasswordHash: pwHash}
	must(t, s.CreateUser(ctx, admin, &u), "user")
	must(t, s.SetPassword(ctx, admin, u.ID, newHash), "set password")
	must(t, s.SetTOTPSecret(ctx, admin, u.ID, totp), "set totp")
	es = auditOf(t, s, "user", u.ID)
	if len(es) != 3 || es[0].Action != "user.create" {
		t.Fatalf("user entries: %+v", es)
	}
	tok := auth.Token{Name: "ci", Role: auth.RoleViewer, OrgID: f.a.ID, Hash: tokHash, Prefix: "rp_x"}
	must(t, s.CreateToken(ctx, admin, &tok), "token")
	must(t, s.RevokeToken(ctx, admin, tok.ID), "revoke")
	ts := auditOf(t, s, "token", tok.ID)
	wantAudit(t, ts, admin.Name, "token.create", "token.revoke")
	if field(t, ts[1].After, "revoked") != true {
		t.Fatalf("revoke entry: %s", ts[1].After)
	}
	for _, e := range append(es, ts...) {
		text := string(e.Before) + string(e.After)
		for _, secret := range []string{pwHash, newHash, totp, tokHash, "SECRETKEY", "NEWHASH"} {
			if strings.Contains(text, secret) {
				t.Fatalf("audit entry %s leaks a secret: %s", e.Action, text)
			}
		}
	}

	// Failed writes leave no entry.
	n := countAudit(t, s)
	dup := asset.Asset{OrgID: f.a1.ID, Kind: asset.KindDomain, Value: "x.example.vn"}
	must(t, s.CreateAsset(ctx, admin, &dup), "asset")
	dup.ID = 0
	wantErr(t, s.CreateAsset(ctx, admin, &dup), store.ErrConflict, "duplicate")
	if got := countAudit(t, s); got != n+1 {
		t.Fatalf("audit entries %d, want %d", got, n+1)
	}

	// Filters and pages.
	byActor, err := s.ListAudit(ctx, sys, store.AuditFilter{Actor: admin.Name, PageRequest: store.PageRequest{Limit: 2}})
	must(t, err, "audit by actor")
	if len(byActor.Items) != 2 || byActor.Next == "" {
		t.Fatalf("audit page: %d items, next %q", len(byActor.Items), byActor.Next)
	}
	entries := all(t, func(after string) (store.Page[store.AuditEntry], error) {
		return s.ListAudit(ctx, sys, store.AuditFilter{Actor: admin.Name, PageRequest: store.PageRequest{After: after, Limit: 3}})
	})
	if len(ids(entries, auditID)) != len(entries) || len(entries) != 14 {
		t.Fatalf("audit pages: %d entries (duplicates or missing)", len(entries))
	}
	// The admin of A reads its own subtree's history, including deleted orgs.
	mine, err := s.ListAudit(ctx, admin, store.AuditFilter{ObjectType: "org", ObjectID: o.ID})
	must(t, err, "admin audit")
	if len(mine.Items) != 3 {
		t.Fatalf("admin of A sees %d entries of its deleted org, want 3", len(mine.Items))
	}
}
