package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/queue/natsq"
)

// TestDNSCredentialsCommands: the platform issues, lists and revokes a
// protective resolver's key, as it does a worker's or a sensor's.
func TestDNSCredentialsCommands(t *testing.T) {
	dir := t.TempDir()
	data := []string{"--data", filepath.Join(dir, "data")}
	cmd := func(args ...string) []string { return append(args, data...) }
	must(t, runCLI(t, nil, "", cmd("migrate")...))

	out := filepath.Join(dir, "hanoi.nk")
	r := must(t, runCLI(t, nil, "", cmd("dns", "credentials", "hanoi-1", "--out", out)...))
	if !strings.Contains(r.stderr, "Issued resolver hanoi-1") || !strings.Contains(r.stderr, "--nats-creds "+out) {
		t.Errorf("dns credentials said:\n%s", r.stderr)
	}
	e, err := natsq.EdgeOfCreds(out)
	if err != nil || e.Name != "hanoi-1" || e.Role != natsq.EdgeResolver || e.Org != "" {
		t.Fatalf("issued %+v, %v", e, err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("seed file: %v", err)
	}
	r = must(t, runCLI(t, nil, "", cmd("dns", "list")...))
	if !strings.Contains(r.stdout, "hanoi-1") || !strings.Contains(r.stdout, e.PublicKey) {
		t.Errorf("dns list:\n%s", r.stdout)
	}
	if r := runCLI(t, nil, "", cmd("dns", "credentials", "hanoi-1")...); r.code != 1 || !strings.Contains(r.stderr, "already registered") {
		t.Errorf("a second hanoi-1: %+v", r)
	}
	if r := runCLI(t, nil, "", cmd("dns", "credentials", "other", "--out", out)...); r.code != 1 {
		t.Errorf("an existing seed file is not overwritten: %+v", r)
	}
	if es, _ := natsq.Edges(filepath.Join(dir, "data", "nats")); len(es) != 1 {
		t.Errorf("a failed issue left a key: %+v", es)
	}
	if r := runCLI(t, nil, "", cmd("dns", "credentials")...); r.code != 2 {
		t.Errorf("no name: %+v", r)
	}
	r = must(t, runCLI(t, nil, "", cmd("dns", "revoke", "hanoi-1")...))
	if !strings.Contains(r.stdout, "revoked resolver hanoi-1") {
		t.Errorf("dns revoke said:\n%s", r.stdout)
	}
	if r := must(t, runCLI(t, nil, "", cmd("dns", "list")...)); strings.Contains(r.stdout, "hanoi-1") {
		t.Errorf("revoked resolver still listed:\n%s", r.stdout)
	}
}
