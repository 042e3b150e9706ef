package decision

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/store"
)

// Limits of a bouncer's query string.
const (
	maxQuery     = 4096
	maxListItems = 50
)

// query is a bouncer's query string, parsed.
type query struct {
	startup bool
	// Filters of both endpoints.
	scopes, origins, containing, notContaining []string
	// GET /v1/decisions: which decisions.
	typ      string
	value    string       // scope=…&value=… with a scope other than ip or range: the value as given
	prefix   netip.Prefix // ip= or range= (or scope=ip|range&value=)
	contains bool         // decisions containing the prefix (default) or contained in it
}

// parseQuery reads a raw query string; an unknown parameter is ignored,
// as the Local API does, a malformed one an error.
func parseQuery(raw string) (query, error) {
	q := query{contains: true}
	if len(raw) > maxQuery {
		return q, errors.New("query string too long")
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return q, fmt.Errorf("bad query string: %v", err)
	}
	boolean := func(name string, dst *bool) error {
		s := v.Get(name)
		if s == "" {
			return nil
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%s: %q is not true or false", name, clip(s, 20))
		}
		*dst = b
		return nil
	}
	if err := boolean("startup", &q.startup); err != nil {
		return q, err
	}
	if err := boolean("contains", &q.contains); err != nil {
		return q, err
	}
	list := func(name string, lower bool) ([]string, error) {
		var out []string
		for _, s := range v[name] {
			for item := range strings.SplitSeq(s, ",") {
				item = strings.TrimSpace(item)
				if lower {
					item = strings.ToLower(item)
				}
				if item != "" {
					out = append(out, item)
				}
			}
		}
		if len(out) > maxListItems {
			return nil, fmt.Errorf("%s: at most %d items", name, maxListItems)
		}
		return out, nil
	}
	if q.scopes, err = list("scopes", true); err != nil {
		return q, err
	}
	if q.origins, err = list("origins", false); err != nil {
		return q, err
	}
	if q.containing, err = list("scenarios_containing", true); err != nil {
		return q, err
	}
	if q.notContaining, err = list("scenarios_not_containing", true); err != nil {
		return q, err
	}
	q.typ = strings.ToLower(v.Get("type"))
	scope, value := strings.ToLower(v.Get("scope")), v.Get("value")
	switch {
	case v.Get("ip") != "":
		scope, value = "ip", v.Get("ip")
	case v.Get("range") != "":
		scope, value = "range", v.Get("range")
	}
	if value != "" {
		switch scope {
		case "ip", "range", "":
			p, err := parseNet(value)
			if err != nil {
				return q, fmt.Errorf("%s: %v", scope, err)
			}
			q.prefix = p
		default:
			q.value = clip(value, 256)
			q.scopes = append(q.scopes, scope) // a scope Rampart never decides: matches nothing
		}
	}
	return q, nil
}

// wants applies the filters both endpoints share: scopes, origins,
// scenario words and type.
func (q *query) wants(d *store.Decision) bool {
	if len(q.scopes) > 0 && !contains(q.scopes, d.Scope) {
		return false
	}
	if len(q.origins) > 0 && !contains(q.origins, d.Origin) {
		return false
	}
	if q.typ != "" && q.typ != d.Type {
		return false
	}
	sc := strings.ToLower(d.Scenario)
	if len(q.containing) > 0 {
		hit := false
		for _, w := range q.containing {
			if strings.Contains(sc, w) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	for _, w := range q.notContaining {
		if strings.Contains(sc, w) {
			return false
		}
	}
	return true
}

// matches applies GET /v1/decisions' value: a decision containing the
// address or range asked for (or, contains=false, contained in it).
func (q *query) matches(d *store.Decision) bool {
	if q.value != "" {
		return false
	}
	if !q.prefix.IsValid() {
		return true
	}
	return matchAddr(d, q.prefix, q.contains)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
