package decision

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

// LAPI serves the bouncer endpoints of the CrowdSec Local API, so
// members' existing CrowdSec bouncers pull national decisions unchanged:
//
//	GET|HEAD /v1/decisions/stream?startup=true|false  new and deleted since the bouncer's last pull
//	GET|HEAD /v1/decisions?ip=|range=|scope=&value=   the active decisions matching
//	POST /v1/usage-metrics                             newer bouncers' reports: read and dropped
//
// A bouncer authenticates with its own key in X-Api-Key (rampart bouncers
// add). startup=true returns every active decision; later calls what
// changed since that bouncer's cursor, which the store keeps. Mount it at
// the server's root: its paths begin with /v1/.
type LAPI struct {
	St     store.Decisions
	Now    func() time.Time // nil: time.Now
	Logger *slog.Logger     // nil: slog.Default()
	// TrustProxy takes the bouncer's address from X-Forwarded-For.
	TrustProxy bool

	mu    sync.Mutex
	wrote map[int64]time.Time // when each bouncer's quiet pull was last stored
}

// lapiDecision is a decision as CrowdSec's models.Decision spells it.
type lapiDecision struct {
	Duration  string `json:"duration"`
	ID        int64  `json:"id"`
	Origin    string `json:"origin"`
	Scenario  string `json:"scenario"`
	Scope     string `json:"scope"`
	Simulated bool   `json:"simulated"`
	Type      string `json:"type"`
	Until     string `json:"until,omitempty"`
	UUID      string `json:"uuid,omitempty"`
	Value     string `json:"value"`
}

// streamResponse is DecisionsStreamResponse; empty lists are null, as the
// Local API sends them.
type streamResponse struct {
	New     []lapiDecision `json:"new"`
	Deleted []lapiDecision `json:"deleted"`
}

// quietWrite is how often a pull that brought nothing is stored (its
// time, for the console); pulls that bring something are always stored.
const quietWrite = 10 * time.Second

func (h *LAPI) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *LAPI) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

var _ http.Handler = (*LAPI)(nil)

func (h *LAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSuffix(r.URL.Path, "/") == "/v1/usage-metrics" {
		h.usageMetrics(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		lapiError(w, http.StatusMethodNotAllowed, "only GET and HEAD")
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path != "/v1/decisions/stream" && path != "/v1/decisions" {
		lapiError(w, http.StatusNotFound, "no such route: only the bouncer endpoints /v1/decisions and /v1/decisions/stream")
		return
	}
	b, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		lapiError(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	now := h.now()
	if _, err := h.St.ExpireDecisions(ctx, now); err != nil {
		h.fail(w, err)
		return
	}
	if path == "/v1/decisions" {
		h.list(w, r, q, now)
		return
	}
	var (
		resp   streamResponse
		cursor = b.Cursor
	)
	if q.startup {
		active, seq, err := h.St.ActiveDecisions(ctx, now)
		if err != nil {
			h.fail(w, err)
			return
		}
		for i := range active {
			if q.wants(&active[i]) && active[i].Until.Sub(now) >= time.Second {
				resp.New = append(resp.New, toLAPI(&active[i], now))
			}
		}
		cursor = seq
	} else {
		changes, err := h.St.DecisionChanges(ctx, b.Cursor)
		if err != nil {
			h.fail(w, err)
			return
		}
		for i := range changes {
			d := &changes[i]
			cursor = max(cursor, d.Seq)
			if !q.wants(d) {
				continue
			}
			switch {
			case d.State == store.DecisionActive && d.Until.Sub(now) < time.Second:
				// Runs out before a bouncer could use it ("0s" is no
				// timeout to nftables): the expiry sends it as deleted.
			case d.State == store.DecisionActive:
				if d.ActivatedAt != nil && d.UpdatedAt.After(*d.ActivatedAt) {
					// Extended: bouncers skip an address they hold (with
					// its first timeout), so it is deleted and added again.
					resp.Deleted = append(resp.Deleted, toLAPI(d, now))
				}
				resp.New = append(resp.New, toLAPI(d, now))
			case d.ActivatedAt != nil:
				resp.Deleted = append(resp.Deleted, toLAPI(d, now))
			}
		}
	}
	h.record(ctx, r, b, q.startup, store.BouncerPull{At: now, Cursor: cursor, New: len(resp.New), Deleted: len(resp.Deleted)})
	writeJSON(w, resp)
}

// maxMetricsBody bounds a bouncer's usage metrics report.
const maxMetricsBody = 1 << 20

// usageMetrics answers POST /v1/usage-metrics, which newer bouncers send
// every half hour: the report is read (at most maxMetricsBody, valid
// JSON) and dropped, so they do not log errors; the pulls themselves are
// what the console shows.
func (h *LAPI) usageMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		lapiError(w, http.StatusMethodNotAllowed, "only POST")
		return
	}
	if _, ok := h.authenticate(w, r); !ok {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMetricsBody))
	if err != nil || !json.Valid(body) {
		lapiError(w, http.StatusBadRequest, "usage metrics: a JSON body of at most 1 MiB")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"message":"usage metrics received"}`))
}

// authenticate finds the bouncer of the request's key, or answers 403 as
// the Local API does.
func (h *LAPI) authenticate(w http.ResponseWriter, r *http.Request) (store.Bouncer, bool) {
	key := r.Header.Get("X-Api-Key")
	if key == "" || len(key) > 256 {
		lapiError(w, http.StatusForbidden, "access forbidden")
		return store.Bouncer{}, false
	}
	b, err := h.St.BouncerForKey(r.Context(), auth.HashToken(key))
	if errors.Is(err, store.ErrNotFound) {
		lapiError(w, http.StatusForbidden, "access forbidden")
		return store.Bouncer{}, false
	}
	if err != nil {
		h.fail(w, err)
		return store.Bouncer{}, false
	}
	return b, true
}

// list answers GET /v1/decisions: the active decisions an address,
// network or value matches; null when none.
func (h *LAPI) list(w http.ResponseWriter, r *http.Request, q query, now time.Time) {
	active, _, err := h.St.ActiveDecisions(r.Context(), now)
	if err != nil {
		h.fail(w, err)
		return
	}
	var out []lapiDecision
	for i := range active {
		d := &active[i]
		if q.wants(d) && q.matches(d) {
			out = append(out, toLAPI(d, now))
		}
	}
	writeJSON(w, out)
}

// record stores the pull: always when it brought something or was a
// startup, else at most every quietWrite per bouncer.
func (h *LAPI) record(ctx context.Context, r *http.Request, b store.Bouncer, startup bool, pl store.BouncerPull) {
	busy := startup || pl.New > 0 || pl.Deleted > 0 || pl.Cursor != b.Cursor
	h.mu.Lock()
	if h.wrote == nil {
		h.wrote = map[int64]time.Time{}
	}
	if !busy && pl.At.Sub(h.wrote[b.ID]) < quietWrite {
		h.mu.Unlock()
		return
	}
	h.wrote[b.ID] = pl.At
	h.mu.Unlock()
	pl.Addr, pl.Agent = h.clientIP(r), r.UserAgent()
	if err := h.St.RecordPull(ctx, b.ID, pl); err != nil && ctx.Err() == nil {
		h.logger().Warn("decision stream: record pull", "bouncer", b.Name, "err", err)
	}
}

func (h *LAPI) clientIP(r *http.Request) string {
	if h.TrustProxy {
		if f := r.Header.Get("X-Forwarded-For"); f != "" {
			return strings.TrimSpace(strings.Split(f, ",")[0])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (h *LAPI) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	h.logger().Error("decision stream failed", "err", err)
	lapiError(w, http.StatusInternalServerError, "decisions are unavailable, try again later")
}

// toLAPI spells d for a bouncer: the time left as a Go duration in whole
// seconds ("3h59m12s"), the scope as "Ip" or "Range".
func toLAPI(d *store.Decision, now time.Time) lapiDecision {
	left := max(d.Until.Sub(now).Truncate(time.Second), 0)
	scope := "Ip"
	if d.Scope == store.ScopeRange {
		scope = "Range"
	}
	return lapiDecision{Duration: left.String(), ID: d.ID, Origin: d.Origin, Scenario: d.Scenario, Scope: scope,
		Type: d.Type, Until: d.Until.UTC().Format(time.RFC3339), UUID: d.UUID, Value: d.Value}
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		lapiError(w, http.StatusInternalServerError, "encode")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// lapiError writes the Local API's ErrorResponse.
func lapiError(w http.ResponseWriter, code int, msg string) {
	b, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// matchAddr reports whether decision d covers (contains: true) or lies
// inside (contains: false) network p.
func matchAddr(d *store.Decision, p netip.Prefix, contains bool) bool {
	dp, err := parseNet(d.Value)
	if err != nil {
		return false
	}
	if contains {
		return dp.Bits() <= p.Bits() && dp.Contains(p.Addr())
	}
	return p.Bits() <= dp.Bits() && p.Contains(dp.Addr())
}
