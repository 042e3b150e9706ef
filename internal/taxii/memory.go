package taxii

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
)

// MemoryBackend is a complete Backend held in memory, over the reference
// policy (MayRead, MaySee): one national collection per TLP ceiling and
// one collection per organization. It is what the tests and the demo
// serve, and the model a store-backed Backend follows. It is safe for
// concurrent use.
type MemoryBackend struct {
	clock func() time.Time

	mu       sync.RWMutex
	orgs     map[int64]string    // organizations with a collection
	log      []Object            // every version, in position order
	audience map[string]Audience // by object id: the latest
	seq      int64
	last     time.Time
}

// NewMemoryBackend returns an empty backend; clock is time.Now when nil.
func NewMemoryBackend(clock func() time.Time) *MemoryBackend {
	if clock == nil {
		clock = time.Now
	}
	return &MemoryBackend{clock: clock, orgs: map[int64]string{}, audience: map[string]Audience{}}
}

var _ Backend = (*MemoryBackend)(nil)

// AddOrg gives organization id (named name) its collection, even while
// no indicator concerns it.
func (m *MemoryBackend) AddOrg(id int64, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orgs[id] = name
}

// Add adds a version of an indicator for audience a (a.TLP is taken from
// the indicator when empty). The audience of the indicator's id becomes
// a, for every version.
func (m *MemoryBackend) Add(in intel.Indicator, a Audience) (Object, error) {
	o, err := indicatorObject(in)
	if err != nil {
		return Object{}, err
	}
	if a.TLP == "" {
		a.TLP = in.TLP
	}
	return m.add(o, a), nil
}

// AddObject adds a STIX 2.1 object as is (a malware, a relationship, a
// marking definition) for audience a. It must have type, id and created
// or modified.
func (m *MemoryBackend) AddObject(body json.RawMessage, a Audience) (Object, error) {
	var head struct {
		Type, ID, Created, Modified string
		SpecVersion                 string `json:"spec_version"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return Object{}, fmt.Errorf("taxii: add object: %w", err)
	}
	if head.Type == "" || !strings.HasPrefix(head.ID, head.Type+"--") {
		return Object{}, fmt.Errorf("taxii: add object: type %q and id %q do not agree", head.Type, head.ID)
	}
	v := head.Modified
	if v == "" {
		v = head.Created
	}
	version, err := ParseTimestamp(v)
	if err != nil {
		return Object{}, fmt.Errorf("taxii: add object %s: modified: %w", head.ID, err)
	}
	if head.SpecVersion == "" {
		head.SpecVersion = "2.1"
	}
	return m.add(Object{ID: head.ID, Type: head.Type, Version: version, SpecVersion: head.SpecVersion,
		Body: slices.Clone(body)}, a), nil
}

func (m *MemoryBackend) add(o Object, a Audience) Object {
	a.Orgs = slices.Clone(a.Orgs)
	a.People = slices.Clone(a.People)
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.clock().UTC().Truncate(time.Microsecond)
	if !t.After(m.last) {
		t = m.last.Add(time.Microsecond)
	}
	m.last = t
	m.seq++
	o.DateAdded, o.Seq = t, m.seq
	m.log = append(m.log, o)
	m.audience[o.ID] = a
	for _, id := range a.Orgs {
		if _, ok := m.orgs[id]; !ok {
			m.orgs[id] = "organization " + strconv.FormatInt(id, 10)
		}
	}
	return o
}

// nationalCollection and orgCollection describe the collections.
func nationalCollection(t intel.TLP) Collection {
	alias := "national-" + strings.ToLower(strings.ReplaceAll(string(t), "+", "-"))
	return Collection{ID: uuid5("collection:national:" + string(t)), Alias: alias,
		Title:       "National, up to TLP:" + string(t),
		Description: "Indicators of the national hub marked TLP:" + string(t) + " or less restricted that you may read.",
		CanRead:     true, MediaTypes: []string{MediaSTIX}}
}

func orgCollection(id int64, name string) Collection {
	return Collection{ID: uuid5("collection:org:" + strconv.FormatInt(id, 10)), Alias: "org-" + strconv.FormatInt(id, 10),
		Title:       name + ": indicators that concern it",
		Description: "Indicators about the assets of " + name + ", or shared with it.",
		CanRead:     true, MediaTypes: []string{MediaSTIX}}
}

// NationalCollectionID and OrgCollectionID are the collection ids the
// reference layout gives (stable across restarts).
func NationalCollectionID(t intel.TLP) string { return nationalCollection(t).ID }

// OrgCollectionID: see NationalCollectionID.
func OrgCollectionID(org int64) string { return uuid5("collection:org:" + strconv.FormatInt(org, 10)) }

// Collections lists the national collections, then the organizations'
// that p may see, by organization id.
func (m *MemoryBackend) Collections(_ context.Context, p auth.Principal) ([]Collection, error) {
	var out []Collection
	for _, t := range intel.TLPs {
		if MaySee(p, Scope{Ceiling: t}) {
			out = append(out, nationalCollection(t))
		}
	}
	m.mu.RLock()
	ids := make([]int64, 0, len(m.orgs))
	for id := range m.orgs {
		if MaySee(p, Scope{OrgID: id}) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, orgCollection(id, m.orgs[id]))
	}
	m.mu.RUnlock()
	return out, nil
}

// scope finds the collection named id (its id or alias).
func (m *MemoryBackend) scope(id string) (Scope, bool) {
	for _, t := range intel.TLPs {
		if c := nationalCollection(t); c.ID == id || c.Alias == id {
			return Scope{Ceiling: t}, true
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for org, name := range m.orgs {
		if c := orgCollection(org, name); c.ID == id || c.Alias == id {
			return Scope{OrgID: org}, true
		}
	}
	return Scope{}, false
}

// Objects pages through the objects of a collection that p may read.
func (m *MemoryBackend) Objects(ctx context.Context, p auth.Principal, collectionID string, q Query) (Page, error) {
	s, ok := m.scope(collectionID)
	if !ok || !MaySee(p, s) {
		return Page{}, ErrNotFound
	}
	m.mu.RLock()
	var visible []Object
	for i, o := range m.log {
		if i%4096 == 0 && ctx.Err() != nil {
			m.mu.RUnlock()
			return Page{}, ctx.Err()
		}
		a := m.audience[o.ID]
		if s.Holds(a) && MayRead(p, a) {
			visible = append(visible, o)
		}
	}
	m.mu.RUnlock()
	return SelectPage(visible, q), nil
}
