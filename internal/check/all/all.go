// Package all decides which check families ship: it registers every
// built-in family and the declarative templates of a directory.
package all

import (
	"fmt"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns"
	httpcheck "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/mail"
	"github.com/rampart-cert/rampart/internal/check/svc"
	"github.com/rampart-cert/rampart/internal/check/template"
	tlscheck "github.com/rampart-cert/rampart/internal/check/tls"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/check/web"
)

// Families lists the built-in families in a stable order.
var Families = []string{"tls", "http", "web", "svc", "vuln", "dns", "mail", "template"}

// Registry returns a registry with every built-in check and the templates
// found under templatesDir (none when empty). A broken template does not
// stop the others: its error is returned beside the registry.
func Registry(templatesDir string) (*check.Registry, []error) {
	r := check.NewRegistry()
	for name, reg := range map[string]func(*check.Registry) error{
		"tls": tlscheck.Register, "http": httpcheck.Register, "web": web.Register, "svc": svc.Register,
		"vuln": vuln.Register, "dns": dns.Register, "mail": mail.Register,
	} {
		if err := reg(r); err != nil {
			// Built-in families are tested; this is a programming error.
			panic(fmt.Sprintf("check/all: family %s: %v", name, err))
		}
	}
	var errs []error
	if templatesDir != "" {
		ts, terrs := template.LoadDir(templatesDir)
		errs = append(errs, terrs...)
		for _, t := range ts {
			if err := r.Register(t); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t.File(), err))
			}
		}
	}
	return r, errs
}
