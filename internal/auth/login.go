package auth

import (
	"context"
	"errors"
	"time"
)

// LoginUsers is what a login check needs from the store.
type LoginUsers interface {
	// UserForLogin finds an enabled user by name; unknown and disabled
	// users are errors wrapping ErrNotFound.
	UserForLogin(ctx context.Context, name string) (User, error)
	// AcceptTOTPStep records step as the last TOTP step the user's account
	// accepted, atomically, or refuses with an error wrapping
	// ErrTOTPReplay when that step or a later one was accepted before.
	AcceptTOTPStep(ctx context.Context, userID int64, step uint64) error
}

// Login is the one check of a name, a password and (for users who have
// one) a TOTP code, for every face that logs people in or asks them to
// prove who they are again: the API, the console, self-service password
// and TOTP changes. It throttles by name and address (one Throttle for all
// faces), spends the same argon2 work on unknown names, and accepts each
// TOTP code once.
type Login struct {
	Throttle *Throttle
	Users    LoginUsers
	Now      func() time.Time // time.Now if nil
}

// Check returns the user when name, password and code are right. Errors:
// ErrThrottled while the attempt is refused unseen, ErrBadCredentials for
// any wrong part (which one is not said), other errors for failures of the
// store. ip is the client address ("addr" or "addr:port").
func (l Login) Check(ctx context.Context, name, password, code, ip string) (User, error) {
	name = normName(name)
	if err := l.Throttle.Allow(name, ip); err != nil {
		return User{}, err
	}
	u, err := l.Users.UserForLogin(ctx, name)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, err
	}
	ok := false
	if err == nil && name != "" {
		ok, _ = VerifyPassword(password, u.PasswordHash)
	} else {
		// Spend the same time on unknown names, so timing does not tell
		// which names exist.
		_, _ = VerifyPassword(password, DummyHash())
	}
	if ok && u.TOTPSecret != "" {
		now := time.Now
		if l.Now != nil {
			now = l.Now
		}
		step, match := MatchTOTP(u.TOTPSecret, code, now())
		ok = match
		if match {
			if err := l.Users.AcceptTOTPStep(ctx, u.ID, step); err != nil {
				if !errors.Is(err, ErrTOTPReplay) {
					return User{}, err
				}
				ok = false
			}
		}
	}
	if !ok {
		l.Throttle.Fail(name, ip)
		return User{}, ErrBadCredentials
	}
	l.Throttle.Succeed(name, ip)
	return u, nil
}
