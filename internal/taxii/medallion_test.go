package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// medallion is the sample data of the OASIS reference server.
type medallion struct {
	Discovery   json.RawMessage `json:"/discovery"`
	TrustGroup1 struct {
		Information json.RawMessage   `json:"information"`
		Collections []json.RawMessage `json:"collections"`
	} `json:"trustgroup1"`
}

type medallionEntry struct {
	added time.Time
	body  json.RawMessage
}

func loadMedallion(t testing.TB) (m medallion, entries []medallionEntry, collID string) {
	t.Helper()
	raw, err := os.ReadFile("testdata/medallion_default_data.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, c := range m.TrustGroup1.Collections {
		var coll struct {
			ID       string            `json:"id"`
			Objects  []json.RawMessage `json:"objects"`
			Manifest []struct {
				ID, Version string
				DateAdded   string `json:"date_added"`
			} `json:"manifest"`
		}
		if err := json.Unmarshal(c, &coll); err != nil {
			t.Fatal(err)
		}
		if len(coll.Objects) == 0 {
			continue
		}
		collID = coll.ID
		// Each manifest record names one object version: match them.
		for _, rec := range coll.Manifest {
			added, err := ParseTimestamp(rec.DateAdded)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range coll.Objects {
				var h struct{ ID, Created, Modified string }
				_ = json.Unmarshal(o, &h)
				v := h.Modified
				if v == "" {
					v = h.Created
				}
				if h.ID == rec.ID && v == rec.Version {
					entries = append(entries, medallionEntry{added, o})
				}
			}
		}
	}
	slices.SortStableFunc(entries, func(a, b medallionEntry) int { return a.added.Compare(b.added) })
	return m, entries, collID
}

// fakeMedallion replays the sample's bodies over loopback. With useNext it
// pages with next tokens (an offset); without, it sets more and only the
// X-TAXII-Date-Added-Last header, and never ends a page between two
// objects added at the same time.
func fakeMedallion(t *testing.T, useNext bool) (*httptest.Server, string) {
	m, entries, collID := loadMedallion(t)
	strip := func(c json.RawMessage) json.RawMessage {
		var v map[string]json.RawMessage
		_ = json.Unmarshal(c, &v)
		delete(v, "objects")
		delete(v, "manifest")
		b, _ := json.Marshal(v)
		return b
	}
	var colls []json.RawMessage
	for _, c := range m.TrustGroup1.Collections {
		colls = append(colls, strip(c))
	}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, body []byte) {
		w.Header().Set("Content-Type", MediaTAXII)
		_, _ = w.Write(body)
	}
	mux.HandleFunc("/taxii2/", func(w http.ResponseWriter, r *http.Request) { reply(w, m.Discovery) })
	mux.HandleFunc("/trustgroup1/", func(w http.ResponseWriter, r *http.Request) { reply(w, m.TrustGroup1.Information) })
	mux.HandleFunc("/trustgroup1/collections/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]any{"collections": colls})
		reply(w, b)
	})
	mux.HandleFunc("/trustgroup1/collections/"+collID+"/objects/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != MediaTAXII {
			w.WriteHeader(http.StatusNotAcceptable)
			return
		}
		q := r.URL.Query()
		var sel []medallionEntry
		for _, e := range entries {
			if a := q.Get("added_after"); a != "" {
				after, err := ParseTimestamp(a)
				if err != nil {
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				if !e.added.After(after) {
					continue
				}
			}
			sel = append(sel, e)
		}
		start, _ := strconv.Atoi(q.Get("next"))
		sel = sel[min(start, len(sel)):]
		limit, _ := strconv.Atoi(q.Get("limit"))
		end := len(sel)
		if limit > 0 && limit < end {
			end = limit
			for !useNext && end < len(sel) && sel[end].added.Equal(sel[end-1].added) {
				end++
			}
		}
		env := map[string]any{"more": end < len(sel)}
		var objs []json.RawMessage
		for _, e := range sel[:end] {
			objs = append(objs, e.body)
		}
		env["objects"] = objs
		if useNext && end < len(sel) {
			env["next"] = strconv.Itoa(start + end)
		}
		if end > 0 {
			w.Header().Set("X-TAXII-Date-Added-First", FormatTimestamp(sel[0].added))
			w.Header().Set("X-TAXII-Date-Added-Last", FormatTimestamp(sel[end-1].added))
		}
		b, _ := json.Marshal(env)
		reply(w, b)
	})
	return loopbackServer(t, mux), collID
}

func loopbackServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback listener: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestClientAgainstMedallionSample(t *testing.T) {
	_, entries, _ := loadMedallion(t)
	if len(entries) != 8 {
		t.Fatalf("sample has %d object versions in its manifest, want 8", len(entries))
	}
	for _, useNext := range []bool{true, false} {
		srv, collID := fakeMedallion(t, useNext)
		c := &Client{BaseURL: srv.URL, User: "user1", Password: "pass", HTTP: srv.Client(), Timeout: 5 * time.Second, PageSize: 3}
		ctx := context.Background()
		d, err := c.Discovery(ctx)
		if err != nil || d.Title != "Some TAXII Server" || len(d.APIRoots) != 3 {
			t.Fatalf("discovery %+v, %v", d, err)
		}
		// The sample's URLs name its own host; keep their paths.
		du, _ := url.Parse(d.Default)
		root := srv.URL + du.Path
		a, err := c.APIRoot(ctx, root)
		if err != nil || a.Title != "Malware Research Group" || a.MaxContentLength != 9765625 {
			t.Fatalf("api root %+v, %v", a, err)
		}
		cs, err := c.Collections(ctx, root)
		if err != nil || len(cs) != 5 {
			t.Fatalf("collections %d, %v", len(cs), err)
		}
		var found bool
		for _, col := range cs {
			if col.ID == collID {
				found = col.CanRead && slices.Contains(col.MediaTypes, MediaSTIX)
			}
		}
		if !found {
			t.Fatalf("collection %s not readable in %+v", collID, cs)
		}
		var got []string
		last, err := c.Poll(ctx, CollectionURL(root, collID), time.Time{}, func(o json.RawMessage) error {
			var h struct{ ID, Type string }
			if err := json.Unmarshal(o, &h); err != nil {
				return err
			}
			got = append(got, h.ID)
			return nil
		})
		if err != nil {
			t.Fatalf("next=%v: poll: %v", useNext, err)
		}
		var want []string
		for _, e := range entries {
			var h struct{ ID string }
			_ = json.Unmarshal(e.body, &h)
			want = append(want, h.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("next=%v: polled\n%v\nwant\n%v", useNext, got, want)
		}
		if !last.Equal(entries[7].added) {
			t.Errorf("next=%v: added_after to resume %v, want %v", useNext, last, entries[7].added)
		}
		// Resuming from the middle yields exactly the later ones.
		var rest int
		if _, err := c.Poll(ctx, CollectionURL(root, collID), entries[4].added, func(json.RawMessage) error { rest++; return nil }); err != nil || rest != 3 {
			t.Errorf("next=%v: resumed poll got %d objects (%v), want 3", useNext, rest, err)
		}
	}
}

func TestClientErrors(t *testing.T) {
	big := strings.Repeat(" ", 2048)
	mux := http.NewServeMux()
	mux.HandleFunc("/garbage/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html>proxy error</html>"))
	})
	mux.HandleFunc("/badobj/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"objects":[{"type":"indicator","id":"indicator--1"},{"type":"x","id":"y"}]}`))
	})
	mux.HandleFunc("/down/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"title":"Maintenance","description":"back soon"}`))
	})
	mux.HandleFunc("/denied/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	})
	mux.HandleFunc("/big/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"objects":[]` + big + `}`))
	})
	mux.HandleFunc("/slow/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	mux.HandleFunc("/loop/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"more":true,"next":"same","objects":[]}`))
	})
	mux.HandleFunc("/stuck/collections/c/objects/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"more":true,"objects":[]}`))
	})
	srv := loopbackServer(t, mux)
	c := &Client{BaseURL: srv.URL, Token: "t", HTTP: srv.Client(), Timeout: 300 * time.Millisecond, MaxBody: 1024}
	cases := []struct {
		root      string
		kind      ErrorKind
		status    int
		retryable bool
		emitted   int
	}{
		{"garbage", KindMalformed, 0, true, 0},
		{"badobj", KindMalformed, 0, true, 0}, // the page is refused whole
		{"down", KindStatus, 503, true, 0},
		{"denied", KindStatus, 401, false, 0},
		{"big", KindTooLarge, 0, false, 0},
		{"slow", KindTransport, 0, true, 0},
		{"loop", KindMalformed, 0, true, 0},
		{"stuck", KindMalformed, 0, true, 0},
	}
	for _, cse := range cases {
		n := 0
		since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		got, err := c.Poll(context.Background(), CollectionURL(srv.URL+"/"+cse.root, "c"), since, func(json.RawMessage) error { n++; return nil })
		var e *Error
		if !errors.As(err, &e) || e.Kind != cse.kind || e.Status != cse.status || Retryable(err) != cse.retryable {
			t.Errorf("%s: %#v (%v), want kind %s status %d retryable %v", cse.root, e, err, cse.kind, cse.status, cse.retryable)
			continue
		}
		if n != cse.emitted || !got.Equal(since) {
			t.Errorf("%s: emitted %d, resume %v; want %d, %v", cse.root, n, got, cse.emitted, since)
		}
		if cse.root == "down" && !strings.Contains(err.Error(), "Maintenance: back soon") {
			t.Errorf("down: message lost: %v", err)
		}
	}
	// An emit error stops the poll and says so.
	srv2, collID := fakeMedallion(t, true)
	c2 := &Client{BaseURL: srv2.URL, HTTP: srv2.Client(), PageSize: 3}
	stop := errors.New("disk full")
	_, err := c2.Poll(context.Background(), CollectionURL(srv2.URL+"/trustgroup1/", collID), time.Time{}, func(json.RawMessage) error { return stop })
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindEmit || !errors.Is(err, stop) {
		t.Errorf("emit error: %v", err)
	}
	if _, err := (&Client{BaseURL: "ftp://x"}).Discovery(context.Background()); !errors.As(err, &e) || e.Kind != KindConfig {
		t.Errorf("bad base URL: %v", err)
	}
}
