package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestSecretBox(t *testing.T) {
	box, err := NewSecretBox(NewSecretKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.Seal("JBSWY3DPEHPK3PXP", "users.totp_secret")
	if !IsSealed(sealed) || strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatalf("sealed = %q", sealed)
	}
	if again := box.Seal("JBSWY3DPEHPK3PXP", "users.totp_secret"); again == sealed {
		t.Error("two seals of one value are equal: nonce reused")
	}
	if got, err := box.Open(sealed, "users.totp_secret"); err != nil || got != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, err := box.Open(sealed, "webhooks.secret"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open under another label = %v, want ErrInvalid", err)
	}
	other, _ := NewSecretBox(NewSecretKey())
	if _, err := other.Open(sealed, "users.totp_secret"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Open with another key = %v, want ErrInvalid", err)
	}
	if got, err := box.Open("CLEARVALUE", "users.totp_secret"); err != nil || got != "CLEARVALUE" {
		t.Errorf("Open of a clear value = %q, %v", got, err)
	}
	if box.Seal("", "x") != "" {
		t.Error("empty secret sealed")
	}
	if _, err := NewSecretBox([]byte("short")); !errors.Is(err, ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
	if fp := TokenFingerprint("redteam-admin-token-0123456789abcdef"); !strings.HasPrefix(fp, "sha256:") || strings.Contains(fp, "redteam") {
		t.Errorf("fingerprint %q", fp)
	}
}

func TestF13MayResetCredentials(t *testing.T) {
	orgAdmin := Principal{UserID: 1, Role: RoleOrgAdmin, OrgID: 5, OrgPath: "/4/5/"}
	parentAdmin := Principal{UserID: 2, Role: RoleOrgAdmin, OrgID: 4, OrgPath: "/4/"}
	tests := []struct {
		name string
		p    Principal
		role Role
		path string
		want bool
	}{
		{"peer org-admin", orgAdmin, RoleOrgAdmin, "/4/5/", false},
		{"lower role, same org", orgAdmin, RoleOrgMember, "/4/5/", true},
		{"viewer in a child org", orgAdmin, RoleViewer, "/4/5/9/", true},
		{"parent's admin resets the child's admin", parentAdmin, RoleOrgAdmin, "/4/5/", true},
		{"parent's admin: its own peer", parentAdmin, RoleOrgAdmin, "/4/", false},
		{"member resets a viewer", Principal{Role: RoleOrgMember, OrgPath: "/4/5/"}, RoleViewer, "/4/5/", false},
		{"org-admin resets a platform admin", orgAdmin, RolePlatformAdmin, "", false},
		{"platform admin resets a platform admin", Principal{Role: RolePlatformAdmin}, RolePlatformAdmin, "", true},
	}
	for _, tt := range tests {
		if got := MayResetCredentials(tt.p, tt.role, tt.path); got != tt.want {
			t.Errorf("%s: MayResetCredentials = %v, want %v", tt.name, got, tt.want)
		}
	}
}
