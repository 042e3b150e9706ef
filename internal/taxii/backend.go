package taxii

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// Sentinel errors a Backend returns; the server maps them to HTTP.
var (
	// ErrNotFound: the collection does not exist, or the caller may not
	// know that it does (404).
	ErrNotFound = errors.New("taxii: not found")
	// ErrForbidden: the caller sees the collection but may not read it
	// (403).
	ErrForbidden = errors.New("taxii: forbidden")
	// ErrUnauthenticated is what an Authenticator returns for a token it
	// does not know, that expired or was revoked (401).
	ErrUnauthenticated = errors.New("taxii: unauthenticated")
	// ErrBadRequest wraps every refusal of a request's parameters (400).
	ErrBadRequest = errors.New("taxii: bad request")
)

// Authenticator turns an API token into the principal it acts for. It
// returns an error wrapping ErrUnauthenticated for a token that is not
// valid; any other error is the server's fault (500).
type Authenticator func(ctx context.Context, token string) (auth.Principal, error)

// Backend is what the server reads collections from. It decides
// visibility: the server passes the authenticated principal and never
// filters on its own.
//
// Contract:
//   - Collections returns the collections p may see, in a stable order.
//   - Objects returns one page of a collection's objects that p may read,
//     in ascending (DateAdded, Seq) order, strictly after q.After, and
//     filtered by q. More is true when objects remain; Next is then the
//     position of the last object returned. A collection that does not
//     exist or that p may not see is ErrNotFound.
//   - Positions are stable: an object added later has a greater
//     (DateAdded, Seq) than every object already added, and DateAdded
//     values strictly increase at microsecond precision so that a client
//     resuming with added_after misses nothing.
type Backend interface {
	Collections(ctx context.Context, p auth.Principal) ([]Collection, error)
	Objects(ctx context.Context, p auth.Principal, collectionID string, q Query) (Page, error)
}

// Query is the filter of an objects, versions or manifest request.
type Query struct {
	AddedAfter   time.Time // zero: no filter; exclusive
	After        Cursor    // zero: from the start
	Limit        int       // at least 1; the server caps it
	IDs          []string  // match[id]
	Types        []string  // match[type]
	Versions     Versions  // match[version]
	SpecVersions []string  // match[spec_version]
	NoBodies     bool      // manifest and versions: bodies are not needed
}

// Versions is match[version]: which versions of each object are wanted.
// The zero value means the last version only, TAXII's default.
type Versions struct {
	First, Last, All bool
	At               []time.Time
}

func (v Versions) isZero() bool { return !v.First && !v.Last && !v.All && len(v.At) == 0 }

// Object is one version of one STIX object in a collection.
type Object struct {
	ID          string    // "indicator--<uuid>"
	Type        string    // "indicator"
	Version     time.Time // the object's modified (or created) time
	SpecVersion string    // "2.1"
	DateAdded   time.Time // when this version entered the collection
	Seq         int64     // breaks DateAdded ties; increases with additions
	Body        json.RawMessage
}

// Position is where o sits in its collection's order.
func (o Object) Position() Cursor { return Cursor{DateAdded: o.DateAdded, Seq: o.Seq} }

// MediaType is the STIX media type of o's spec version.
func (o Object) MediaType() string {
	if o.SpecVersion == "" {
		return MediaSTIX
	}
	return "application/stix+json;version=" + o.SpecVersion
}

// Page is one page of objects.
type Page struct {
	Objects []Object
	More    bool
	Next    Cursor // set when More
}

// Cursor is a position in a collection: objects strictly after it come
// next. The zero Cursor is the start.
type Cursor struct {
	DateAdded time.Time
	Seq       int64
}

// IsZero reports whether c is the start.
func (c Cursor) IsZero() bool { return c.DateAdded.IsZero() && c.Seq == 0 }

// Before reports whether c comes before d.
func (c Cursor) Before(d Cursor) bool {
	if !c.DateAdded.Equal(d.DateAdded) {
		return c.DateAdded.Before(d.DateAdded)
	}
	return c.Seq < d.Seq
}

// String encodes c as an opaque next token.
func (c Cursor) String() string {
	if c.IsZero() {
		return ""
	}
	raw := "1." + strconv.FormatInt(c.DateAdded.UnixNano(), 10) + "." + strconv.FormatInt(c.Seq, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// ParseCursor reads a next token made by Cursor.String.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	bad := fmt.Errorf("%w: next %.40q is not a token this server issued", ErrBadRequest, s)
	if len(s) > 64 {
		return Cursor{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, bad
	}
	parts := strings.Split(string(raw), ".")
	if len(parts) != 3 || parts[0] != "1" {
		return Cursor{}, bad
	}
	ns, err1 := strconv.ParseInt(parts[1], 10, 64)
	seq, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || seq < 0 {
		return Cursor{}, bad
	}
	return Cursor{DateAdded: time.Unix(0, ns).UTC(), Seq: seq}, nil
}

// SelectPage applies q to objects, which are every version of every
// object of one collection that the caller may read, in ascending
// position order, and returns one page. It is the whole of the query
// semantics, so that a backend which can hold a collection's candidates
// in memory needs nothing else; a backend over SQL does the same in its
// query.
//
// match[version] is applied first, over all versions the caller may read
// (so "last" is the newest version, whatever added_after says), then
// added_after and the cursor.
func SelectPage(objects []Object, q Query) Page {
	keep := func(o *Object) bool {
		return (len(q.IDs) == 0 || slices.Contains(q.IDs, o.ID)) &&
			(len(q.Types) == 0 || slices.Contains(q.Types, o.Type)) &&
			(len(q.SpecVersions) == 0 || slices.Contains(q.SpecVersions, o.SpecVersion))
	}
	vs := q.Versions
	if vs.isZero() {
		vs.Last = true
	}
	// For first/last, the extreme version of each ID among the kept.
	type extremes struct{ first, last int }
	var ext map[string]extremes
	if !vs.All && (vs.First || vs.Last) {
		ext = make(map[string]extremes)
		for i := range objects {
			o := &objects[i]
			if !keep(o) {
				continue
			}
			e, ok := ext[o.ID]
			if !ok {
				ext[o.ID] = extremes{i, i}
				continue
			}
			if later(o, &objects[e.last]) {
				e.last = i
			}
			if later(&objects[e.first], o) {
				e.first = i
			}
			ext[o.ID] = e
		}
	}
	limit := max(q.Limit, 1)
	var page Page
	for i := range objects {
		o := &objects[i]
		if !keep(o) || !q.After.Before(o.Position()) || !o.DateAdded.After(q.AddedAfter) && !q.AddedAfter.IsZero() {
			continue
		}
		if !vs.All {
			e := ext[o.ID]
			ok := vs.First && e.first == i || vs.Last && e.last == i
			for _, t := range vs.At {
				ok = ok || o.Version.Equal(t)
			}
			if !ok {
				continue
			}
		}
		if len(page.Objects) == limit {
			page.More = true
			page.Next = page.Objects[limit-1].Position()
			break
		}
		obj := *o
		if q.NoBodies {
			obj.Body = nil
		}
		page.Objects = append(page.Objects, obj)
	}
	return page
}

// later reports whether version a is newer than b (ties by position).
func later(a, b *Object) bool {
	if !a.Version.Equal(b.Version) {
		return a.Version.After(b.Version)
	}
	return b.Position().Before(a.Position())
}
