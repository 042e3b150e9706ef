package hub

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/shadowserver"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// Sentinel errors.
var (
	// ErrFormat means an import names a format, preset or report the hub
	// cannot read.
	ErrFormat = errors.New("hub: unknown format")
	// ErrFetch means a feed's location could not be read.
	ErrFetch = errors.New("hub: fetch failed")
)

// Store is what the hub reads and writes: the intel part of the store,
// the assets it matches against and the findings it lists.
type Store interface {
	store.Intel
	EachAsset(ctx context.Context, p auth.Principal, fn func(asset.Asset) error) error
	AssetsVersion(ctx context.Context) (int64, error)
	ListFindings(ctx context.Context, p auth.Principal, f store.FindingFilter) (store.Page[store.Finding], error)
}

// Recorder records what a source saw: the findings service.
type Recorder interface {
	Record(ctx context.Context, b finding.Batch) ([]finding.Change, error)
}

// TAXIIPoller reads a TAXII feed's collection (the TAXII client), emitting
// records of the objects added after the last poll. The hook for
// internal/taxii: a feed of format "taxii" runs through it.
type TAXIIPoller interface {
	Poll(ctx context.Context, f store.Feed, emit intel.Emit) (*intel.Rejections, error)
}

// Deps are the hub's collaborators. Store is required.
type Deps struct {
	Store Store
	// Findings receives the early warnings; nil records none (the
	// indicators are still stored).
	Findings Recorder
	// Objects passes imports through the queue; nil reads them in place.
	Objects queue.ObjectStore
	// Schema maps Shadowserver reports; nil is the shipped schema.
	Schema *shadowserver.Schema
	// TAXII polls TAXII feeds; nil makes them fail with a clear error.
	TAXII TAXIIPoller
	// HTTP fetches feeds from URLs; nil is a client with FetchTimeout.
	HTTP *http.Client
	// FetchTimeout bounds one fetch of a feed (default 10 minutes);
	// MaxFetch bounds its size (default 2 GiB).
	FetchTimeout time.Duration
	MaxFetch     int64
	// ObjectRate bounds how fast an input is written into the object
	// store and read back, in bytes a second (default 25 MB/s): the
	// queue's server keeps each block it wrote or read in memory for ten
	// seconds, so the rate is what bounds that memory (about 250 MB)
	// whatever the input's size.
	ObjectRate int64
	// TempDir holds a STIX bundle read from a stream while it is parsed
	// (two passes need a file); "" is the system's.
	TempDir string
	// BatchSize is how many records one transaction applies (default
	// 50,000).
	BatchSize int
	Now       func() time.Time
	Logger    *slog.Logger
}

// Hub is the threat-intelligence hub. Create it with New; it is safe for
// concurrent use.
type Hub struct {
	d   Deps
	mu  sync.Mutex // guards reg
	reg *registry

	runMu   sync.Mutex
	running map[string]bool // feeds being run
}

// New returns a hub.
func New(d Deps) *Hub {
	if d.FetchTimeout <= 0 {
		d.FetchTimeout = 10 * time.Minute
	}
	if d.MaxFetch <= 0 {
		d.MaxFetch = 2 << 30
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{Timeout: d.FetchTimeout}
	}
	if d.ObjectRate <= 0 {
		d.ObjectRate = 25 << 20
	}
	if d.BatchSize <= 0 {
		d.BatchSize = 50_000
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	return &Hub{d: d, running: map[string]bool{}}
}

// sys is the hub acting as the platform.
var sys = auth.SystemPrincipal

// registry returns the current registry snapshot, reloaded when the
// assets changed.
func (h *Hub) registry(ctx context.Context) (*registry, error) {
	v, err := h.d.Store.AssetsVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("hub: assets version: %w", err)
	}
	h.mu.Lock()
	cur := h.reg
	h.mu.Unlock()
	if cur != nil && cur.version == v {
		return cur, nil
	}
	r, err := loadRegistry(ctx, h.d.Store, v)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.reg = r
	h.mu.Unlock()
	return r, nil
}

// Indicators lists indicators as p may see them.
func (h *Hub) Indicators(ctx context.Context, p auth.Principal, f store.IndicatorFilter) (store.Page[store.StoredIndicator], error) {
	return h.d.Store.ListIndicators(ctx, p, f)
}

// IndicatorDetail is one indicator with its sources, the sightings p may
// see and its review, if any.
type IndicatorDetail struct {
	store.StoredIndicator
	SightingList []store.Sighting `json:"sighting_list"`
	Review       *store.Review    `json:"review,omitempty"`
}

// Indicator returns one indicator with what p may see of it.
func (h *Hub) Indicator(ctx context.Context, p auth.Principal, id int64) (IndicatorDetail, error) {
	in, err := h.d.Store.GetIndicator(ctx, p, id)
	if err != nil {
		return IndicatorDetail{}, err
	}
	d := IndicatorDetail{StoredIndicator: in}
	sg, err := h.d.Store.ListSightings(ctx, p, store.SightingFilter{IndicatorID: id, PageRequest: store.PageRequest{Limit: store.MaxLimit}})
	if err != nil {
		return d, err
	}
	d.SightingList = sg.Items
	if p.SeesAll() && p.Can(auth.PermTriage) {
		rv, err := h.d.Store.ListReviews(ctx, p, store.ReviewFilter{IndicatorID: id, PageRequest: store.PageRequest{Limit: 1}})
		if err != nil {
			return d, err
		}
		if len(rv.Items) > 0 {
			d.Review = &rv.Items[0]
		}
	}
	return d, nil
}

// Sighting is a member's report of having seen an indicator.
type Sighting struct {
	Kind      intel.Kind
	Value     string
	OrgID     int64
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
}

// RecordSighting records that p's organization (or one below it) saw an
// indicator. The value is normalized; an indicator the hub does not hold
// is store.ErrNotFound, and so is one that p may not know of (the TLP
// policy, taxii.MayKnow: AMBER+STRICT that does not concern p's
// organization, RED that names neither p nor its organization), with the
// same words, so a sighting never reveals what the hub holds.
func (h *Hub) RecordSighting(ctx context.Context, p auth.Principal, s Sighting) (store.Sighting, error) {
	v, err := intel.NormalizeValue(s.Kind, s.Value)
	if err != nil {
		return store.Sighting{}, fmt.Errorf("hub: sighting: %w: %w", store.ErrInvalid, err)
	}
	if s.Kind == intel.KindCIDR {
		// Records keep a one-address network as the address.
		if a, ok := singleAddr(v); ok {
			s.Kind, v = a.kind, a.value
		}
	}
	// Found as the platform: a member may report seeing a value whatever
	// its marking; the answer carries only the member's own count.
	noSuch := fmt.Errorf("hub: sighting: %w: the hub holds no %s indicator %q", store.ErrNotFound, s.Kind, v)
	in, err := h.d.Store.FindIndicator(ctx, sys, store.IndicatorKey{Kind: s.Kind, Value: v})
	if errors.Is(err, store.ErrNotFound) {
		return store.Sighting{}, noSuch
	}
	if err != nil {
		return store.Sighting{}, err
	}
	known, err := h.mayKnow(ctx, p, &in)
	if err != nil {
		return store.Sighting{}, err
	}
	if !known {
		return store.Sighting{}, noSuch
	}
	return h.d.Store.RecordSighting(ctx, p, store.Sighting{IndicatorID: in.ID, OrgID: s.OrgID, Count: s.Count, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen})
}

// mayKnow applies the TLP policy to an indicator found as the platform:
// whether p may learn that the hub holds it.
func (h *Hub) mayKnow(ctx context.Context, p auth.Principal, in *store.StoredIndicator) (bool, error) {
	a := taxii.Audience{TLP: in.TLP, People: in.Recipients.Users, RecipientOrgs: in.Recipients.Orgs}
	if in.TLP == intel.TLPAmberStrict && p.OrgID != 0 && !p.Role.Global() && !p.System {
		pg, err := h.d.Store.IndicatorsConcerning(ctx, sys, store.ConcernFilter{OrgID: p.OrgID, IndicatorID: in.ID,
			PageRequest: store.PageRequest{Limit: 1}})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("hub: sighting: %w", err)
		}
		if len(pg.Items) > 0 {
			a.Orgs = []int64{p.OrgID}
		}
	}
	return taxii.MayKnow(p, a), nil
}

type kindValue struct {
	kind  intel.Kind
	value string
}

func singleAddr(cidr string) (kindValue, bool) {
	r := intel.Record{Kind: intel.KindCIDR, Value: cidr, Feed: "x"}
	if r.Normalize(time.Time{}) != nil || r.Kind == intel.KindCIDR {
		return kindValue{}, false
	}
	return kindValue{r.Kind, r.Value}, true
}

// EarlyWarnings lists the early-warning findings of an organization's
// subtree (0: every organization p sees), active ones only with active.
func (h *Hub) EarlyWarnings(ctx context.Context, p auth.Principal, orgID int64, active bool, pr store.PageRequest) (store.Page[store.Finding], error) {
	return h.d.Store.ListFindings(ctx, p, store.FindingFilter{PageRequest: pr, OrgID: orgID, Check: "intel.", Active: active})
}

// Feeds lists the feeds with their last run.
func (h *Hub) Feeds(ctx context.Context, p auth.Principal) ([]store.Feed, error) {
	return h.d.Store.ListFeeds(ctx, p)
}

// Feed returns one feed by name.
func (h *Hub) Feed(ctx context.Context, p auth.Principal, name string) (store.Feed, error) {
	return h.d.Store.GetFeedByName(ctx, p, name)
}

// AddFeed configures a feed. Its location must be a path or an http(s)
// URL, and its format one the hub reads.
func (h *Hub) AddFeed(ctx context.Context, p auth.Principal, f *store.Feed) error {
	if err := checkLocation(f); err != nil {
		return err
	}
	return h.d.Store.CreateFeed(ctx, p, f)
}

// UpdateFeed changes a feed's configuration.
func (h *Hub) UpdateFeed(ctx context.Context, p auth.Principal, f *store.Feed) error {
	if err := checkLocation(f); err != nil {
		return err
	}
	return h.d.Store.UpdateFeed(ctx, p, f)
}

// DeleteFeed removes a feed that no indicator names.
func (h *Hub) DeleteFeed(ctx context.Context, p auth.Principal, id int64) error {
	return h.d.Store.DeleteFeed(ctx, p, id)
}

// Feedback lists the owners' disputes of a feed's early warnings.
func (h *Hub) Feedback(ctx context.Context, p auth.Principal, feedID int64, pr store.PageRequest) (store.Page[store.Feedback], error) {
	return h.d.Store.ListFeedback(ctx, p, feedID, pr)
}

func checkLocation(f *store.Feed) error {
	loc := strings.TrimSpace(f.Location)
	if loc == "" {
		return nil
	}
	if f.Format == store.FeedTAXII {
		if !strings.HasPrefix(loc, "https://") && !strings.HasPrefix(loc, "http://") {
			return fmt.Errorf("hub: %w: a TAXII feed's location is the collection's URL", store.ErrInvalid)
		}
		return nil
	}
	if strings.Contains(loc, "://") && !strings.HasPrefix(loc, "https://") && !strings.HasPrefix(loc, "http://") {
		return fmt.Errorf("hub: %w: a feed's location is a path or an http(s) URL, not %q", store.ErrInvalid, loc)
	}
	return nil
}

// Reviews lists the indicators held back from blocklists.
func (h *Hub) Reviews(ctx context.Context, p auth.Principal, f store.ReviewFilter) (store.Page[store.Review], error) {
	return h.d.Store.ListReviews(ctx, p, f)
}

// DecideReview approves (the indicator may be exported) or rejects (it
// stays out of every blocklist) a review.
func (h *Hub) DecideReview(ctx context.Context, p auth.Principal, id int64, approve bool, note string) (store.Review, error) {
	return h.d.Store.DecideReview(ctx, p, id, approve, note)
}

// ConsumerKeyPrefix starts every blocklist consumer key, so a leaked key
// is recognizable.
const ConsumerKeyPrefix = "rpb_"

// HashConsumerKey is how a consumer's key is kept: SHA-256, hex.
func HashConsumerKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func newConsumerKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("hub: consumer key: %w", err)
	}
	return ConsumerKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// CreateConsumer stores a blocklist consumer with a new key, returned
// once: only its hash is kept.
func (h *Hub) CreateConsumer(ctx context.Context, p auth.Principal, c *store.Consumer) (string, error) {
	key, err := newConsumerKey()
	if err != nil {
		return "", err
	}
	c.KeyHash = HashConsumerKey(key)
	if err := h.d.Store.CreateConsumer(ctx, p, c); err != nil {
		return "", err
	}
	return key, nil
}

// RotateConsumerKey gives a consumer a new key (returned once); the old
// one stops working.
func (h *Hub) RotateConsumerKey(ctx context.Context, p auth.Principal, id int64) (string, error) {
	c, err := h.d.Store.GetConsumer(ctx, p, id)
	if err != nil {
		return "", err
	}
	key, err := newConsumerKey()
	if err != nil {
		return "", err
	}
	c.KeyHash = HashConsumerKey(key)
	if err := h.d.Store.UpdateConsumer(ctx, p, &c); err != nil {
		return "", err
	}
	return key, nil
}

// UpdateConsumer changes a consumer's name, organization, filters and
// formats; its key stays.
func (h *Hub) UpdateConsumer(ctx context.Context, p auth.Principal, c *store.Consumer) error {
	c.KeyHash = ""
	return h.d.Store.UpdateConsumer(ctx, p, c)
}

// Consumers lists the blocklist consumers.
func (h *Hub) Consumers(ctx context.Context, p auth.Principal) ([]store.Consumer, error) {
	return h.d.Store.ListConsumers(ctx, p)
}

// DeleteConsumer removes a consumer.
func (h *Hub) DeleteConsumer(ctx context.Context, p auth.Principal, id int64) error {
	return h.d.Store.DeleteConsumer(ctx, p, id)
}

// ConsumerForKey authenticates a blocklist consumer by its key.
func (h *Hub) ConsumerForKey(ctx context.Context, key string) (store.Consumer, error) {
	if !strings.HasPrefix(key, ConsumerKeyPrefix) || len(key) > 200 {
		return store.Consumer{}, fmt.Errorf("hub: consumer key: %w", store.ErrNotFound)
	}
	return h.d.Store.ConsumerForKey(ctx, HashConsumerKey(key))
}
