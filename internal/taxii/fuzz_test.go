package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// medallionBodies are the sample's response bodies: seeds.
func medallionBodies(f *testing.F) [][]byte {
	m, entries, _ := loadMedallion(f)
	var objs []json.RawMessage
	var manifest []ManifestRecord
	for _, e := range entries {
		objs = append(objs, e.body)
		var h struct{ ID, Modified string }
		_ = json.Unmarshal(e.body, &h)
		manifest = append(manifest, ManifestRecord{ID: h.ID, DateAdded: FormatTimestamp(e.added), Version: h.Modified, MediaType: MediaSTIX})
	}
	env, _ := json.Marshal(Envelope{More: true, Next: "2", Objects: objs})
	man, _ := json.Marshal(Manifest{Objects: manifest})
	colls, _ := json.Marshal(map[string]any{"collections": m.TrustGroup1.Collections})
	return [][]byte{m.Discovery, m.TrustGroup1.Information, colls, env, man,
		[]byte(`{"title":"Not found","http_status":"404"}`), []byte(`[]`), []byte(`null`), []byte(`{"objects":[1]}`)}
}

// FuzzParseResponses feeds every response parser hostile bodies: none may
// panic, and what one accepts keeps its promises.
func FuzzParseResponses(f *testing.F) {
	for _, b := range medallionBodies(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if d, err := ParseDiscovery(body); err == nil && d.Title == "" {
			t.Error("discovery without title accepted")
		}
		if a, err := ParseAPIRoot(body); err == nil && len(a.Versions) == 0 {
			t.Error("api root without versions accepted")
		}
		if cs, err := ParseCollections(body); err == nil {
			for _, c := range cs {
				if c.ID == "" {
					t.Error("collection without id accepted")
				}
			}
		}
		if env, err := ParseEnvelope(body); err == nil {
			for _, o := range env.Objects {
				if !json.Valid(o) || bytes.TrimSpace(o)[0] != '{' {
					t.Errorf("object %q accepted", o)
				}
			}
		}
		if m, err := ParseManifest(body); err == nil {
			for _, r := range m.Objects {
				if _, err := ParseTimestamp(r.DateAdded); err != nil {
					t.Errorf("manifest date %q accepted", r.DateAdded)
				}
			}
		}
		_ = errorMessage(body)
	})
}

// replay is a RoundTripper answering every request with one body and
// header: the fuzzed server.
type replay struct {
	status int
	last   string
	body   []byte
	calls  int
}

func (r *replay) RoundTrip(req *http.Request) (*http.Response, error) {
	r.calls++
	h := http.Header{}
	if r.last != "" {
		h.Set("X-TAXII-Date-Added-Last", r.last)
	}
	return &http.Response{StatusCode: r.status, Header: h, Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}, nil
}

// FuzzPoll runs the whole client poll against a server whose every answer
// is the fuzzed body, status and date header: it must end (no endless
// paging) with objects or a typed error, and never move the resume mark
// backwards.
func FuzzPoll(f *testing.F) {
	for _, b := range medallionBodies(f) {
		f.Add(200, "2017-12-31T13:49:53.935000Z", b)
	}
	f.Add(200, "", []byte(`{"more":true,"objects":[]}`))
	f.Add(200, "garbage", []byte(`{"more":false}`))
	f.Add(503, "", []byte(`{"title":"down"}`))
	f.Fuzz(func(t *testing.T, status int, last string, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		rt := &replay{status: status, last: last, body: body}
		c := &Client{BaseURL: "http://127.0.0.1:1/", HTTP: &http.Client{Transport: rt}, MaxBody: 1 << 20, PageSize: 2}
		since := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		got, err := c.Poll(ctx, "http://127.0.0.1:1/api/collections/x/", since, func(o json.RawMessage) error {
			if !json.Valid(o) {
				t.Errorf("invalid object emitted: %q", o)
			}
			return nil
		})
		if got.Before(since) {
			t.Errorf("resume mark moved back to %v", got)
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Errorf("untyped error %T: %v", err, err)
			}
		}
		if rt.calls > 3 {
			t.Errorf("%d requests to a server repeating itself", rt.calls)
		}
	})
}

// FuzzParseCursor: any next token is read without panic, and a token
// read back encodes to itself.
func FuzzParseCursor(f *testing.F) {
	f.Add(Cursor{DateAdded: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Seq: 9}.String())
	f.Add("")
	f.Add("MS4xLjI")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCursor(s)
		if err == nil && !c.IsZero() {
			if d, err := ParseCursor(c.String()); err != nil || d != c {
				t.Errorf("cursor %q → %+v does not round-trip: %+v %v", s, c, d, err)
			}
		}
	})
}

// FuzzNegotiate: any Accept header gets one of our media types or none.
func FuzzNegotiate(f *testing.F) {
	f.Add("application/taxii+json;version=2.1")
	f.Add("application/stix+json;version=2.1;q=0.9, */*;q=0.1")
	f.Add("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	f.Fuzz(func(t *testing.T, accept string) {
		for _, stix := range []bool{false, true} {
			switch got := negotiate(accept, stix); got {
			case "", MediaTAXII:
			case MediaSTIX:
				if !stix {
					t.Errorf("STIX chosen where not offered for %q", accept)
				}
			default:
				t.Errorf("negotiate(%q) = %q", accept, got)
			}
		}
	})
}
