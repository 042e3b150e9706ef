package auth

import (
	"container/list"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Login throttling defaults. Lockouts are per (user name, client address)
// pair, so whoever guesses at an account locks out only themselves; an
// address is locked after IPFailureFactor times as many failures (20), since
// one office NAT carries many people; and a user name that keeps failing
// from many addresses slows down for everybody who has not logged in as it
// from their address before (a progressive delay, not a lockout).
const (
	DefaultMaxFailures = 5
	DefaultWindow      = 15 * time.Minute
	DefaultLockout     = 15 * time.Minute
	IPFailureFactor    = 4
	// NameFreeFactor times the pair limit (10) failures for one name, from
	// any addresses, within the window are free; each failure after that
	// doubles the delay before the name may be tried again, from one
	// second up to MaxNameDelay.
	NameFreeFactor = 2
	MaxNameDelay   = 30 * time.Second
	// KnownGoodFor is how long an address a user logged in from is
	// exempt from that name's slow-down.
	KnownGoodFor = 30 * 24 * time.Hour
	// MaxThrottleKeys caps the keys a Throttle tracks, so a spray of random
	// user names or addresses cannot grow memory without bound.
	MaxThrottleKeys = 100_000
)

// Throttle counts failed logins and refuses attempts that come too fast. It
// keeps three counts:
//
//   - per (user name, address) pair: maxFailures failures within the window
//     lock that pair for the lockout. An attacker's guesses lock out the
//     attacker, never the account's owner at another address.
//   - per address: IPFailureFactor*maxFailures failures lock the address
//     for every name (one address spraying many accounts).
//   - per user name, from every address: past NameFreeFactor*maxFailures
//     failures within the window, the name may be tried once per delay
//     that doubles with each further failure (at most MaxNameDelay), so
//     guessing from many addresses stays slow. An address the name logged
//     in from successfully within KnownGoodFor is not slowed down: the
//     owner at their usual place is never held up by an attack elsewhere.
//
// Memory is bounded: entries whose window and lockout have passed are pruned
// as new failures arrive, and past MaxThrottleKeys the least recently used
// entry is evicted. It is safe for concurrent use.
//
// State is per process: `rampart serve` builds one Throttle and hands it to
// the API and the console, so both faces count the same failures. With
// several API servers each one throttles on its own, which multiplies the
// allowance by the number of servers.
type Throttle struct {
	pairMax  int
	ipMax    int
	nameFree int
	window   time.Duration
	lockout  time.Duration
	now      func() time.Time
	maxKeys  int

	mu    sync.Mutex
	keys  map[string]*list.Element // of *throttleEntry
	order *list.List               // front: most recently touched
}

type throttleEntry struct {
	key         string
	failures    int
	windowStart time.Time
	lastFail    time.Time
	lockedUntil time.Time // pairs and addresses
	goodUntil   time.Time // known-good (name, address) pairs
}

// expired reports whether e no longer affects anything at t and may go.
func (e *throttleEntry) expired(t time.Time, window time.Duration) bool {
	return !t.Before(e.windowStart.Add(window)) && !t.Before(e.lockedUntil) && !t.Before(e.goodUntil)
}

// NewThrottle returns a Throttle that locks a (user name, address) pair for
// lockout after maxFailures failures within window, an address after
// IPFailureFactor*maxFailures, and slows a name down after
// NameFreeFactor*maxFailures. now is the clock (time.Now if nil).
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
		pairMax:  maxFailures,
		ipMax:    maxFailures * IPFailureFactor,
		nameFree: maxFailures * NameFreeFactor,
		window:   window,
		lockout:  lockout,
		now:      now,
		maxKeys:  MaxThrottleKeys,
		keys:     make(map[string]*list.Element),
		order:    list.New(),
	}
}

// NewDefaultThrottle returns a Throttle with the default limits.
func NewDefaultThrottle() *Throttle {
	return NewThrottle(DefaultMaxFailures, DefaultWindow, DefaultLockout, nil)
}

// Allow returns an error wrapping ErrThrottled while the pair or the
// address is locked out or the name is slowed down, and nil otherwise. Call
// it before checking the password, so a refused attempt costs no argon2
// work, and call Fail or Succeed after.
func (t *Throttle) Allow(user, ip string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range []string{pairKey(user, ip), ipKey(ip)} {
		if e := t.get(k); e != nil && now.Before(e.lockedUntil) {
			return ErrThrottled
		}
	}
	e := t.get(userKey(user))
	if e == nil || !now.Before(e.windowStart.Add(t.window)) || e.failures <= t.nameFree {
		return nil
	}
	if g := t.get(goodKey(user, ip)); g != nil && now.Before(g.goodUntil) {
		return nil
	}
	if wait := e.lastFail.Add(t.nameDelay(e.failures)).Sub(now); wait > 0 {
		return fmt.Errorf("%w (retry in %s)", ErrThrottled, wait.Round(time.Second))
	}
	return nil
}

// nameDelay is how long a name that failed n times in the window waits
// before its next attempt.
func (t *Throttle) nameDelay(n int) time.Duration {
	over := n - t.nameFree
	if over <= 0 {
		return 0
	}
	if over > 10 {
		return MaxNameDelay
	}
	return min(time.Second<<(over-1), MaxNameDelay)
}

// Fail records a failed login for user from ip.
func (t *Throttle) Fail(user, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.prune(now)
	t.fail(pairKey(user, ip), t.pairMax, now)
	t.fail(ipKey(ip), t.ipMax, now)
	t.fail(userKey(user), 0, now)
}

// Succeed records a successful login: the pair's failures are forgotten
// and the address becomes known-good for the name. The address keeps its
// count, so a sprayer that guesses one account right is not let off for
// the others; the name keeps its count too, so an attack from elsewhere
// does not start over because the owner logged in.
func (t *Throttle) Succeed(user, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.keys[pairKey(user, ip)]; ok {
		t.remove(el)
	}
	if k := goodKey(user, ip); k != "" {
		e := t.entry(k, t.now())
		e.goodUntil = t.now().Add(KnownGoodFor)
	}
}

func (t *Throttle) get(key string) *throttleEntry {
	if key == "" {
		return nil
	}
	if el, ok := t.keys[key]; ok {
		return el.Value.(*throttleEntry)
	}
	return nil
}

// entry returns the entry of key, made if missing, as the most recently
// used one.
func (t *Throttle) entry(key string, now time.Time) *throttleEntry {
	if el, ok := t.keys[key]; ok {
		t.order.MoveToFront(el)
		return el.Value.(*throttleEntry)
	}
	for len(t.keys) >= t.maxKeys {
		t.remove(t.order.Back())
	}
	e := &throttleEntry{key: key, windowStart: now}
	t.keys[key] = t.order.PushFront(e)
	return e
}

// fail counts a failure on key; max > 0 locks the key at max failures.
func (t *Throttle) fail(key string, max int, now time.Time) {
	if key == "" {
		return
	}
	e := t.entry(key, now)
	if now.Before(e.lockedUntil) {
		// Failures while locked (callers that skipped Allow) neither count
		// nor extend the lockout: a lockout ends when it said it would.
		return
	}
	if !now.Before(e.windowStart.Add(t.window)) {
		e.failures, e.windowStart = 0, now
	}
	e.failures++
	e.lastFail = now
	if max > 0 && e.failures >= max {
		e.lockedUntil = now.Add(t.lockout)
		e.failures, e.windowStart = 0, now
	}
}

// prune drops expired entries from the least recently used end. The walk
// stops at the first live entry; the cost is amortised over Fail, and
// MaxThrottleKeys bounds what a long-lived entry keeps behind it.
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

// normName folds case: user names are stored lower case, and "Admin" must
// not get a fresh allowance.
func normName(user string) string { return strings.ToLower(strings.TrimSpace(user)) }

func userKey(user string) string {
	if user = normName(user); user == "" {
		return ""
	}
	return "u:" + user
}

// pairKey is the (name, address) key; an empty name still counts per
// address.
func pairKey(user, ip string) string {
	a := ipKey(ip)
	if a == "" {
		return ""
	}
	return "p:" + normName(user) + "\x00" + a
}

func goodKey(user, ip string) string {
	u, a := normName(user), ipKey(ip)
	if u == "" || a == "" {
		return ""
	}
	return "g:" + u + "\x00" + a
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
