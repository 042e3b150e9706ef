package misp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// ManifestEntry is one event of a feed's manifest.json.
type ManifestEntry struct {
	UUID        string    // the event, and its file name: <UUID>.json
	Info        string    // the event's title
	Date        string    // the event's date, YYYY-MM-DD
	Timestamp   time.Time // last change of the event
	Org         string    // the creating organization (Orgc)
	Tags        []string
	ThreatLevel int // 1 high … 4 undefined
	Analysis    int // 0 initial, 1 ongoing, 2 complete
}

// MaxManifest bounds manifest.json.
const MaxManifest = 64 << 20

// ParseManifest reads a feed's manifest.json: an object keyed by event
// UUID. Entries come back oldest first (then by UUID). A key that is not
// a UUID is an error: keys name the event files.
func ParseManifest(r io.Reader) ([]ManifestEntry, error) {
	var m map[string]struct {
		Info      string  `json:"info"`
		Date      string  `json:"date"`
		Timestamp flexInt `json:"timestamp"`
		Orgc      struct {
			Name string `json:"name"`
		} `json:"Orgc"`
		Tag           []tag   `json:"Tag"`
		ThreatLevelID flexInt `json:"threat_level_id"`
		Analysis      flexInt `json:"analysis"`
	}
	dec := json.NewDecoder(&capReader{r: r, n: MaxManifest})
	if err := dec.Decode(&m); err != nil {
		return nil, manifestErr(decodeErr(err, MaxManifest))
	}
	if _, err := dec.Token(); err != io.EOF {
		var se *json.SyntaxError
		if err != nil && !errors.As(err, &se) {
			return nil, manifestErr(decodeErr(err, MaxManifest))
		}
		return nil, fmt.Errorf("%w: data after the manifest", ErrMalformed)
	}
	if m == nil {
		return nil, fmt.Errorf("%w: the manifest is not an object", ErrMalformed)
	}
	out := make([]ManifestEntry, 0, len(m))
	for id, e := range m {
		if !isUUID(id) {
			return nil, fmt.Errorf("%w: manifest key %q is not an event UUID", ErrMalformed, cutText(id, 80))
		}
		me := ManifestEntry{
			UUID: id, Info: e.Info, Date: e.Date, Org: e.Orgc.Name,
			ThreatLevel: int(e.ThreatLevelID), Analysis: int(e.Analysis),
		}
		if e.Timestamp > 0 {
			me.Timestamp = time.Unix(int64(e.Timestamp), 0).UTC()
		}
		for _, t := range e.Tag {
			me.Tags = append(me.Tags, t.Name)
		}
		out = append(out, me)
	}
	slices.SortFunc(out, func(a, b ManifestEntry) int {
		return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.UUID, b.UUID))
	})
	return out, nil
}

func manifestErr(err error) error {
	if errors.Is(err, ErrMalformed) {
		return fmt.Errorf("%w (manifest)", err)
	}
	return err
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// ReadFeed reads a MISP feed laid out as files: manifest.json and one
// <uuid>.json per event, in fsys (a directory, a zip, a test map). See
// ReadFeedWith.
func ReadFeed(ctx context.Context, fsys fs.FS, feed string, emit intel.Emit) (*Result, error) {
	return ReadFeedWith(ctx, fsys, feed, emit, Options{})
}

// ReadFeedWith reads the manifest, then each event it lists (oldest
// first; only those changed after Options.Since), through ParseEventWith.
// An event file that is missing or malformed is rejected as a whole
// ("event <uuid>") and the others are read; an error of emit, of the
// context or of reading fsys stops the feed.
func ReadFeedWith(ctx context.Context, fsys fs.FS, feed string, emit intel.Emit, opt Options) (*Result, error) {
	f, err := fsys.Open("manifest.json")
	if err != nil {
		return nil, fmt.Errorf("misp: open manifest: %w", err)
	}
	entries, err := ParseManifest(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	total := &Result{}
	for _, e := range entries {
		if !opt.Since.IsZero() && !e.Timestamp.After(opt.Since) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := readEvent(ctx, fsys, e.UUID, feed, emit, opt)
		if res != nil {
			total.add(res)
		}
		switch {
		case err == nil:
		case errors.Is(err, ErrMalformed), errors.Is(err, fs.ErrNotExist):
			total.Rejections.Add("event "+e.UUID, err.Error())
		default:
			return total, err
		}
	}
	return total, nil
}

func readEvent(ctx context.Context, fsys fs.FS, id, feed string, emit intel.Emit, opt Options) (*Result, error) {
	f, err := fsys.Open(id + ".json")
	if err != nil {
		return nil, fmt.Errorf("misp: open event: %w", err)
	}
	defer f.Close()
	return ParseEventWith(ctx, f, feed, emit, opt)
}
