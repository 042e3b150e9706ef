package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Webhook headers.
const (
	HeaderSignature = "X-Rampart-Signature" // "sha256=" + hex HMAC-SHA256 of the body with the webhook's secret
	HeaderDelivery  = "X-Rampart-Delivery"  // the delivery's key: the same on every retry, for deduplication
	HeaderTimestamp = "X-Rampart-Timestamp" // Unix seconds of this attempt
	HeaderEvent     = "X-Rampart-Event"     // digest, alert or escalation
)

// Sign returns the X-Rampart-Signature value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature is body's under secret, in constant time.
func Verify(secret string, body []byte, signature string) bool {
	return hmac.Equal([]byte(Sign(secret, body)), []byte(signature))
}

// ErrDestination is wrapped by the error of a webhook the HTTP client
// refused to connect to (the address is private, this server's own, or
// otherwise not allowed); the client that refuses wraps it.
var ErrDestination = errors.New("notify: webhook destination not allowed")

// postWebhook sends one signed body; a non-2xx answer is an error. The
// answer is read up to 64 KiB (receivers may be hostile or broken) and
// never kept.
//
// The error goes into the delivery log, which the organization's members
// read, and the webhook's URL is theirs: it says what happened in generic
// words and an HTTP status, never the answer's body, the address a name
// resolved to or the network error (which would make the log a reader of
// internal services and a port and DNS oracle, security F21). The HTTP
// client logs the details for the operator.
func postWebhook(ctx context.Context, c *http.Client, url, secret, key, event string, body []byte, at time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook: invalid URL", ErrSend)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Rampart-Webhook/1")
	req.Header.Set(HeaderSignature, Sign(secret, body))
	req.Header.Set(HeaderDelivery, key)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderEvent, event)
	resp, err := c.Do(req)
	switch {
	case errors.Is(err, ErrDestination):
		return fmt.Errorf("%w: webhook: destination address not allowed (private, reserved or this server's own)", ErrSend)
	case err != nil:
		return fmt.Errorf("%w: webhook: no answer (name, connection, TLS or time-out)", ErrSend)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: webhook: HTTP %d", ErrSend, resp.StatusCode)
	}
	return nil
}
