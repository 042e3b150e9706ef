package findings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// MaxIdempotencyKey bounds a request's idempotency key.
const MaxIdempotencyKey = 128

// checkIdempotencyKey refuses keys that are too long or not printable.
func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return fmt.Errorf("%w: idempotency key longer than %d bytes", ErrBadRequest, MaxIdempotencyKey)
	}
	if strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("%w: idempotency key has unprintable characters", ErrBadRequest)
	}
	return nil
}

// keyedJobID is the ID of job j (of one asset) for a request that carries
// an idempotency key. The same requester, key and asset always give the
// same ID, and the store keeps one job per ID: a retried request (the
// client saw a connection error, the server died half way) finds and
// returns the jobs the first attempt stored and creates only those it had
// not reached yet, each published once through the outbox (reliability
// review F3). The requester is part of it, so two people's keys never
// meet; the key itself is hashed, so it never shows in a job ID.
func keyedJobID(j store.ScanJob, p auth.Principal, key string) string {
	who := p.Name
	if p.UserID != 0 || p.TokenID != 0 {
		who = strconv.FormatInt(p.UserID, 10) + "/" + strconv.FormatInt(p.TokenID, 10)
	}
	h := sha256.Sum256([]byte(who + "\x00" + key))
	return fmt.Sprintf("a%d-%s-k%s", j.AssetID, j.Reason, hex.EncodeToString(h[:12]))
}
