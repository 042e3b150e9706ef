// Package svc is the exposed-services check family: databases, caches,
// remote-desktop and file-sharing protocols and container APIs that answer
// on the internet, with or without authentication, weak service
// configuration (anonymous MQTT, open rsync modules, SMB null sessions,
// SMBv1 and signing, AJP, SSH algorithms and host keys, clear-text FTP and
// HTTP Basic, SMTP relay and VRFY, small Diffie-Hellman groups, DNS
// version disclosure), empty and default passwords when the scan policy
// opts in (creds.go), and software past its end of life.
//
// Checks that only need the fingerprint (a database port is reachable)
// fire from the target's service data without a new connection; the
// "unauthenticated" checks talk the protocol just far enough to prove the
// server answers without credentials (INFO, listDatabases, stats, an
// anonymous FTP login) and never change anything.
package svc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Family is the check family name of this package.
const Family = "svc"

// svcCheck is a check on a service target run by a function.
type svcCheck struct {
	meta     check.Meta
	services []string // fingerprint service names it applies to
	ports    []uint16 // ports it applies to when the service is unknown
	banner   string   // a banner prefix that proves the service on any port the fingerprint could not name
	run      func(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error)
}

var _ check.Check = (*svcCheck)(nil)

func (c *svcCheck) Meta() check.Meta { return c.meta }

func (c *svcCheck) Applies(t check.Target) bool {
	if t.Kind != check.TargetService {
		return false
	}
	svc := strings.ToLower(t.Service)
	for _, s := range c.services {
		if svc == s {
			return true
		}
	}
	// The port list only for services the fingerprint could not name (an
	// HTTP server on 5432 is "http", not a database); such a target must
	// then speak the protocol before anything is reported (confirm.go).
	if !identified(t) {
		if c.banner != "" && strings.HasPrefix(t.Banner, c.banner) {
			return true
		}
		for _, p := range c.ports {
			if t.Addr.Port() == p {
				return true
			}
		}
	}
	return false
}

func (c *svcCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	return c.run(ctx, env, t, c.meta)
}

// Checks returns the family's checks, in ID order.
func Checks() []check.Check {
	cs := []check.Check{
		&svcCheck{meta: metaAJP, services: []string{"ajp13", "ajp"}, ports: []uint16{8009}, run: runAJP},
		&svcCheck{meta: metaDatabase, services: []string{"mysql", "postgresql", "mssql"}, ports: []uint16{3306, 5432, 1433}, run: guarded(runExposed)},
		credCheck{},
		dhCheck{},
		&svcCheck{meta: metaDNSVersion, services: []string{"dns", "domain"}, ports: []uint16{53}, run: runDNSVersion},
		&svcCheck{meta: metaDocker, services: []string{"docker"}, ports: []uint16{2375}, run: runDocker},
		&svcCheck{meta: metaElastic, services: []string{"elasticsearch"}, ports: []uint16{9200}, run: runElastic},
		eolCheck(),
		&svcCheck{meta: metaFTP, services: []string{"ftp"}, ports: []uint16{21}, run: runFTPAnonymous},
		&svcCheck{meta: metaFTPCleartext, services: []string{"ftp"}, ports: []uint16{21}, run: runFTPCleartext},
		&svcCheck{meta: metaHTTPBasic, services: []string{"http", "http-alt"}, ports: []uint16{80, 8080}, run: runHTTPBasic},
		&svcCheck{meta: metaMemcached, services: []string{"memcached"}, ports: []uint16{11211}, run: runMemcached},
		&svcCheck{meta: metaMQTT, services: []string{"mqtt", "mqtts"}, ports: []uint16{1883, 8883}, run: runMQTTAnonymous},
		&svcCheck{meta: metaMongo, services: []string{"mongodb"}, ports: []uint16{27017}, run: runMongo},
		&svcCheck{meta: metaRDP, services: []string{"rdp", "ms-wbt-server"}, ports: []uint16{3389}, run: guarded(runExposed)},
		&svcCheck{meta: metaRedis, services: []string{"redis"}, ports: []uint16{6379}, run: runRedis},
		&svcCheck{meta: metaRsync, services: []string{"rsync"}, ports: []uint16{873}, banner: "@RSYNCD:", run: runRsync},
		&svcCheck{meta: metaSMB, services: []string{"smb", "microsoft-ds", "netbios-ssn"}, ports: []uint16{445, 139}, run: guarded(runExposed)},
		&svcCheck{meta: metaSMBNull, services: []string{"smb", "microsoft-ds"}, ports: []uint16{445}, run: runSMBNull},
		&svcCheck{meta: metaSMBSigning, services: []string{"smb", "microsoft-ds"}, ports: []uint16{445}, run: runSMBSigning},
		&svcCheck{meta: metaSMBv1, services: []string{"smb", "microsoft-ds"}, ports: []uint16{445}, run: runSMBv1},
		&svcCheck{meta: metaSMTPRelay, services: []string{"smtp", "esmtp", "submission", "smtps"}, ports: []uint16{25, 587}, run: runSMTPRelay},
		&svcCheck{meta: metaSMTPUsers, services: []string{"smtp", "esmtp", "submission", "smtps"}, ports: []uint16{25, 587}, run: runSMTPUsers},
		&svcCheck{meta: metaSSHPassword, services: []string{"ssh"}, ports: []uint16{22}, run: runSSHPassword},
		&svcCheck{meta: metaSSHAlgorithms, services: []string{"ssh"}, ports: []uint16{22}, run: runSSHAlgorithms},
		&svcCheck{meta: metaSSHHostKey, services: []string{"ssh"}, ports: []uint16{22}, run: runSSHHostKeys},
		&svcCheck{meta: metaTelnet, services: []string{"telnet"}, ports: []uint16{23}, run: guarded(runExposed)},
		&svcCheck{meta: metaVNC, services: []string{"vnc"}, ports: []uint16{5900, 5901}, run: runVNC},
	}
	slices.SortFunc(cs, func(a, b check.Check) int { return strings.Compare(a.Meta().ID, b.Meta().ID) })
	return cs
}

// Register adds the family's checks to r.
func Register(r *check.Registry) error { return r.Register(Checks()...) }

// conn opens a connection to t with the env's dialer and deadlines.
func conn(ctx context.Context, env *check.Env, t check.Target) (net.Conn, error) {
	timeout := env.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := env.Dial
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(dctx, "tcp", t.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", check.ErrUnreachable, t.Addr, err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * timeout))
	return c, nil
}

// maxReply caps what is read from a service in one answer.
const maxReply = 64 << 10

// readSome reads one reply of at most n bytes (what arrives before the
// deadline or a pause).
func readSome(c net.Conn, n int) ([]byte, error) {
	buf := make([]byte, n)
	total := 0
	for total < n {
		k, err := c.Read(buf[total:])
		total += k
		if err != nil {
			if total > 0 && (errors.Is(err, io.EOF) || isTimeout(err)) {
				break
			}
			return buf[:total], err
		}
		// Give the rest of the reply a short moment, then stop.
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	}
	return buf[:total], nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readLine reads one CRLF-terminated line of at most 4 KiB.
func readLine(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for sb.Len() < 4096 {
		b, err := r.ReadByte()
		if err != nil {
			return sb.String(), err
		}
		if b == '\n' {
			return strings.TrimRight(sb.String(), "\r"), nil
		}
		sb.WriteByte(b)
	}
	return sb.String(), errors.New("svc: line too long")
}

// printable makes a reply safe to keep as evidence.
func printable(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f):
			sb.WriteByte(c)
		default:
			fmt.Fprintf(&sb, "\\x%02x", c)
		}
	}
	return check.Cap(sb.String())
}

func result(m check.Meta, sev finding.Severity, title string, ev check.Evidence) check.Result {
	return check.Result{Check: m.ID, Severity: sev, Title: title, Evidence: ev}
}

func productOf(t check.Target) string {
	s := strings.TrimSpace(t.Product + " " + t.Version)
	if s == "" {
		s = t.Service
	}
	return s
}

// runExposed fires for services that should not face the internet at all,
// from the fingerprint alone.
func runExposed(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	what := productOf(t)
	if what == "" {
		what = "service"
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("%s reachable from the internet on %s", what, t.Addr),
		check.Evidence{Response: printable([]byte(t.Banner)), Fields: map[string]string{
			"service": t.Service, "product": t.Product, "version": t.Version, "port": fmt.Sprint(t.Addr.Port())}})}, nil
}
