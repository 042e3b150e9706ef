// Package all decides which check families ship: it registers every
// built-in family and the declarative templates of a directory.
package all

import (
	"fmt"
	"os"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	httpcheck "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/mail"
	"github.com/rampart-cert/rampart/internal/check/svc"
	"github.com/rampart-cert/rampart/internal/check/template"
	"github.com/rampart-cert/rampart/internal/check/template/builtin"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	udpcheck "github.com/rampart-cert/rampart/internal/check/udp"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/check/website"
	"github.com/rampart-cert/rampart/internal/finding/catalog"
)

// Families lists the built-in families in a stable order.
var Families = []string{"tls", "http", "web", "svc", "vuln", "dns", "mail", "template", "udp"}

// Registry returns a registry with every built-in check, the shipped
// templates and those found under templatesDir (none when empty or
// missing). A broken template does not
// stop the others: its error is returned beside the registry.
// Registry.Catalog is the finding catalog of what ships: every check's
// kind and those of the other sources.
func Registry(templatesDir string) (*check.Registry, []error) {
	r := Builtin()
	ts, errs := template.LoadFS(builtin.FS, "shipped")
	if templatesDir != "" {
		if _, err := os.Stat(templatesDir); err == nil {
			more, terrs := template.LoadDir(templatesDir)
			errs = append(errs, terrs...)
			ts = append(ts, more...)
		}
	}
	for _, t := range ts {
		if _, dup := r.Get(t.ID); dup {
			continue // an operator's copy of a shipped template
		}
		if err := r.Register(t); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", t.File(), err))
		}
	}
	return r, errs
}

// Builtin returns a registry with the checks written in Go only. Its
// catalog (Registry.Catalog) holds their kinds and the built-in kinds of
// the other finding sources (catalog.Builtin).
func Builtin() *check.Registry {
	r := check.NewRegistryIn(catalog.Builtin())
	for name, reg := range map[string]func(*check.Registry) error{
		"tls": tlscheck.Register, "http": httpcheck.Register, "web": website.Register, "svc": svc.Register,
		"vuln": vuln.Register, "dns": dns.Register, "mail": mail.Register, "udp": udpcheck.Register,
	} {
		if err := reg(r); err != nil {
			// Built-in families are tested; this is a programming error.
			panic(fmt.Sprintf("check/all: family %s: %v", name, err))
		}
	}
	return r
}
