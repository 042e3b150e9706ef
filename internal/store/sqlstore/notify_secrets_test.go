package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestF15SealedWebhookSecrets: with a SecretBox, webhook HMAC secrets are
// stored sealed (clear ones from before are sealed when the box is given),
// the notifier reads them in clear, an update without a secret keeps the
// old one, and under another key the webhook is skipped, not the rest.
func TestF15SealedWebhookSecrets(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "VN", Name: "Quốc gia", NameEN: "National", Kind: org.KindNational}
	if err := s.CreateOrg(ctx, sys, &o); err != nil {
		t.Fatal(err)
	}
	const oldSecret, newSecret = "old-webhook-secret-0123456789", "new-webhook-secret-abcdefghij"
	old := store.Webhook{OrgID: o.ID, URL: "https://soc.example/old", Secret: oldSecret, Enabled: true}
	if err := s.CreateWebhook(ctx, sys, &old); err != nil {
		t.Fatal(err)
	}
	raw := func(id int64) string {
		var v string
		if err := s.r.QueryRowContext(ctx, "SELECT secret FROM webhooks WHERE id = ?", id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if raw(old.ID) != oldSecret {
		t.Fatal("without a box the secret should be stored as given")
	}
	box, _ := auth.NewSecretBox(auth.NewSecretKey())
	if err := s.UseSecretBox(ctx, box); err != nil {
		t.Fatal(err)
	}
	if v := raw(old.ID); !auth.IsSealed(v) || strings.Contains(v, "old-webhook") {
		t.Errorf("clear secret not sealed at start: %q", v)
	}
	fresh := store.Webhook{OrgID: o.ID, URL: "https://soc.example/new", Secret: newSecret, Enabled: true}
	if err := s.CreateWebhook(ctx, sys, &fresh); err != nil {
		t.Fatal(err)
	}
	if v := raw(fresh.ID); !auth.IsSealed(v) || strings.Contains(v, "new-webhook") {
		t.Errorf("new secret stored %q", v)
	}
	// An update without a secret keeps it (still sealed); with one, seals it.
	upd := store.Webhook{ID: old.ID, URL: "https://soc.example/old2", Enabled: true}
	if err := s.UpdateWebhook(ctx, sys, &upd); err != nil {
		t.Fatal(err)
	}
	if v := raw(old.ID); !auth.IsSealed(v) {
		t.Errorf("updated secret stored %q", v)
	}
	secrets := func() map[int64]store.Webhook {
		ts, err := s.NotifyTargets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]store.Webhook{}
		for _, tg := range ts {
			for _, w := range tg.Webhooks {
				out[w.ID] = w
			}
		}
		return out
	}
	got := secrets()
	if got[old.ID].Secret != oldSecret || got[fresh.ID].Secret != newSecret || !got[old.ID].Enabled {
		t.Errorf("notifier reads %+v", got)
	}
	if ws, err := s.ListWebhooks(ctx, sys, o.ID); err != nil || len(ws) != 2 || ws[0].Secret != "" || ws[1].Secret != "" {
		t.Errorf("ListWebhooks shows secrets: %+v, %v", ws, err)
	}
	// Nothing of either secret in the audit log.
	var audit string
	if err := s.r.QueryRowContext(ctx, "SELECT COALESCE(GROUP_CONCAT(COALESCE(before_data, '') || COALESCE(after_data, '')), '') FROM audit_log").Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(audit, "webhook-secret") || strings.Contains(audit, "enc1:") {
		t.Error("the audit log holds a webhook secret")
	}
	other, _ := auth.NewSecretBox(auth.NewSecretKey())
	s.box = other
	got = secrets()
	if w := got[old.ID]; w.Secret != "" || w.Enabled {
		t.Errorf("a secret sealed under another key opened: %+v", w)
	}
}
