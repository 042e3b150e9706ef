package auth

import (
	"container/list"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Login throttling defaults: 5 failures for one user name within 15 minutes
// lock that name for 15 minutes; an address gets IPFailureFactor times as
// many (20) before it is locked, since one office NAT carries many people.
const (
	DefaultMaxFailures = 5
	DefaultWindow      = 15 * time.Minute
	DefaultLockout     = 15 * time.Minute
	IPFailureFactor    = 4
	// MaxThrottleKeys caps the keys a Throttle tracks, so a spray of random
	// user names or addresses cannot grow memory without bound.
	MaxThrottleKeys = 100_000
)

// Throttle counts failed logins per user name and per client address and
// locks either one out after too many failures. The two keys are separate:
// guessing many passwords for one account locks the account (from every
// address), and one address spraying many accounts locks the address.
//
// Memory is bounded: entries whose window and lockout have passed are pruned
// as new failures arrive, and past MaxThrottleKeys the least recently failed
// entry is evicted. It is safe for concurrent use.
//
// State is per process. With several API servers each one throttles on its
// own, which multiplies the allowance by the number of servers but keeps
// logins independent of the queue and the store.
type Throttle struct {
	userMax int
	ipMax   int
	window  time.Duration
	lockout time.Duration
	now     func() time.Time
	maxKeys int

	mu    sync.Mutex
	keys  map[string]*list.Element // of *throttleEntry
	order *list.List               // front: most recently failed
}

type throttleEntry struct {
	key         string
	failures    int
	windowStart time.Time
	lockedUntil time.Time
}

// expired reports whether e no longer affects anything at t and may go.
func (e *throttleEntry) expired(t time.Time, window time.Duration) bool {
	return !t.Before(e.windowStart.Add(window)) && !t.Before(e.lockedUntil)
}

// NewThrottle returns a Throttle that locks a user name for lockout after
// maxFailures failures within window, and a client address after
// IPFailureFactor*maxFailures. now is the clock (time.Now if nil).
// Non-positive arguments take the defaults.
func NewThrottle(maxFailures int, window, lockout time.Duration, now func() time.Time) *Throttle {
	if maxFailures <= 0 {
		maxFailures = DefaultMaxFailures
	}
	if window <= 0 {
		window = DefaultWindow
	}
	if lockout <= 0 {
		lockout = DefaultLockout
	}
	if now == nil {
		now = time.Now
	}
	return &Throttle{
		userMax: maxFailures,
		ipMax:   maxFailures * IPFailureFactor,
		window:  window,
		lockout: lockout,
		now:     now,
		maxKeys: MaxThrottleKeys,
		keys:    make(map[string]*list.Element),
		order:   list.New(),
	}
}

// NewDefaultThrottle returns a Throttle with the default limits.
func NewDefaultThrottle() *Throttle {
	return NewThrottle(DefaultMaxFailures, DefaultWindow, DefaultLockout, nil)
}

// Allow returns ErrThrottled while the user name or the client address is
// locked out, and nil otherwise. Call it before checking the password, so a
// locked account costs no argon2 work.
func (t *Throttle) Allow(user, ip string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range throttleKeys(user, ip) {
		el, ok := t.keys[k]
		if !ok {
			continue
		}
		e := el.Value.(*throttleEntry)
		if now.Before(e.lockedUntil) {
			return ErrThrottled
		}
	}
	return nil
}

// Fail records a failed login for user from ip.
func (t *Throttle) Fail(user, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	t.fail(userKey(user), t.userMax, now)
	t.fail(ipKey(ip), t.ipMax, now)
}

// Succeed records a successful login: the user name's failures are
// forgotten. The address keeps its count, so a sprayer that guesses one
// account right is not let off for the others.
func (t *Throttle) Succeed(user, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[userKey(user)]; ok {
		t.remove(el)
	}
}

func (t *Throttle) fail(key string, max int, now time.Time) {
	if key == "" {
		return
	}
	var e *throttleEntry
	if el, ok := t.keys[key]; ok {
		e = el.Value.(*throttleEntry)
		t.order.MoveToFront(el)
	} else {
		for len(t.keys) >= t.maxKeys {
			t.remove(t.order.Back())
		}
		e = &throttleEntry{key: key, windowStart: now}
		t.keys[key] = t.order.PushFront(e)
	}
	if now.Before(e.lockedUntil) {
		// Failures while locked (callers that skipped Allow) neither count
		// nor extend the lockout: a lockout ends when it said it would.
		return
	}
	if !now.Before(e.windowStart.Add(t.window)) {
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	if e.failures >= max {
		e.lockedUntil = now.Add(t.lockout)
		e.failures, e.windowStart = 0, now
	}
}

// prune drops expired entries from the least recently failed end. Entries
// are ordered by their last failure, and expiry follows the last failure, so
// the walk stops at the first live entry; the cost is amortised over Fail.
func (t *Throttle) prune(now time.Time) {
	for el := t.order.Back(); el != nil; el = t.order.Back() {
		if !el.Value.(*throttleEntry).expired(now, t.window) {
			return
		}
		t.remove(el)
	}
}

func (t *Throttle) remove(el *list.Element) {
	delete(t.keys, el.Value.(*throttleEntry).key)
	t.order.Remove(el)
}

// len returns the number of tracked keys, for tests.
func (t *Throttle) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.keys)
}

func throttleKeys(user, ip string) [2]string {
	return [2]string{userKey(user), ipKey(ip)}
}

// userKey folds case: user names are stored lower case, and "Admin" must
// not get a fresh allowance.
func userKey(user string) string {
	user = strings.ToLower(strings.TrimSpace(user))
	if user == "" {
		return ""
	}
	return "u:" + user
}

// ipKey counts an IPv6 client by its /64, the smallest block a site is
// normally given; otherwise one host could rotate through 2^64 addresses.
// It accepts an address or an http.Request.RemoteAddr style "addr:port".
func ipKey(ip string) string {
	if ip == "" {
		return ""
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		ap, err := netip.ParseAddrPort(ip)
		if err != nil {
			return "i:" + ip
		}
		a = ap.Addr()
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "i:" + p.String()
	}
	return "i:" + a.String()
}
