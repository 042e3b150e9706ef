package snapshot

import (
	"bytes"
	"compress/gzip"
	"os"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

func sample() *Snapshot {
	return &Snapshot{Version: 1765100000000, Built: time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC),
		Entries: []Entry{
			{Kind: intel.KindDomain, Value: "evil.example", Category: intel.CategoryMalware, Confidence: 90, Feed: "urlhaus", TLP: intel.TLPClear},
			{Kind: intel.KindIPv4, Value: "203.0.113.5", Category: intel.CategoryC2, Confidence: 50, Feed: "feodo", TLP: intel.TLPGreen},
		},
		Allow: []string{"good.example"},
		DNS:   Policy{Lists: []ListRule{{Name: "malware", Action: ActionRedirect, Categories: []intel.Category{intel.CategoryMalware}}}, RedirectA: "192.0.2.1"}}
}

func FuzzDecodeDelta(f *testing.F) {
	for _, name := range []string{"delta.json", "delta-full.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":2,"prev":1,"remove":[{"k":"domain","v":"x.example"}],"allow_set":true}`))
	f.Add([]byte(`{"version":2,"prev":1,"add":[{"k":"nope","v":""}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDelta(b)
		if err != nil {
			return
		}
		if d.Version <= d.Prev {
			t.Fatalf("accepted a delta going back: %d→%d", d.Prev, d.Version)
		}
		s := &Snapshot{Version: d.Prev}
		if !d.Full {
			if err := s.Apply(d); err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil && d.Prev > 0 {
				t.Fatalf("applying a valid delta made an invalid snapshot: %v", err)
			}
		}
		again, err := EncodeDelta(d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeDelta(again); err != nil && len(again) <= MaxDeltaBytes {
			t.Fatalf("re-encoded delta refused: %v", err)
		}
	})
}

func FuzzReadSnapshot(f *testing.F) {
	b, err := os.ReadFile("testdata/snapshot.json.gz")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(`{"version":1,"entries":[{"k":"domain","v":"a.example"}],"dns":{"default":{"name":"x","action":"nodata"}}}`))
	zw.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readSnapshot(bytes.NewReader(b), 1<<20)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("returned an invalid snapshot: %v", err)
		}
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSnapshot(&buf); err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
	})
}

// TestSeeds writes the seeds when -update is set, and checks they decode.
func TestSeeds(t *testing.T) {
	s := sample()
	if os.Getenv("UPDATE_SEEDS") != "" {
		var buf bytes.Buffer
		if err := WriteSnapshot(&buf, s); err != nil {
			t.Fatal(err)
		}
		os.WriteFile("testdata/snapshot.json.gz", buf.Bytes(), 0o644)
		next := *s
		next.Version++
		next.Entries = append([]Entry{{Kind: intel.KindDomain, Value: "new.example", Feed: "urlhaus"}}, s.Entries[1:]...)
		b, _ := EncodeDelta(Diff(s, &next))
		os.WriteFile("testdata/delta.json", b, 0o644)
		b, _ = EncodeDelta(&Delta{Version: next.Version + 1, Prev: next.Version, Full: true})
		os.WriteFile("testdata/delta-full.json", b, 0o644)
	}
	f, err := os.Open("testdata/snapshot.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadSnapshot(f)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile("testdata/delta.json")
	d, err := DecodeDelta(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Apply(d); err != nil {
		t.Fatal(err)
	}
	if len(got.Entries) != 2 || got.Entries[0].Value != "new.example" {
		t.Fatalf("after delta: %+v", got.Entries)
	}
}

func TestPolicyListOf(t *testing.T) {
	p := Policy{Lists: []ListRule{
		{Name: "phish", Action: ActionRedirect, Categories: []intel.Category{intel.CategoryPhishing}},
		{Name: "urlhaus", Action: ActionNoData, Feeds: []string{"urlhaus"}},
	}}
	for _, c := range []struct {
		e    Entry
		list string
		act  Action
	}{
		{Entry{Category: intel.CategoryPhishing, Feed: "urlhaus"}, "phish", ActionRedirect},
		{Entry{Category: intel.CategoryMalware, Feed: "urlhaus"}, "urlhaus", ActionNoData},
		{Entry{Category: intel.CategoryC2, Feed: "feodo"}, DefaultList, ActionNXDomain},
	} {
		l := p.ListOf(&c.e)
		if l.Name != c.list || l.Action != c.act {
			t.Errorf("%+v: %s %s, want %s %s", c.e, l.Name, l.Action, c.list, c.act)
		}
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Policy{Lists: []ListRule{{Name: "x", Action: "drop"}}}
	if bad.Validate() == nil {
		t.Error("an unknown action passed")
	}
}
