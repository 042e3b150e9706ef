package web

import (
	"errors"
	"net/http"

	"github.com/rampart-cert/rampart/internal/assess"
	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// classify turns a cause into what the user sees. Validation messages are
// shown as detail (they say which field is wrong); anything unexpected is
// "internal error" and goes to the log only.
func classify(err error) *uiError {
	var ie *store.ImportError
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return &uiError{status: http.StatusNotFound, key: "error.notfound", cause: err}
	case errors.Is(err, store.ErrForbidden), errors.Is(err, auth.ErrForbidden):
		return &uiError{status: http.StatusForbidden, key: "error.forbidden", cause: err}
	case errors.Is(err, store.ErrConflict):
		return &uiError{status: http.StatusConflict, key: "error.conflict", cause: err, detail: ownCause(err)}
	case errors.Is(err, findings.ErrQuota):
		return &uiError{status: http.StatusTooManyRequests, key: "error.quota", cause: err, detail: true}
	case errors.Is(err, findings.ErrBlackout):
		return &uiError{status: http.StatusConflict, key: "error.blackout", cause: err}
	case errors.Is(err, findings.ErrNoScanner):
		return &uiError{status: http.StatusServiceUnavailable, key: "error.noscanner", cause: err}
	case errors.Is(err, finding.ErrTransition):
		return &uiError{status: http.StatusConflict, key: "error.transition", cause: err, detail: true}
	case errors.As(err, &ie), errors.Is(err, store.ErrInvalid), errors.Is(err, asset.ErrInvalid),
		errors.Is(err, org.ErrInvalid), errors.Is(err, finding.ErrInvalid), errors.Is(err, auth.ErrInvalid),
		errors.Is(err, transfer.ErrFormat), errors.Is(err, asset.ErrOutOfScope),
		errors.Is(err, assess.ErrUnknown), errors.Is(err, findings.ErrBadRequest):
		return &uiError{status: http.StatusBadRequest, key: "error.invalid", cause: err, detail: ownCause(err)}
	}
	return &uiError{status: http.StatusInternalServerError, key: "error.internal", cause: err}
}
