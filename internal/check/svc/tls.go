package svc

import (
	"crypto/tls"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// insecureTLS reads services behind any certificate: these checks judge
// the service, the TLS family judges the certificate.
func insecureTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10} //nolint:gosec // scanner reads hostile servers
}

func timeoutOf(env *check.Env) time.Duration {
	if env.Timeout > 0 {
		return env.Timeout
	}
	return 5 * time.Second
}
