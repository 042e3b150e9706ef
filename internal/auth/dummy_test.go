package auth_test

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/auth"
)

func TestDummyHash(t *testing.T) {
	h := auth.DummyHash()
	if h != auth.DummyHash() {
		t.Fatal("DummyHash changed between calls")
	}
	// It must cost what a real hash costs: the default parameters.
	if auth.NeedsRehash(h) {
		t.Fatalf("%s is not made with DefaultArgon2", h)
	}
	ok, err := auth.VerifyPassword("rampart-console-dummy-password", h)
	if ok || err != nil {
		t.Fatalf("VerifyPassword against the dummy hash = %v, %v; want false, nil", ok, err)
	}
}
