package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeUsers keeps users and their last accepted TOTP step in memory.
type fakeUsers struct {
	mu    sync.Mutex
	users map[string]User
	steps map[int64]uint64
}

func (f *fakeUsers) UserForLogin(_ context.Context, name string) (User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[name]
	if !ok {
		return User{}, fmt.Errorf("fake: %w", ErrNotFound)
	}
	return u, nil
}

func (f *fakeUsers) AcceptTOTPStep(_ context.Context, id int64, step uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if step <= f.steps[id] {
		return ErrTOTPReplay
	}
	f.steps[id] = step
	return nil
}

// TestF15TOTPReplay: a TOTP code logs in once; the same code, or an older
// one, is refused afterwards.
func TestF15TOTPReplay(t *testing.T) {
	hash, _ := HashPasswordWith("RedTeam-Pass-2026!", cheapArgon2)
	secret := NewTOTPSecret()
	users := &fakeUsers{users: map[string]User{"cuca": {ID: 7, Name: "cuca", PasswordHash: hash, TOTPSecret: secret}}, steps: map[int64]uint64{}}
	now := time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)
	l := Login{Throttle: NewDefaultThrottle(), Users: users, Now: func() time.Time { return now }}
	ctx := context.Background()
	code, _ := TOTPCode(secret, now)
	if _, err := l.Check(ctx, "cuca", "RedTeam-Pass-2026!", code, "127.0.0.1"); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := l.Check(ctx, "cuca", "RedTeam-Pass-2026!", code, "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("replay: %v, want ErrBadCredentials", err)
	}
	prev, _ := TOTPCode(secret, now.Add(-TOTPPeriod))
	if _, err := l.Check(ctx, "cuca", "RedTeam-Pass-2026!", prev, "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("previous step after a newer one: %v, want ErrBadCredentials", err)
	}
	now = now.Add(TOTPPeriod)
	next, _ := TOTPCode(secret, now)
	if _, err := l.Check(ctx, "cuca", "RedTeam-Pass-2026!", next, "127.0.0.1"); err != nil {
		t.Errorf("next step: %v", err)
	}
	if _, err := l.Check(ctx, "nobody", "x", "", "127.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
}
