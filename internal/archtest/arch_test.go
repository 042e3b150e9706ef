// Package archtest checks the import rules of the architecture: domain
// packages depend on the standard library (and a few golang.org/x packages)
// only, never on an adapter.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/rampart-cert/rampart/"

// domain packages and what else each may import besides the standard
// library and other domain packages.
var domain = map[string][]string{
	"internal/org":             nil,
	"internal/asset":           {"golang.org/x/net/idna"},
	"internal/auth":            {"golang.org/x/crypto/"},
	"internal/finding":         nil,
	"internal/finding/catalog": nil,
	"internal/vulndb":          nil,
	"internal/target":          nil,
}

func TestDomainImportsNoAdapter(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg, extra := range domain {
		dir := filepath.Join(root, pkg)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, name), nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				if allowed(path, extra) {
					continue
				}
				t.Errorf("%s/%s imports %s: a domain package may use the standard library and other domain packages only", pkg, name, path)
			}
		}
	}
}

func allowed(path string, extra []string) bool {
	first, _, _ := strings.Cut(path, "/")
	if !strings.Contains(first, ".") {
		return true // standard library
	}
	if strings.HasPrefix(path, module) {
		_, ok := domain[strings.TrimPrefix(path, module)]
		return ok
	}
	for _, e := range extra {
		if path == e || (strings.HasSuffix(e, "/") && strings.HasPrefix(path, e)) {
			return true
		}
	}
	return false
}
