package sqlstore

import (
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/org"
)

var sysP = auth.SystemPrincipal

func newOrg(code string) org.Organization {
	return org.Organization{Code: code, Name: code, NameEN: code, Kind: org.KindNational}
}
