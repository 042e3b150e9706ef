package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for Throttle.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newTestThrottle() (*Throttle, *fakeClock) {
	c := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	return NewThrottle(5, 15*time.Minute, 15*time.Minute, c.now), c
}

// step is one action in a throttle scenario.
type step struct {
	op       string // "fail", "ok" (Succeed), "wait", "allow"
	user, ip string
	wait     time.Duration
	locked   bool // for "allow": want ErrThrottled
}

func fails(n int, user, ip string) []step {
	s := make([]step, n)
	for i := range s {
		s[i] = step{op: "fail", user: user, ip: ip}
	}
	return s
}

func join(parts ...[]step) []step {
	var out []step
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestThrottle(t *testing.T) {
	allow := func(user, ip string, locked bool) []step {
		return []step{{op: "allow", user: user, ip: ip, locked: locked}}
	}
	wait := func(d time.Duration) []step { return []step{{op: "wait", wait: d}} }
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh is allowed", allow("alice", "10.0.0.1", false)},
		{"four failures are allowed", join(fails(4, "alice", "10.0.0.1"), allow("alice", "10.0.0.1", false))},
		{"five failures lock the pair, not the account", join(
			fails(5, "alice", "10.0.0.1"),
			allow("alice", "10.0.0.1", true),
			allow("ALICE", "10.0.0.1", true),
			allow("alice", "192.0.2.9", false), // the owner elsewhere
			allow("bob", "10.0.0.1", false),    // the address has 5 of 20
		)},
		{"lockout ends", join(
			fails(5, "alice", "10.0.0.1"),
			wait(15*time.Minute-time.Second), allow("alice", "10.0.0.1", true),
			wait(time.Second), allow("alice", "10.0.0.1", false),
		)},
		{"failures outside the window do not add up", join(
			fails(4, "alice", "10.0.0.1"), wait(16*time.Minute),
			fails(4, "alice", "10.0.0.1"), allow("alice", "10.0.0.1", false),
		)},
		{"failures while locked do not extend it", join(
			fails(5, "alice", "10.0.0.1"), wait(10*time.Minute),
			fails(3, "alice", "10.0.0.1"), wait(5*time.Minute),
			allow("alice", "10.0.0.1", false),
		)},
		{"success clears the pair", join(
			fails(4, "alice", "10.0.0.1"), []step{{op: "ok", user: "alice", ip: "10.0.0.1"}},
			fails(4, "alice", "10.0.0.1"), allow("alice", "10.0.0.1", false),
		)},
		{"a name failing from many addresses slows down", join(
			fails(4, "alice", "10.0.0.1"), fails(4, "alice", "10.0.0.2"), fails(2, "alice", "10.0.0.3"),
			allow("alice", "10.0.0.4", false), // 10 failures are free
			fails(1, "alice", "10.0.0.4"),
			allow("alice", "10.0.0.5", true), // 11th: one second
			wait(time.Second), allow("alice", "10.0.0.5", false),
			fails(1, "alice", "10.0.0.5"),
			wait(time.Second), allow("alice", "10.0.0.6", true), // 12th: two seconds
			wait(time.Second), allow("alice", "10.0.0.6", false),
		)},
		{"the slow-down has a ceiling", join(
			fails(4, "alice", "10.0.0.1"), fails(4, "alice", "10.0.0.2"), fails(4, "alice", "10.0.0.3"),
			fails(4, "alice", "10.0.0.4"), fails(4, "alice", "10.0.0.5"), fails(4, "alice", "10.0.0.6"),
			allow("alice", "10.0.0.9", true),
			wait(MaxNameDelay), allow("alice", "10.0.0.9", false),
		)},
		{"a known-good address is not slowed down", join(
			[]step{{op: "ok", user: "alice", ip: "192.0.2.7"}},
			fails(4, "alice", "10.0.0.1"), fails(4, "alice", "10.0.0.2"), fails(4, "alice", "10.0.0.3"),
			allow("alice", "10.0.0.9", true),
			allow("alice", "192.0.2.7", false),
		)},
		{"twenty failures lock the address for every user", join(
			fails(4, "u1", "10.0.0.1"), fails(4, "u2", "10.0.0.1"), fails(4, "u3", "10.0.0.1"),
			fails(4, "u4", "10.0.0.1"), fails(3, "u5", "10.0.0.1"),
			allow("u6", "10.0.0.1", false),
			fails(1, "u6", "10.0.0.1"),
			allow("u7", "10.0.0.1", true),
			allow("u7", "10.0.0.2", false),
		)},
		{"success does not clear the address", join(
			fails(4, "u1", "10.0.0.1"), fails(4, "u2", "10.0.0.1"), fails(4, "u3", "10.0.0.1"),
			fails(4, "u4", "10.0.0.1"), fails(3, "u5", "10.0.0.1"),
			[]step{{op: "ok", user: "u5", ip: "10.0.0.1"}},
			fails(1, "u6", "10.0.0.1"),
			allow("u7", "10.0.0.1", true),
		)},
		{"an IPv6 /64 is one address", join(
			fails(4, "u1", "2001:db8::1"), fails(4, "u2", "2001:db8::2"), fails(4, "u3", "2001:db8::3"),
			fails(4, "u4", "2001:db8::4"), fails(4, "u5", "2001:db8::ffff:1"),
			allow("u6", "2001:db8::abcd", true),
			allow("u6", "2001:db8:0:1::1", false),
		)},
		{"address with port and IPv4-mapped form", join(
			fails(4, "u1", "10.0.0.1:1234"), fails(4, "u2", "[::ffff:10.0.0.1]:99"),
			fails(4, "u3", "10.0.0.1"), fails(4, "u4", "::ffff:10.0.0.1"), fails(4, "u5", "10.0.0.1:5"),
			allow("u6", "10.0.0.1", true),
		)},
		{"empty user counts per address", join(
			fails(5, "", "10.0.0.1"), allow("", "10.0.0.1", true), allow("alice", "10.0.0.1", false),
		)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, clock := newTestThrottle()
			for i, s := range tt.steps {
				switch s.op {
				case "fail":
					th.Fail(s.user, s.ip)
				case "ok":
					th.Succeed(s.user, s.ip)
				case "wait":
					clock.add(s.wait)
				case "allow":
					err := th.Allow(s.user, s.ip)
					if s.locked && !errors.Is(err, ErrThrottled) || !s.locked && err != nil {
						t.Fatalf("step %d: Allow(%q, %q) = %v, want locked=%v", i, s.user, s.ip, err, s.locked)
					}
				}
			}
		})
	}
}

func TestThrottleBoundedMemory(t *testing.T) {
	th, clock := newTestThrottle()
	th.maxKeys = 100
	// The victim is locked first, then a spray of distinct names and
	// addresses pushes it out: the cap wins over memory of old lockouts.
	for range 5 {
		th.Fail("victim", "10.0.0.1")
	}
	if th.Allow("victim", "10.0.0.1") == nil {
		t.Fatal("victim not locked")
	}
	for i := range 1000 {
		th.Fail(fmt.Sprintf("user%d", i), fmt.Sprintf("10.1.%d.%d", i/256, i%256))
		if n := th.len(); n > 100 {
			t.Fatalf("after %d failures: %d keys tracked, cap 100", i+1, n)
		}
	}
	if th.Allow("victim", "10.0.0.1") != nil {
		t.Error("victim still locked: oldest entry was not evicted")
	}
	// Everything expires; the next failure prunes the lot.
	clock.add(16 * time.Minute)
	th.Fail("late", "10.9.9.9")
	if n := th.len(); n != 3 {
		t.Errorf("after expiry: %d keys tracked, want 3 (pair, address, name)", n)
	}
}

func TestThrottleDefaults(t *testing.T) {
	th := NewThrottle(0, 0, 0, nil)
	if th.pairMax != 5 || th.ipMax != 20 || th.nameFree != 10 || th.window != 15*time.Minute || th.lockout != 15*time.Minute || th.maxKeys != 100_000 {
		t.Errorf("defaults: %+v", th)
	}
	d := NewDefaultThrottle()
	if d.pairMax != 5 || d.ipMax != 20 {
		t.Errorf("NewDefaultThrottle: pair %d, ip %d", d.pairMax, d.ipMax)
	}
}

func TestThrottleConcurrent(t *testing.T) {
	th, _ := newTestThrottle()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				user := fmt.Sprintf("u%d", i%7)
				ip := fmt.Sprintf("10.0.%d.%d", g, i%3)
				th.Allow(user, ip)
				th.Fail(user, ip)
				if user == "u0" && i%11 == 0 {
					th.Succeed(user, ip)
				}
			}
		})
	}
	wg.Wait()
	if err := th.Allow("u1", "10.0.7.1"); !errors.Is(err, ErrThrottled) {
		t.Errorf("u1 after many failures: %v", err)
	}
}

// TestF12OwnerNotLockedOut: five bad guesses from one address lock that
// address out of the account, not the owner at another address.
func TestF12OwnerNotLockedOut(t *testing.T) {
	th, _ := newTestThrottle()
	for range 5 {
		if err := th.Allow("a_viewer", "127.0.0.2"); err != nil {
			t.Fatalf("attacker refused before 5 failures: %v", err)
		}
		th.Fail("a_viewer", "127.0.0.2")
	}
	if err := th.Allow("a_viewer", "127.0.0.2"); !errors.Is(err, ErrThrottled) {
		t.Errorf("attacker after 5 failures: %v, want throttled", err)
	}
	if err := th.Allow("a_viewer", "127.0.0.3"); err != nil {
		t.Errorf("owner from another address: %v, want allowed", err)
	}
}
