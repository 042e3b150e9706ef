package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
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

// postWebhook sends one signed body; a non-2xx answer is an error. The
// answer is read up to 64 KiB (receivers may be hostile or broken).
func postWebhook(ctx context.Context, c *http.Client, url, secret, key, event string, body []byte, at time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: webhook %s: %v", ErrSend, url, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Rampart-Webhook/1")
	req.Header.Set(HeaderSignature, Sign(secret, body))
	req.Header.Set(HeaderDelivery, key)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderEvent, event)
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%w: webhook: %v", ErrSend, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if len(snippet) > 200 {
			snippet = snippet[:200]
		}
		return fmt.Errorf("%w: webhook %s: HTTP %d: %s", ErrSend, url, resp.StatusCode, bytes.TrimSpace(snippet))
	}
	return nil
}
