package sqlstore

import (
	"context"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
)

// TestF15SealedTOTPSecrets: with a SecretBox, TOTP secrets are stored
// sealed (clear ones from before are sealed when the box is given), read
// back in clear, and do not open with another key.
func TestF15SealedTOTPSecrets(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	sys := auth.SystemPrincipal
	old := auth.User{Name: "old", Role: auth.RoleAnalyst, PasswordHash: "h"}
	if err := s.CreateUser(ctx, sys, &old); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTOTPSecret(ctx, sys, old.ID, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	raw := func(id int64) string {
		var v string
		if err := s.r.QueryRowContext(ctx, "SELECT totp_secret FROM users WHERE id = ?", id).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if raw(old.ID) != "JBSWY3DPEHPK3PXP" {
		t.Fatal("without a box the secret should be stored as given")
	}
	box, _ := auth.NewSecretBox(auth.NewSecretKey())
	if err := s.UseSecretBox(ctx, box); err != nil {
		t.Fatal(err)
	}
	if v := raw(old.ID); !auth.IsSealed(v) || strings.Contains(v, "JBSWY3DP") {
		t.Errorf("clear secret not sealed at start: %q", v)
	}
	fresh := auth.User{Name: "fresh", Role: auth.RoleAnalyst, PasswordHash: "h"}
	if err := s.CreateUser(ctx, sys, &fresh); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTOTPSecret(ctx, sys, fresh.ID, "KRSXG5CTMVRXEZLU"); err != nil {
		t.Fatal(err)
	}
	if v := raw(fresh.ID); !auth.IsSealed(v) {
		t.Errorf("new secret stored %q", v)
	}
	for name, want := range map[string]string{"old": "JBSWY3DPEHPK3PXP", "fresh": "KRSXG5CTMVRXEZLU"} {
		u, err := s.UserForLogin(ctx, name)
		if err != nil || u.TOTPSecret != want {
			t.Errorf("UserForLogin(%s) secret %q, %v; want %q", name, u.TOTPSecret, err, want)
		}
	}
	if u, err := s.GetUser(ctx, sys, fresh.ID); err != nil || u.TOTPSecret != "KRSXG5CTMVRXEZLU" {
		t.Errorf("GetUser secret %q, %v", u.TOTPSecret, err)
	}
	other, _ := auth.NewSecretBox(auth.NewSecretKey())
	s.box = other
	if _, err := s.UserForLogin(ctx, "fresh"); err == nil {
		t.Error("a sealed secret opened with another key")
	}
}
