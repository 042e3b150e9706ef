package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// client speaks to one platform's API as the bootstrap administrator
// (RAMPART_ADMIN_TOKEN). Answers are read up to 8 MiB.
type client struct {
	base  string
	token string
	http  *http.Client
}

func newClient(base, token string) *client {
	return &client{base: base, token: token, http: &http.Client{Timeout: 15 * time.Second}}
}

// apiError is an answer other than the one expected.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

// do sends a request and decodes a JSON answer of status want into out.
func (c *client) do(ctx context.Context, method, path string, hdr map[string]string, in, out any, want int) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		if len(b) > 300 {
			b = b[:300]
		}
		return &apiError{status: resp.StatusCode, body: string(b)}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

type orgJSON struct {
	ID int64 `json:"id"`
}

type assetJSON struct {
	ID    int64  `json:"id"`
	OrgID int64  `json:"org_id"`
	Value string `json:"value"`
	State string `json:"state"`
}

type jobJSON struct {
	ID        string `json:"id"`
	AssetID   int64  `json:"asset_id"`
	State     string `json:"state"`
	Worker    string `json:"worker"`
	Error     string `json:"error"`
	CreatedAt string `json:"created_at"`
}

type findingJSON struct {
	ID      int64  `json:"id"`
	AssetID int64  `json:"asset_id"`
	Check   string `json:"check"`
	Target  string `json:"target"`
	Subject string `json:"subject"`
	State   string `json:"state"`
}

type observationJSON struct {
	AssetID int64  `json:"asset_id"`
	IP      string `json:"ip"`
	Port    int    `json:"port"`
	State   string `json:"state"`
}

type page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next"`
}

// all reads every page of a listing.
func all[T any](ctx context.Context, c *client, path string) ([]T, error) {
	var out []T
	after := ""
	for {
		u := path + "&limit=500"
		if after != "" {
			u += "&after=" + url.QueryEscape(after)
		}
		var p page[T]
		if err := c.do(ctx, "GET", u, nil, nil, &p, 200); err != nil {
			return nil, err
		}
		out = append(out, p.Items...)
		if p.Next == "" {
			return out, nil
		}
		after = p.Next
	}
}

// constituency registers one organization owning an ipv4 asset per lab
// host, and returns the assets in host order.
func (c *client) constituency(ctx context.Context, code string, hosts []string) ([]assetJSON, error) {
	var o orgJSON
	if err := c.do(ctx, "POST", "/api/v1/orgs", nil, map[string]any{"code": code, "name": "Đơn vị thử lỗi " + code, "name_en": "Faults " + code, "kind": "agency"}, &o, 201); err != nil {
		return nil, fmt.Errorf("faults: create organization: %w", err)
	}
	out := make([]assetJSON, 0, len(hosts))
	for _, h := range hosts {
		var a assetJSON
		if err := c.do(ctx, "POST", "/api/v1/assets", nil, map[string]any{"org_id": o.ID, "kind": "ipv4", "value": h}, &a, 201); err != nil {
			return nil, fmt.Errorf("faults: create asset %s: %w", h, err)
		}
		out = append(out, a)
	}
	// The scope index is rebuilt in the background after asset writes:
	// a scan asked for before it knows the assets would be refused.
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range out {
		for {
			var m struct {
				AssetID int64 `json:"asset_id"`
			}
			err := c.do(ctx, "GET", "/api/v1/scope?target="+url.QueryEscape(a.Value), nil, nil, &m, 200)
			if err == nil && m.AssetID == a.ID {
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("faults: asset %s not in scope after 30 s: %v", a.Value, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return out, nil
}

// scan asks for a scan of one asset; key is its Idempotency-Key.
func (c *client) scan(ctx context.Context, assetID int64, key string) ([]jobJSON, error) {
	return c.scanOf(ctx, map[string]any{"asset_id": assetID}, key)
}

// scanOrg asks for a scan of every asset of an organization.
func (c *client) scanOrg(ctx context.Context, orgID int64, key string) ([]jobJSON, error) {
	return c.scanOf(ctx, map[string]any{"org_id": orgID}, key)
}

func (c *client) scanOf(ctx context.Context, body map[string]any, key string) ([]jobJSON, error) {
	var r struct {
		Items []jobJSON `json:"items"`
	}
	hdr := map[string]string{}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	err := c.do(ctx, "POST", "/api/v1/scans", hdr, body, &r, 202)
	return r.Items, err
}

func (c *client) jobs(ctx context.Context) ([]jobJSON, error) {
	return all[jobJSON](ctx, c, "/api/v1/scans?")
}

// waitJobs polls the jobs until done(jobs) or the timeout; it returns the
// last listing. Errors while polling (a server down) are retried.
func (c *client) waitJobs(ctx context.Context, timeout time.Duration, done func([]jobJSON) bool) ([]jobJSON, error) {
	deadline := time.Now().Add(timeout)
	var last []jobJSON
	var lastErr error
	for {
		js, err := c.jobs(ctx)
		if err == nil {
			last = js
			if done(js) {
				return js, nil
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			if lastErr != nil && last == nil {
				return nil, lastErr
			}
			return last, fmt.Errorf("faults: jobs not settled after %v: %s", timeout, summary(last))
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// summary counts jobs by state.
func summary(js []jobJSON) string {
	by := map[string]int{}
	for _, j := range js {
		by[j.State]++
	}
	return fmt.Sprintf("%v", by)
}

// finished reports whether every job is done, failed or unreachable.
func finished(js []jobJSON) bool {
	for _, j := range js {
		if j.State == "queued" || j.State == "running" {
			return false
		}
	}
	return true
}

func countState(js []jobJSON, state string) int {
	n := 0
	for _, j := range js {
		if j.State == state {
			n++
		}
	}
	return n
}

// results is what the platform holds for the lab hosts.
type results struct {
	findings    int
	perAsset    map[int64]int // findings of each asset
	duplicates  int           // findings sharing (asset, check, target, subject)
	events      int           // history entries of all findings
	extraEvents int           // entries beyond one per finding
	openObs     map[int64]int // open observations on the lab's ports, per asset
}

// collect reads findings (with their histories) and observations.
func (c *client) collect(ctx context.Context, assets []assetJSON) (results, error) {
	r := results{perAsset: map[int64]int{}, openObs: map[int64]int{}}
	ours := map[int64]bool{}
	for _, a := range assets {
		ours[a.ID] = true
	}
	fs, err := all[findingJSON](ctx, c, "/api/v1/findings?")
	if err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for _, f := range fs {
		if !ours[f.AssetID] {
			continue
		}
		r.findings++
		r.perAsset[f.AssetID]++
		k := fmt.Sprintf("%d|%s|%s|%s", f.AssetID, f.Check, f.Target, f.Subject)
		if seen[k] {
			r.duplicates++
		}
		seen[k] = true
		var h struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := c.do(ctx, "GET", fmt.Sprintf("/api/v1/findings/%d/history", f.ID), nil, nil, &h, 200); err != nil {
			return r, err
		}
		r.events += len(h.Items)
		if len(h.Items) > 1 {
			r.extraEvents += len(h.Items) - 1
		}
	}
	obs, err := all[observationJSON](ctx, c, "/api/v1/observations?state=open")
	if err != nil {
		return r, err
	}
	for _, o := range obs {
		if ours[o.AssetID] && (o.Port == labPorts[0] || o.Port == labPorts[1]) {
			r.openObs[o.AssetID]++
		}
	}
	return r, nil
}

// check compares the results with what every lab host gives: the same
// number of findings on each, no duplicate, one history entry each, and
// every lab port observed open. It returns a problem or "".
func (r results) check(assets []assetJSON) string {
	want := -1
	for _, a := range assets {
		n := r.perAsset[a.ID]
		if n == 0 {
			return fmt.Sprintf("asset %s has no finding", a.Value)
		}
		if want >= 0 && n != want {
			return fmt.Sprintf("asset %s has %d findings, another %d", a.Value, n, want)
		}
		want = n
		if r.openObs[a.ID] != len(labPorts) {
			return fmt.Sprintf("asset %s has %d of %d lab ports open", a.Value, r.openObs[a.ID], len(labPorts))
		}
	}
	if r.duplicates > 0 {
		return fmt.Sprintf("%d duplicate findings", r.duplicates)
	}
	if r.extraEvents > 0 {
		return fmt.Sprintf("%d history entries beyond one per finding", r.extraEvents)
	}
	return ""
}

func (r results) String() string {
	obs := 0
	for _, n := range r.openObs {
		obs += n
	}
	return fmt.Sprintf("findings %d, events %d, duplicates %d, open lab ports %d", r.findings, r.events, r.duplicates, obs)
}
