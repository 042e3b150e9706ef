package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
)

// Document builds the OpenAPI 3.1 document from the route table.
func (s *Server) Document() map[string]any {
	g := &schemaGen{schemas: map[string]any{}}
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		op := map[string]any{
			"operationId": rt.op,
			"summary":     rt.summary,
			"tags":        []string{rt.tag},
		}
		var params []any
		for _, name := range pathParams(rt.path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true,
				"schema": map[string]any{"type": "integer", "minimum": 1}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "required": q.name == "target",
				"description": q.desc, "schema": map[string]any{"type": q.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.of(reflect.TypeOf(rt.body))}}}
		} else if rt.bodyCT != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				rt.bodyCT:          map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json": map[string]any{"schema": map[string]any{}},
			}}
		}
		resp := map[string]any{"description": http.StatusText(rt.status)}
		switch {
		case rt.resp != nil:
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": g.of(reflect.TypeOf(rt.resp))}}
		case rt.respCT != "":
			resp["content"] = map[string]any{rt.respCT: map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json": map[string]any{"schema": map[string]any{}}}
		case rt.op == "openapi":
			resp["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		errRef := map[string]any{"description": "error", "content": map[string]any{
			"application/json": map[string]any{"schema": g.of(reflect.TypeOf(errorBody{}))}}}
		op["responses"] = map[string]any{itoa(rt.status): resp, "default": errRef}
		if rt.public {
			op["security"] = []any{}
		}
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	codes := make([]string, 0, len(statusOf()))
	for c := range statusOf() {
		codes = append(codes, string(c))
	}
	sort.Strings(codes)
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Rampart API",
			"version":     s.Version,
			"description": "The JSON API of Rampart, the national outer-ring defense platform. Authenticate with `Authorization: Bearer <token>`. Errors are `{\"error\":{\"code\":...,\"message\":...}}` with a stable code. Lists return `{\"items\":[...],\"next\":\"cursor\"}`; pass `after=<next>` for the next page.",
		},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearerAuth": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearerAuth": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas":         g.schemas,
		},
		"x-error-codes": codes,
	}
}

var docOnce sync.Once
var docJSON []byte

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	docOnce.Do(func() { docJSON, _ = json.MarshalIndent(s.Document(), "", "  ") })
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, err := w.Write(docJSON)
	return err
}

var pathParamRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{([a-z_]+)\}`) })

func pathParams(p string) []string {
	var out []string
	for _, m := range pathParamRE().FindAllStringSubmatch(p, -1) {
		out = append(out, m[1])
	}
	return out
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// schemaGen turns Go types into JSON Schemas, naming struct types as
// components.
type schemaGen struct {
	schemas map[string]any
}

var timeType = reflect.TypeOf(time.Time{})
var rawType = reflect.TypeOf(json.RawMessage{})

func (g *schemaGen) of(t reflect.Type) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.of(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": g.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.of(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.object(t)
		}
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := g.schemas[name]; !ok {
			g.schemas[name] = map[string]any{} // placeholder stops recursion
			g.schemas[name] = g.object(t)
		}
		return ref
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	sch := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		sort.Strings(required)
		sch["required"] = required
	}
	return sch
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				g.fields(ft, props, required)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.of(f.Type)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

// schemaName names a struct type for components: "Organization",
// "Page[...asset.Asset]" → "AssetPage"; anonymous and request-local
// types get their Go name in CamelCase.
func schemaName(t reflect.Type) string {
	n := t.Name()
	if n == "" {
		return ""
	}
	if i := strings.IndexByte(n, '['); i >= 0 {
		inner := n[i+1 : len(n)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		return inner + n[:i]
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
