package web

import (
	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// ownSentinels are the errors our packages write messages for people on.
var ownSentinels = []error{
	store.ErrConflict, store.ErrInvalid, store.ErrNotFound, store.ErrForbidden,
	finding.ErrTransition, finding.ErrInvalid, asset.ErrInvalid, asset.ErrOutOfScope, org.ErrInvalid, auth.ErrInvalid,
	assess.ErrUnknown, transfer.ErrFormat, findings.ErrBadRequest,
}

// ownCause reports whether every root cause of err is one of our
// sentinels, so its text may be shown; a database driver's message
// (tables, constraints, values) never is.
func ownCause(err error) bool {
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if next := x.Unwrap(); next != nil {
			return ownCause(next)
		}
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if !ownCause(e) {
				return false
			}
		}
		return true
	}
	for _, s := range ownSentinels {
		if err == s {
			return true
		}
	}
	return false
}
