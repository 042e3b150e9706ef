package taxii

import (
	"slices"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{DateAdded: time.Date(2026, 12, 1, 8, 30, 0, 123456000, time.UTC), Seq: 42}
	got, err := ParseCursor(c.String())
	if err != nil || !got.DateAdded.Equal(c.DateAdded) || got.Seq != c.Seq {
		t.Fatalf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
	}
	if z, err := ParseCursor(""); err != nil || !z.IsZero() {
		t.Errorf("empty token: %+v, %v", z, err)
	}
	for _, bad := range []string{"x", "MS4xLjI=", "Mi4xLjI", "MS5hLjI", "MS4xLi0x", string(make([]byte, 100))} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct {
		accept string
		stix   bool
		want   string
	}{
		{"", false, MediaTAXII},
		{"application/taxii+json;version=2.1", false, MediaTAXII},
		{"application/taxii+json", false, MediaTAXII},
		{"*/*", false, MediaTAXII},
		{"application/taxii+json;version=2.0", false, ""},
		{"application/json", false, ""},
		{"text/html", false, ""},
		{"application/stix+json;version=2.1", false, ""},
		{"application/stix+json;version=2.1", true, MediaSTIX},
		{"application/stix+json;version=2.1;q=0.5, application/taxii+json;version=2.1", true, MediaTAXII},
		{"application/stix+json;version=2.1, application/taxii+json;version=2.1;q=0.2", true, MediaSTIX},
		{"application/taxii+json;version=2.1;q=0", false, ""},
		{"garbage;;;, application/taxii+json; version=2.1", false, MediaTAXII},
	}
	for _, c := range cases {
		if got := negotiate(c.accept, c.stix); got != c.want {
			t.Errorf("negotiate(%q, %v) = %q, want %q", c.accept, c.stix, got, c.want)
		}
	}
}

func obj(id string, version, added time.Time, seq int64) Object {
	return Object{ID: id, Type: "indicator", Version: version, SpecVersion: "2.1", DateAdded: added, Seq: seq, Body: []byte(`{}`)}
}

func ids(p Page) []string {
	var out []string
	for _, o := range p.Objects {
		out = append(out, o.ID+"@"+o.Version.Format("15:04"))
	}
	return out
}

func TestSelectPageVersionsAndFilters(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	objs := []Object{
		obj("indicator--a", at(0), at(1), 1),
		obj("indicator--b", at(0), at(2), 2),
		obj("indicator--a", at(5), at(3), 3), // a's second version
		obj("indicator--c", at(0), at(4), 4),
		obj("indicator--a", at(3), at(5), 5), // added later, but older than the second
	}
	objs[3].Type = "malware"
	objs[3].ID = "malware--c"
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"default is last", Query{Limit: 10}, []string{"indicator--b@00:00", "indicator--a@00:05", "malware--c@00:00"}},
		{"first", Query{Limit: 10, Versions: Versions{First: true}}, []string{"indicator--a@00:00", "indicator--b@00:00", "malware--c@00:00"}},
		{"all", Query{Limit: 10, Versions: Versions{All: true}}, []string{"indicator--a@00:00", "indicator--b@00:00", "indicator--a@00:05", "malware--c@00:00", "indicator--a@00:03"}},
		{"at a version", Query{Limit: 10, Versions: Versions{At: []time.Time{at(3)}}}, []string{"indicator--a@00:03"}},
		{"first and last", Query{Limit: 10, IDs: []string{"indicator--a"}, Versions: Versions{First: true, Last: true}}, []string{"indicator--a@00:00", "indicator--a@00:05"}},
		{"type", Query{Limit: 10, Types: []string{"malware"}}, []string{"malware--c@00:00"}},
		{"spec version", Query{Limit: 10, SpecVersions: []string{"2.0"}}, nil},
		{"added after (last over all versions)", Query{Limit: 10, AddedAfter: at(3)}, []string{"malware--c@00:00"}},
		{"added after all", Query{Limit: 10, AddedAfter: at(3), Versions: Versions{All: true}}, []string{"malware--c@00:00", "indicator--a@00:03"}},
	}
	for _, c := range cases {
		if got := ids(SelectPage(objs, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// Paging while objects are added between pages neither skips nor repeats
// an object: the cursor is a position, not an offset.
func TestSelectPageStableUnderAdditions(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var log []Object
	add := func() {
		n := int64(len(log) + 1)
		at := t0.Add(time.Duration(n) * time.Microsecond)
		log = append(log, obj("indicator--"+string(rune('a'+n-1)), at, at, n))
	}
	for range 5 {
		add()
	}
	var seen []string
	q := Query{Limit: 2, Versions: Versions{All: true}}
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("no end")
		}
		p := SelectPage(log, q)
		for _, o := range p.Objects {
			seen = append(seen, o.ID)
		}
		if len(log) < 9 {
			add() // a new object arrives after every page
		}
		if !p.More {
			// The last page was short; what arrived since is fetched by
			// the next poll from the same cursor.
			p = SelectPage(log, Query{Limit: 100, After: p.Objects[len(p.Objects)-1].Position(), Versions: Versions{All: true}})
			for _, o := range p.Objects {
				seen = append(seen, o.ID)
			}
			break
		}
		q.After = p.Next
	}
	want := []string{}
	for _, o := range log {
		want = append(want, o.ID)
	}
	if !slices.Equal(seen, want) {
		t.Errorf("seen %v, want every object once in order %v", seen, want)
	}
}
