package ct

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Errors of the client.
var (
	ErrLog      = errors.New("discovery: ct: log")          // the log answered something unusable
	ErrResponse = errors.New("discovery: ct: bad response") // a response that does not parse
)

// Limits of the client.
const (
	// DefaultBatch is how many entries one get-entries asks for; a log
	// that returns fewer has a smaller maximum, which the client then
	// keeps to.
	DefaultBatch = 256
	// MaxBatch caps a configured batch.
	MaxBatch = 1000
	// MaxResponse caps one response body.
	MaxResponse = 64 << 20
	// DefaultTimeout bounds one request.
	DefaultTimeout = 30 * time.Second
)

// STH is a signed tree head (RFC 6962 4.3).
type STH struct {
	TreeSize          uint64 `json:"tree_size"`
	Timestamp         uint64 `json:"timestamp"`
	SHA256RootHash    []byte `json:"sha256_root_hash"`
	TreeHeadSignature []byte `json:"tree_head_signature"`
}

// RawEntry is one element of a get-entries response.
type RawEntry struct {
	LeafInput []byte `json:"leaf_input"`
	ExtraData []byte `json:"extra_data"`
}

// EntriesResponse is the body of get-entries, and the file format of a
// saved batch.
type EntriesResponse struct {
	Entries []RawEntry `json:"entries"`
}

// Client reads one log. The zero value is not usable: set URL.
type Client struct {
	// URL is the log's base URL as the log list gives it
	// ("https://ct.example/2026/"); requests go to URL + "ct/v1/...".
	URL string
	// HTTP sends the requests; nil uses a client with DefaultTimeout.
	HTTP *http.Client
	// Batch is how many entries to ask for at once (default
	// DefaultBatch, at most MaxBatch).
	Batch int
	// Key, when set, is the log's public key: GetSTH then verifies the
	// tree head's signature.
	Key crypto.PublicKey
	// UserAgent identifies the platform to the log.
	UserAgent string
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: DefaultTimeout}
}

func (c *Client) endpoint(path string) (string, error) {
	base := c.URL
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http(s) URL", ErrLog, base)
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base + "ct/v1/" + path, nil
}

// get fetches path and decodes its JSON body into v, reading at most
// MaxResponse bytes, within DefaultTimeout unless ctx ends first.
func (c *Client) get(ctx context.Context, path string, v any) error {
	u, err := c.endpoint(path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLog, u, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrLog, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return fmt.Errorf("%w: %s: read: %w", ErrLog, u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s: HTTP %d: %s", ErrLog, u, resp.StatusCode, snippet(body))
	}
	if len(body) > MaxResponse {
		return fmt.Errorf("%w: %s: body larger than %d bytes", ErrResponse, u, MaxResponse)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrResponse, u, err)
	}
	return nil
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}

// GetSTH fetches the log's current tree head, and verifies its signature
// when c.Key is set.
func (c *Client) GetSTH(ctx context.Context) (STH, error) {
	var sth STH
	if err := c.get(ctx, "get-sth", &sth); err != nil {
		return sth, err
	}
	if len(sth.SHA256RootHash) != 32 {
		return sth, fmt.Errorf("%w: get-sth: root hash of %d bytes", ErrResponse, len(sth.SHA256RootHash))
	}
	if c.Key != nil {
		if err := VerifySTH(c.Key, sth); err != nil {
			return sth, err
		}
	}
	return sth, nil
}

// GetEntries fetches entries start to end inclusive; the log may return
// fewer (its maximum batch), never more.
func (c *Client) GetEntries(ctx context.Context, start, end uint64) ([]RawEntry, error) {
	if end < start {
		return nil, fmt.Errorf("%w: get-entries %d-%d: end before start", ErrLog, start, end)
	}
	var r EntriesResponse
	q := "get-entries?start=" + strconv.FormatUint(start, 10) + "&end=" + strconv.FormatUint(end, 10)
	if err := c.get(ctx, q, &r); err != nil {
		return nil, err
	}
	if uint64(len(r.Entries)) > end-start+1 {
		return nil, fmt.Errorf("%w: get-entries %d-%d returned %d entries", ErrResponse, start, end, len(r.Entries))
	}
	return r.Entries, nil
}

// Position is where a scan of one log stands: the next index to read.
type Position struct {
	Next     uint64 // the first entry not yet read
	TreeSize uint64 // the tree size of the last tree head seen
}

// Scan reads entries from pos.Next up to the current tree size (or until
// limit entries when limit > 0), in batches, calling fn for each with its
// index; it returns the position to resume from, also on error and when
// ctx ends (what fn has seen is never read again). A log that returns
// fewer entries than asked has a smaller maximum batch: the client keeps
// to that size from then on. An error from fn stops the scan at that
// entry.
func (c *Client) Scan(ctx context.Context, pos Position, limit uint64, fn func(index uint64, e RawEntry) error) (Position, error) {
	sth, err := c.GetSTH(ctx)
	if err != nil {
		return pos, err
	}
	if sth.TreeSize < pos.Next {
		return pos, fmt.Errorf("%w: tree size %d is below the position %d already read (a different log at this URL?)", ErrLog, sth.TreeSize, pos.Next)
	}
	pos.TreeSize = sth.TreeSize
	end := sth.TreeSize
	if limit > 0 && end-pos.Next > limit {
		end = pos.Next + limit
	}
	batch := uint64(c.Batch)
	if batch == 0 {
		batch = DefaultBatch
	}
	batch = min(batch, MaxBatch)
	for pos.Next < end {
		if err := ctx.Err(); err != nil {
			return pos, err
		}
		last := min(pos.Next+batch, end) - 1
		es, err := c.GetEntries(ctx, pos.Next, last)
		if err != nil {
			return pos, err
		}
		if len(es) == 0 {
			return pos, fmt.Errorf("%w: get-entries %d-%d returned nothing below the tree size %d", ErrLog, pos.Next, last, sth.TreeSize)
		}
		if n := uint64(len(es)); n < last-pos.Next+1 {
			batch = n
		}
		for _, e := range es {
			if err := fn(pos.Next, e); err != nil {
				return pos, err
			}
			pos.Next++
		}
	}
	return pos, nil
}
