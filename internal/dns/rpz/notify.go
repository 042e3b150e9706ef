package rpz

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// notifier sends NOTIFY (RFC 1996) to a zone's secondaries, retrying
// until each answers; a newer change of the zone replaces a retry still
// running for the same secondary.
type notifier struct {
	o       Options
	log     *slog.Logger
	mu      sync.Mutex
	running map[string]context.CancelFunc // by zone name and target
	wg      sync.WaitGroup
	ok      *atomic.Int64
}

func newNotifier(o Options, answered *atomic.Int64) *notifier {
	return &notifier{o: o, log: o.Logger, running: map[string]context.CancelFunc{}, ok: answered}
}

// notify tells every secondary of z that its serial is now serial.
func (n *notifier) notify(ctx context.Context, z *zone, serial uint32) {
	for _, target := range z.spec.Notify {
		id := z.name + "\x00" + target
		tctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, cancel)
		n.mu.Lock()
		if prev := n.running[id]; prev != nil {
			prev()
		}
		n.running[id] = cancel
		n.mu.Unlock()
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer stop()
			n.send(tctx, z, target, serial)
			n.mu.Lock()
			if tctx.Err() == nil {
				delete(n.running, id)
			}
			n.mu.Unlock()
			cancel()
		}()
	}
}

// wait waits for the retries that are running (they end with the
// context given to notify).
func (n *notifier) wait() { n.wg.Wait() }

// send sends one NOTIFY until it is answered, at most NotifyTries
// times, 1s, 2s, 4s ... apart.
func (n *notifier) send(ctx context.Context, z *zone, target string, serial uint32) {
	back := time.Second
	var err error
	for try := 1; try <= n.o.NotifyTries; try++ {
		if err = n.once(ctx, z, target, serial); err == nil {
			n.ok.Add(1)
			n.log.Debug("rpz: notify answered", "zone", z.origin, "consumer", z.name, "to", target, "serial", serial)
			return
		}
		if try == n.o.NotifyTries {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(back):
		}
		back *= 2
	}
	n.log.Warn("rpz: notify not answered", "zone", z.origin, "consumer", z.name, "to", target, "serial", serial, "tries", n.o.NotifyTries, "err", err)
}

// once sends one NOTIFY with the new SOA, signed with the zone's key
// when it has one.
func (n *notifier) once(ctx context.Context, z *zone, target string, serial uint32) error {
	m := new(dns.Msg)
	m.SetNotify(z.origin)
	m.Answer = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: z.origin, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: recordTTL},
		Ns: soaMName, Mbox: soaRName, Serial: serial, Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: soaMinimum}}
	c := &dns.Client{Net: "udp", Timeout: n.o.NotifyTimeout}
	if n.o.NotifySource.IsValid() {
		c.Dialer = &net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.o.NotifySource, 0))}
	}
	if z.key != nil {
		m.SetTsig(z.key.name, dns.HmacSHA256, tsigFudge, n.o.Now().Unix())
		c.TsigSecret = map[string]string{z.key.name: z.key.b64}
	}
	r, _, err := c.ExchangeContext(ctx, m, target)
	if err != nil {
		return fmt.Errorf("rpz: notify %s: %w", target, err)
	}
	if r.Opcode != dns.OpcodeNotify || r.Rcode != dns.RcodeSuccess {
		return fmt.Errorf("rpz: notify %s: answer opcode %d rcode %s", target, r.Opcode, dns.RcodeToString[r.Rcode])
	}
	return nil
}
