package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	"github.com/rampart-cert/rampart/internal/taxii"
)

// TestTAXIIRedToRecipients reads the mounted TAXII server with the
// platform's TAXII client: a TLP:RED indicator pushed naming B reaches
// B's collection and the national RED one for B's tokens, and nobody
// else: not A (whose range it is in), not the hub's analyst. Objects
// never carry the recipient list.
func TestTAXIIRedToRecipients(t *testing.T) {
	w := newIntelWorld(t)
	w.mustDo(w.analyst, "POST", "/api/v1/intel/indicators", []map[string]any{
		{"kind": "ipv4", "value": "198.51.100.12", "tlp": "RED", "category": "c2", "recipients": map[string]any{"orgs": []int64{w.b}}}, // in A's range, for B
		{"kind": "ipv4", "value": "203.0.113.30", "tlp": "GREEN"},
	}, 200)
	value := map[string]string{}
	for _, v := range []string{"198.51.100.12", "203.0.113.30"} {
		value[stix.IndicatorID(intel.KindIPv4, v)] = v
	}
	ctx := context.Background()
	read := func(token, alias string) ([]string, error) {
		c := &taxii.Client{BaseURL: w.http.URL + "/taxii2/", Token: token, PageSize: 1}
		d, err := c.Discovery(ctx)
		if err != nil {
			return nil, err
		}
		root := d.APIRoots[0]
		cs, err := c.Collections(ctx, root)
		if err != nil {
			return nil, err
		}
		id := alias
		for _, col := range cs {
			if col.Alias == alias {
				id = col.ID
			}
		}
		got := []string{}
		_, err = c.Poll(ctx, taxii.CollectionURL(root, id), time.Time{}, func(o json.RawMessage) error {
			var h struct {
				ID         string `json:"id"`
				Recipients any    `json:"x_rampart_recipients"`
			}
			if err := json.Unmarshal(o, &h); err != nil {
				return err
			}
			if h.Recipients != nil {
				return fmt.Errorf("object %s carries its recipients", h.ID)
			}
			got = append(got, value[h.ID])
			return nil
		})
		slices.Sort(got)
		return got, err
	}
	orgA, orgB := fmt.Sprintf("org-%d", w.a), fmt.Sprintf("org-%d", w.b)
	bToken := w.machine("b-siem", auth.RoleFeedConsumer, w.b)
	aToken := w.machine("a-siem", auth.RoleFeedConsumer, w.a)
	for _, c := range []struct {
		name, token, coll string
		want              []string
	}{
		{"B's token, B's collection", bToken, orgB, []string{"198.51.100.12"}},
		{"B's token, national RED", bToken, "national-red", []string{"198.51.100.12", "203.0.113.30"}},
		{"A's token, A's collection", aToken, orgA, []string{}},
		{"A's token, national RED", aToken, "national-red", []string{"203.0.113.30"}},
		{"the analyst, B's collection", w.analyst, orgB, []string{}},
		{"the analyst, national RED", w.analyst, "national-red", []string{"203.0.113.30"}},
	} {
		got, err := read(c.token, c.coll)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, err, c.want)
		}
	}
}
