// Package udp is the UDP services check family: SNMP agents that answer
// the default communities, NTP servers that answer monlist or mode 6
// queries, SSDP, memcached over UDP, IPMI BMCs (cipher zero) and TFTP
// servers reachable from the internet. (Open resolvers over UDP are
// dns.open-resolver, which looks at UDP targets too.)
//
// The checks run on the UDP service targets the engine makes from the
// open ports of its UDP scan (internal/probe/udpscan); they implement
// check.UDPCheck and apply only to targets with Proto "udp", by the
// service the scan identified, or by the usual port when the reply named
// none. Their IDs stay in the namespaces the catalog gave them ("svc.")
// while the family is "udp", so `--checks udp` selects them.
//
// Nothing here changes a target: every request reads (GET, stats,
// READVAR, monlist, M-SEARCH, a capabilities query, a read request for
// a name nobody has). SNMP write access is never tried with a SET: the
// community "private" being accepted is reported as likely write access.
// Every reply is read under a deadline, capped, and parsed by the fuzzed
// parsers of udpscan.
package udp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
)

// Family is the check family name of this package.
const Family = "udp"

// Register adds the family's checks to r.
func Register(r *check.Registry) error { return r.Register(Checks()...) }

// Checks returns the family's checks, in ID order.
func Checks() []check.Check {
	return []check.Check{
		&udpCheck{meta: metaIPMI, service: "ipmi", port: 623, run: runIPMI},
		&udpCheck{meta: metaMemcached, service: "memcached", port: 11211, run: runMemcached},
		&udpCheck{meta: metaNTP, service: "ntp", port: 123, run: runNTP},
		&udpCheck{meta: metaSNMP, service: "snmp", port: 161, run: runSNMP},
		&udpCheck{meta: metaSSDP, service: "ssdp", port: 1900, run: runSSDP},
		&udpCheck{meta: metaTFTP, service: "tftp", port: 69, run: runTFTP},
	}
}

// udpCheck is a check on a UDP service target run by a function.
type udpCheck struct {
	meta    check.Meta
	service string // the udpscan service name it applies to
	port    uint16 // the port it applies to when the reply named no service
	run     func(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error)
}

var _ check.UDPCheck = (*udpCheck)(nil)

func (c *udpCheck) Meta() check.Meta { return c.meta }

// UDP marks the check as one for UDP targets.
func (c *udpCheck) UDP() bool { return true }

func (c *udpCheck) Applies(t check.Target) bool {
	if t.Kind != check.TargetService || t.Proto != check.ProtoUDP || !t.Addr.IsValid() {
		return false
	}
	switch s := strings.ToLower(t.Service); s {
	case c.service:
		return true
	case "", "unknown":
		return t.Addr.Port() == c.port
	}
	return false
}

func (c *udpCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	return c.run(ctx, env, t, c.meta)
}

// Limits of one exchange.
const (
	maxWait     = 3 * time.Second        // longest wait for a first reply
	quiet       = 400 * time.Millisecond // after a reply, how long to wait for more
	maxReplies  = 512                    // datagrams read from one exchange
	maxKept     = 256 << 10              // reply bytes kept from one exchange (all are counted)
	maxDatagram = 65535
)

// exchange is what one request brought back.
type exchange struct {
	replies [][]byte // the datagrams accept took, in order, within maxKept
	bytes   int      // payload bytes of every accepted datagram
	packets int
}

// waitFor is the first-reply wait: the environment's timeout, at most
// maxWait.
func waitFor(env *check.Env) time.Duration {
	if env.Timeout > 0 && env.Timeout < maxWait {
		return env.Timeout
	}
	return maxWait
}

// dial opens a connected UDP socket to t with the environment's dialer.
func dial(ctx context.Context, env *check.Env, t check.Target) (net.Conn, error) {
	d := env.Dial
	if d == nil {
		var nd net.Dialer
		d = nd.DialContext
	}
	c, err := d(ctx, "udp", t.Addr.String())
	if err != nil {
		return nil, fmt.Errorf("udp: %s: %w: %w", t.Addr, check.ErrUnreachable, err)
	}
	return c, nil
}

// ask sends reqs to t from a connected socket (sent again once if nothing
// came back in half the wait) and reads the datagrams accept takes until
// accept says the answer is complete or the service is quiet. A closed port (ICMP port unreachable, which a
// connected socket reads as ECONNREFUSED) is check.ErrUnreachable;
// silence is an empty exchange and no error.
func ask(ctx context.Context, env *check.Env, t check.Target, reqs [][]byte, accept func([]byte) (take, last bool)) (exchange, error) {
	var x exchange
	c, err := dial(ctx, env, t)
	if err != nil {
		return x, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	send := func() error {
		for _, r := range reqs {
			if _, err := c.Write(r); err != nil {
				return err
			}
		}
		return nil
	}
	if err := send(); err != nil {
		return x, fmt.Errorf("udp: %s: %w: %w", t.Addr, check.ErrUnreachable, err)
	}
	wait := waitFor(env)
	start := time.Now()
	end := start.Add(wait)
	resent := false
	buf := make([]byte, maxDatagram)
	kept := 0
	for x.packets < maxReplies {
		dl := end
		if x.packets == 0 && !resent {
			dl = start.Add(wait / 2)
		}
		c.SetReadDeadline(dl)
		n, err := c.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return x, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if x.packets == 0 && !resent {
					resent = true
					if err := send(); err != nil {
						return x, fmt.Errorf("udp: %s: %w: %w", t.Addr, check.ErrUnreachable, err)
					}
					continue
				}
				return x, nil
			}
			if errors.Is(err, syscall.ECONNREFUSED) && x.packets == 0 {
				return x, fmt.Errorf("udp: %s: port closed: %w: %w", t.Addr, check.ErrUnreachable, err)
			}
			if x.packets > 0 {
				return x, nil
			}
			return x, fmt.Errorf("udp: %s: %w: %w", t.Addr, check.ErrUnreachable, err)
		}
		take, last := accept(buf[:n])
		if !take {
			continue
		}
		x.packets++
		x.bytes += n
		if kept+n <= maxKept {
			x.replies = append(x.replies, append([]byte(nil), buf[:n]...))
			kept += n
		}
		if last {
			return x, nil
		}
		end = time.Now().Add(quiet)
	}
	return x, nil
}

// factor is the amplification factor of an exchange: reply bytes per
// request byte.
func factor(replyBytes, requestBytes int) string {
	if requestBytes == 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f", float64(replyBytes)/float64(requestBytes))
}

func sum(reqs [][]byte) int {
	n := 0
	for _, r := range reqs {
		n += len(r)
	}
	return n
}

// addr is t's address for titles.
func addr(t check.Target) string {
	return netip.AddrPortFrom(t.Addr.Addr(), t.Addr.Port()).String() + "/udp"
}
