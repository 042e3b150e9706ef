package rpz_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intelweb"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// need returns the path of an external program, skipping the test when
// it is missing (failing on CI, which installs it).
func need(t *testing.T, path string) string {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing (CI installs it: .ci/run)", path)
		}
		t.Skipf("%s is missing", path)
	}
	return path
}

// hub is the platform side of an interoperability test: a SQLite store
// with the hub's indicators, its guarded blocklists and one blocklist
// consumer allowed the rpz format.
type hub struct {
	st     *sqlstore.Store
	lists  *intelweb.Blocklists
	consum store.Consumer
}

func newHub(t *testing.T) *hub {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "hub.db"), quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "VN", Name: "Việt Nam", NameEN: "Vietnam", Kind: org.KindNational}
	if err := st.CreateOrg(ctx, sys, &o); err != nil {
		t.Fatal(err)
	}
	// A registered asset: the guard keeps it out of every list.
	a := asset.Asset{OrgID: o.ID, Kind: asset.KindHostname, Value: "portal.example.test", Criticality: asset.CriticalityImportant, SecurityLevel: 3}
	if err := st.CreateAsset(ctx, sys, &a); err != nil {
		t.Fatal(err)
	}
	c := store.Consumer{Name: "unbound-hanoi", KeyHash: intelweb.HashKey("http-key-of-unbound-hanoi"), Formats: []string{"rpz"}, Enabled: true}
	if err := st.CreateConsumer(ctx, sys, &c); err != nil {
		t.Fatal(err)
	}
	return &hub{st: st, lists: intelweb.NewBlocklists(st, intelweb.BlocklistOptions{Logger: quiet()}), consum: c}
}

// add puts indicators into the hub as a feed would.
func (h *hub) add(t *testing.T, kind intel.Kind, values ...string) {
	t.Helper()
	now := time.Now()
	var recs []intel.Record
	for _, v := range values {
		r := intel.Record{Kind: kind, Value: v, Feed: "test-feed", TLP: intel.TLPClear, Category: intel.CategoryMalware,
			Confidence: 90, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute)}
		if err := r.Normalize(now); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, err := h.st.ApplyIndicators(context.Background(), auth.SystemPrincipal, recs); err != nil {
		t.Fatal(err)
	}
}

// authServer is a tiny authoritative server for example.test on addr:
// every name has an A record, TTL 1; ipbad.example.test points at an
// address the hub lists.
func authServer(t *testing.T, host string) string {
	t.Helper()
	ln, pc := listenPair(t, host)
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		m.Authoritative = true
		q := r.Question[0]
		if q.Qtype == dns.TypeA && dns.IsSubDomain("example.test.", q.Name) {
			ip := "198.51.100.20"
			if q.Name == "ipbad.example.test." {
				ip = "93.184.215.14"
			}
			rr, _ := dns.NewRR(q.Name + " 1 IN A " + ip)
			m.Answer = append(m.Answer, rr)
		}
		w.WriteMsg(m)
	})
	for _, s := range []*dns.Server{{Listener: ln, Handler: h}, {PacketConn: pc, Handler: h}} {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return ln.Addr().String()
}

// freePort finds a port on host free for TCP and UDP, for a program that
// binds it itself.
func freePort(t *testing.T, host string) int {
	t.Helper()
	ln, pc := listenPair(t, host)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pc.Close()
	return port
}

// syncBuffer collects a program's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// rcodeOf asks resolver for name's A record.
func rcodeOf(resolver, name string) (int, error) {
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(dns.Fqdn(name), dns.TypeA), resolver)
	if err != nil {
		return -1, err
	}
	return r.Rcode, nil
}

// eventually waits up to d for name to get rcode from resolver and
// returns how long it took.
func eventually(t *testing.T, resolver, name string, rcode int, d time.Duration, logs fmt.Stringer) time.Duration {
	t.Helper()
	start := time.Now()
	var got int
	var err error
	for time.Since(start) < d {
		if got, err = rcodeOf(resolver, name); err == nil && got == rcode {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: rcode %s (%v) after %s, want %s\nunbound:\n%s", name, dns.RcodeToString[got], err, d, dns.RcodeToString[rcode], logs)
	return 0
}

// TestUnboundSecondary runs Debian's unbound with an rpz: clause whose
// primary is this package's server: it blocks what the hub lists
// (NXDOMAIN for the name and names below it, and for an answer pointing
// at a listed address), resolves the rest (a registered asset too, even
// when a feed lists it), and a change in the hub reaches it by NOTIFY
// and IXFR within seconds. Unbound 1.17 cannot sign zone transfers:
// the zone allows its loopback source unsigned (TSIG is proven with
// miekg/dns here and with BIND in TestBINDSecondaryTSIG).
func TestUnboundSecondary(t *testing.T) {
	unbound := need(t, "/usr/sbin/unbound")
	h := newHub(t)
	h.add(t, intel.KindDomain, "evil.example.test", "portal.example.test")
	h.add(t, intel.KindIPv4, "93.184.215.14")

	const base = "127.88.53."
	authAddr := authServer(t, base+"3")
	unboundPort := freePort(t, base+"1")
	resolver := net.JoinHostPort(base+"1", strconv.Itoa(unboundPort))

	// The zone spec as `rampart serve` builds it: the stored consumer's
	// filters, unsigned transfers from loopback, NOTIFY to unbound.
	zones := func(ctx context.Context) ([]rpz.ZoneSpec, error) {
		c, err := h.st.GetConsumer(ctx, auth.SystemPrincipal, h.consum.ID)
		if err != nil {
			return nil, err
		}
		bc := intelweb.ConsumerOf(c)
		bc.Zone = "rpz.rampart."
		return []rpz.ZoneSpec{{Consumer: bc, AllowUnsigned: prefixes("127.0.0.0/8"), Notify: []string{resolver}}}, nil
	}
	// NOTIFY leaves from the primary's address: secondaries take it from
	// their primaries without an allow-notify.
	s, err := rpz.New(rpz.Options{Source: h.lists, Zones: zones, Poll: 100 * time.Millisecond, Debounce: 200 * time.Millisecond,
		NotifySource: netip.MustParseAddr(base + "2"), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	ln, pc := listenPair(t, base+"2")
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, pc) }()
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	defer func() { cancel(); <-served; <-ran }()
	primary := ln.Addr().(*net.TCPAddr)

	dir := t.TempDir()
	authHost, authPort, _ := net.SplitHostPort(authAddr)
	conf := fmt.Sprintf(`server:
	interface: %[1]s1@%[2]d
	port: %[2]d
	interface-automatic: no
	do-daemonize: no
	chroot: ""
	username: ""
	directory: %[3]q
	pidfile: ""
	use-syslog: no
	logfile: ""
	verbosity: 1
	log-queries: no
	num-threads: 1
	do-ip6: no
	do-not-query-localhost: no
	access-control: 127.0.0.0/8 allow
	module-config: "respip validator iterator"
	qname-minimisation: no
	harden-referral-path: no
	cache-max-ttl: 1
	cache-max-negative-ttl: 1
	local-zone: "test." nodefault
remote-control:
	control-enable: no
stub-zone:
	name: "example.test."
	stub-addr: %[4]s@%[5]s
rpz:
	name: rpz.rampart.
	primary: %[6]s@%[7]d
	rpz-log: yes
`, base, unboundPort, dir, authHost, authPort, primary.IP, primary.Port)
	confPath := filepath.Join(dir, "unbound.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(unbound, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	// Unbound transfers the zone at start.
	eventually(t, resolver, "evil.example.test", dns.RcodeNameError, 15*time.Second, logs)
	for name, want := range map[string]int{
		"evil.example.test":         dns.RcodeNameError, // a listed name
		"www.evil.example.test":     dns.RcodeNameError, // below it
		"ipbad.example.test":        dns.RcodeNameError, // its answer is a listed address (rpz-ip)
		"good.example.test":         dns.RcodeSuccess,   // unlisted
		"portal.example.test":       dns.RcodeSuccess,   // listed by a feed, but a registered asset: the guard holds it
		"notevil-evil.example.test": dns.RcodeSuccess,
	} {
		if got, err := rcodeOf(resolver, name); err != nil || got != want {
			t.Errorf("%s: rcode %s (%v), want %s", name, dns.RcodeToString[got], err, dns.RcodeToString[want])
		}
	}
	if t.Failed() {
		t.Fatalf("unbound:\n%s", logs)
	}
	before, _ := s.Serial("unbound-hanoi")

	// A change in the hub: a new name listed.
	h.add(t, intel.KindDomain, "good.example.test")
	took := eventually(t, resolver, "good.example.test", dns.RcodeNameError, 10*time.Second, logs)
	after, _ := s.Serial("unbound-hanoi")
	if after <= before {
		t.Errorf("serial %d after the change, was %d", after, before)
	}
	if st := s.Stats(); st.IXFRDelta == 0 || st.Notified == 0 {
		t.Errorf("unbound did not get the change by NOTIFY and IXFR: %+v", st)
	}
	if took > 5*time.Second {
		t.Errorf("the change took %s to reach unbound", took)
	}
	t.Logf("a change in the hub reached unbound in %s (serial %d → %d)", took.Round(time.Millisecond), before, after)
	if got, _ := rcodeOf(resolver, "evil.example.test"); got != dns.RcodeNameError {
		t.Errorf("evil.example.test after the IXFR: %s", dns.RcodeToString[got])
	}
}
