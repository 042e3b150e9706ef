package sqlstore

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// unavailable reports whether err means the database cannot be reached
// right now (down, restarting, refusing or dropping connections), as
// opposed to a query it refused: the same call may succeed later, so the
// store reports it as store.ErrUnavailable (the API answers 503, the
// ingester waits instead of giving up).
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ce), errors.As(err, &oe), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	if code := pgErrorCode(err); code != "" {
		// Class 08: connection exception; 57P01-57P03: the server is
		// shutting down, crashed or is starting up; 53300: too many
		// connections.
		return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
	}
	// pgx reports a connection it closed after a network failure this way.
	return strings.Contains(err.Error(), "conn closed")
}
