package api_test

import (
	"encoding/json"
	"sort"
	"strings"
	"testing"
)

// TestOpenAPIMatchesRoutes checks the served document against the routes
// the server really answers: every documented operation is routed and
// authenticated as documented, and every route is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.mustDo("", "GET", "/api/v1/openapi.json", nil, 200)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.json(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			key := strings.ToUpper(method) + " " + path
			documented = append(documented, key)
			var op struct {
				Security  *[]any                     `json:"security"`
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			public := op.Security != nil && len(*op.Security) == 0
			// Call it without credentials, with 1 for every path parameter.
			res := e.do("", strings.ToUpper(method), strings.ReplaceAll(path, "{id}", "1"), nil)
			switch {
			case res.status == 404 && strings.Contains(string(res.body), "no such API route"):
				t.Errorf("%s is documented but not routed", key)
			case res.status == 405:
				t.Errorf("%s is documented but the method is not routed", key)
			case !public && res.status != 401:
				t.Errorf("%s is documented as authenticated but answered %d without a token", key, res.status)
			case public && res.status == 401:
				t.Errorf("%s is documented as public but asked for a token", key)
			}
			if len(op.Responses) < 2 {
				t.Errorf("%s documents %d responses", key, len(op.Responses))
			}
		}
	}
	routes := e.srv.RouteKeys()
	sort.Strings(documented)
	sort.Strings(routes)
	if strings.Join(documented, "\n") != strings.Join(routes, "\n") {
		t.Errorf("documented operations differ from routes:\ndoc:\n%s\nroutes:\n%s", strings.Join(documented, "\n"), strings.Join(routes, "\n"))
	}

	// Every $ref points at a schema that exists.
	var full map[string]any
	r.json(t, &full)
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				name := strings.TrimPrefix(ref, "#/components/schemas/")
				if _, ok := schemas[name]; !ok {
					t.Errorf("dangling $ref %s", ref)
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(full)
	for _, want := range []string{"Organization", "Asset", "AssetPage", "Error"} {
		if _, ok := schemas[want]; !ok {
			t.Errorf("schema %s missing; have %v", want, keys(schemas))
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
