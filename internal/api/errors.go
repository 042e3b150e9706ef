package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// Code is a stable, machine-readable error code. Clients switch on it; the
// message beside it is for people and may change.
type Code string

// The error codes of the API.
const (
	CodeBadRequest      Code = "bad_request"       // malformed JSON, bad parameter
	CodeInvalid         Code = "invalid"           // well-formed but fails validation
	CodeUnauthorized    Code = "unauthorized"      // no or bad credentials
	CodeForbidden       Code = "forbidden"         // authenticated, not allowed
	CodeNotFound        Code = "not_found"         // no such object (or not yours)
	CodeConflict        Code = "conflict"          // duplicate, or still referenced
	CodeThrottled       Code = "throttled"         // too many failed logins
	CodeImportFailed    Code = "import_failed"     // a row of an import is bad; nothing stored
	CodeOutOfScope      Code = "out_of_scope"      // no registered asset covers the target
	CodeTooLarge        Code = "payload_too_large" // body over the limit
	CodeUnsupportedType Code = "unsupported_media_type"
	CodeMethod          Code = "method_not_allowed"
	CodeUnavailable     Code = "unavailable" // a dependency is not ready
	CodeInternal        Code = "internal"    // our fault; see the server log
)

// Error is the body of every error response:
//
//	{"error": {"code": "not_found", "message": "...", "line": 12}}
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	Line    int    `json:"line,omitempty"` // for import_failed: the first bad line
	// Lines lists every refused line of a findings import.
	Lines []findings.LineError `json:"lines,omitempty"`
}

type errorBody struct {
	Error Error `json:"error"`
}

var statusOf = sync.OnceValue(func() map[Code]int {
	return map[Code]int{
		CodeBadRequest: 400, CodeInvalid: 422, CodeUnauthorized: 401, CodeForbidden: 403,
		CodeNotFound: 404, CodeConflict: 409, CodeThrottled: 429, CodeImportFailed: 422,
		CodeOutOfScope: 404, CodeTooLarge: 413, CodeUnsupportedType: 415, CodeMethod: 405,
		CodeUnavailable: 503, CodeInternal: 500,
	}
})

// retryAfterSeconds is the Retry-After of a 503: the ingester and the
// outbox relay notice a database or queue that is back within seconds.
const retryAfterSeconds = "5"

// apiError is an error that already knows its code.
type apiError struct {
	code Code
	msg  string
	line int
}

func (e *apiError) Error() string { return e.msg }

func errf(code Code, msg string) error { return &apiError{code: code, msg: msg} }

// classify maps an error from the domain or the store to what the client sees.
func classify(err error) Error {
	var ae *apiError
	var ie *store.ImportError
	var le *transfer.LineError
	var mbe *http.MaxBytesError
	var fr *findings.ImportRefused
	switch {
	case errors.As(err, &fr):
		e := Error{Code: CodeImportFailed, Message: fr.Error(), Lines: fr.Lines}
		if len(fr.Lines) > 0 {
			e.Line = fr.Lines[0].Line
		}
		return e
	case errors.As(err, &ae):
		return Error{Code: ae.code, Message: ae.msg, Line: ae.line}
	case errors.As(err, &ie):
		return Error{Code: CodeImportFailed, Message: ie.Error(), Line: ie.Line}
	case errors.As(err, &le):
		return Error{Code: CodeImportFailed, Message: le.Error(), Line: le.Line}
	case errors.As(err, &mbe):
		return Error{Code: CodeTooLarge, Message: "request body too large"}
	case errors.Is(err, asset.ErrOutOfScope):
		return Error{Code: CodeOutOfScope, Message: err.Error()}
	case errors.Is(err, store.ErrUnavailable):
		// Before ErrNotFound and the rest: a database that is down is not
		// the client's fault, and a retry will do.
		return Error{Code: CodeUnavailable, Message: "the database is unavailable; try again shortly"}
	case errors.Is(err, scope.ErrNotReady), errors.Is(err, findings.ErrNoScanner):
		return Error{Code: CodeUnavailable, Message: err.Error()}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, auth.ErrNotFound), errors.Is(err, org.ErrNotFound), errors.Is(err, asset.ErrNotFound):
		return Error{Code: CodeNotFound, Message: "not found"}
	case errors.Is(err, store.ErrForbidden), errors.Is(err, auth.ErrForbidden):
		return Error{Code: CodeForbidden, Message: err.Error()}
	case errors.Is(err, store.ErrConflict), errors.Is(err, finding.ErrTransition):
		return Error{Code: CodeConflict, Message: publicMessage(err, "conflict: the name or code is not available, or the object is still in use")}
	case errors.Is(err, assess.ErrUnknown):
		return Error{Code: CodeInvalid, Message: err.Error()}
	case errors.Is(err, transfer.ErrBusy):
		return Error{Code: CodeThrottled, Message: err.Error()}
	case errors.Is(err, findings.ErrQuota):
		return Error{Code: CodeThrottled, Message: err.Error()}
	case errors.Is(err, findings.ErrBlackout):
		return Error{Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, findings.ErrBadRequest):
		return Error{Code: CodeBadRequest, Message: err.Error()}
	case errors.Is(err, store.ErrInvalid), errors.Is(err, finding.ErrInvalid), errors.Is(err, asset.ErrInvalid), errors.Is(err, org.ErrInvalid), errors.Is(err, auth.ErrInvalid):
		return Error{Code: CodeInvalid, Message: publicMessage(err, "invalid: a value breaks a rule of the database")}
	case errors.Is(err, auth.ErrThrottled):
		return Error{Code: CodeThrottled, Message: err.Error()}
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrTokenExpired):
		return Error{Code: CodeUnauthorized, Message: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Error{Code: CodeUnavailable, Message: "request cancelled or timed out"}
	}
	return Error{Code: CodeInternal, Message: "internal error"}
}

// ownSentinels are the errors our packages build messages on. An error
// whose every cause ends in one of them was written by us for people; one
// with any other root cause (a database driver's constraint message) is
// not shown.
var ownSentinels = []error{
	store.ErrConflict, store.ErrInvalid, store.ErrNotFound, store.ErrForbidden,
	finding.ErrTransition, finding.ErrInvalid, asset.ErrInvalid, org.ErrInvalid, auth.ErrInvalid,
	assess.ErrUnknown,
}

// publicMessage is err's message when all its root causes are our own
// sentinels, else generic: driver error text (table and column names,
// constraint names, values) never reaches a client.
func publicMessage(err error, generic string) string {
	if ownRoots(err) {
		return err.Error()
	}
	return generic
}

func ownRoots(err error) bool {
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if next := x.Unwrap(); next != nil {
			return ownRoots(next)
		}
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if !ownRoots(e) {
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	if e.Code == CodeInternal {
		s.log.Error("api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Code == CodeUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="rampart"`)
	}
	if e.Code == CodeUnavailable {
		// A dependency is down or slow: tell clients when to come back
		// rather than let them hammer it (RFC 9110 §10.2.3).
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, statusOf()[e.Code], errorBody{Error: e})
}
