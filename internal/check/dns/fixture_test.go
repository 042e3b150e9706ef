package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/dns/dnstest"
)

// Loopback addresses of the fixtures. The authoritative server is also the
// resolver the checks ask (env.DNSServer); NS records point at its address,
// and the test dialer maps port 53 there.
const (
	authIP = "127.0.53.1"
	openIP = "127.0.53.2"
	deadNS = "127.0.53.9" // an NS address nobody listens on
)

const soa = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A " + authIP + "\n"

// The hardened zone: -all SPF with an include, p=reject, signed, AXFR
// refused, CNAMEs that resolve. Nothing may fire on it.
var hardenedZone = dnstest.Zone{Origin: "hardened.test.", Sign: true, Records: soa + `
@      TXT   "google-site-verification=abc"
@      TXT   "v=spf1 mx ip4:127.0.0.10 include:_spf.hardened.test -all"
_spf   TXT   "v=spf1 ip4:127.0.0.11 ip6:2001:db8::/32 ~all"
_dmarc TXT   "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@hardened.test"
@      MX    10 mail
mail   A     127.0.0.25
www    CNAME web
web    A     127.0.0.20
app    CNAME app.azurewebsites.net.
cdn    CNAME edge.hardened.test.
edge   CNAME app.azurewebsites.net.
v6only CNAME v6
v6     AAAA  ::1
`}

var weakZone = dnstest.Zone{Origin: "weak.test.", AllowTransfer: true, Records: soa + `
@      TXT   "v=spf1 +all"
_dmarc TXT   "v=DMARC1; p=none; rua=mailto:d@weak.test"
shop   CNAME weak-shop.azurewebsites.net.
blog   CNAME gone
www    A     127.0.0.30
`}

func zone(origin, records string) dnstest.Zone {
	return dnstest.Zone{Origin: origin, Records: soa + records}
}

var testZones = []dnstest.Zone{
	hardenedZone,
	weakZone,
	// A provider suffix with one live app; everything else is NXDOMAIN.
	{Origin: "azurewebsites.net.", Records: "@ SOA ns1 h 1 3600 600 86400 300\n@ NS ns1\nns1 A " + authIP + "\napp A 127.0.0.40\n"},
	zone("nospf.test.", "www A 127.0.0.1\n"),
	zone("hop.test.", "via CNAME hop\nhop CNAME hop-gone.azurewebsites.net.\n"),
	zone("neutral.test.", `@ TXT "v=spf1 ip4:192.0.2.1 ?all"`+"\n"),
	zone("noall.test.", `@ TXT "v=spf1 mx"`+"\n"),
	zone("redirect.test.", `@ TXT "v=spf1 redirect=_spf.redirect.test"`+"\n"+`_spf TXT "v=spf1 ip4:192.0.2.1 -all"`+"\n"+
		`_dmarc TXT "v=DMARC1;p=quarantine"`+"\n"),
	zone("redirect-weak.test.", `@ TXT "v=spf1 redirect=_spf.redirect-weak.test"`+"\n"+`_spf TXT "v=spf1 ip4:192.0.2.1 ?all"`+"\n"),
	zone("redirect-broken.test.", `@ TXT "v=spf1 redirect=nothing.redirect-broken.test"`+"\n"),
	zone("dup.test.", `@ TXT "v=spf1 -all"`+"\n"+`@ TXT "v=spf1 mx -all"`+"\n"+
		`_dmarc TXT "v=DMARC1; p=reject"`+"\n"+`_dmarc TXT "v=DMARC1; p=none"`+"\n"),
	zone("invalid.test.", `@ TXT "v=spf1 foo:bar -all"`+"\n"+`_dmarc TXT "v=DMARC1; p=block"`+"\n"),
	zone("spnone.test.", `@ TXT "v=spf1 -all"`+"\n"+`_dmarc TXT "v=DMARC1; p=reject; sp=none"`+"\n"+"mail A 127.0.0.25\n"),
	zone("lookups.test.", `@ TXT "v=spf1 include:a.lookups.test include:b.lookups.test include:c.lookups.test include:d.lookups.test -all"`+"\n"+
		`a TXT "v=spf1 a mx -all"`+"\n"+`b TXT "v=spf1 a mx -all"`+"\n"+`c TXT "v=spf1 a mx -all"`+"\n"+`d TXT "v=spf1 a mx -all"`+"\n"),
	zone("loop.test.", `@ TXT "v=spf1 include:loop.test -all"`+"\n"),
	// Ten long TXT strings do not fit the advertised 1232 bytes: the reply
	// is truncated and the client must retry over TCP.
	zone("big.test.", bigTXT()),
	{Origin: "broken.test.", ServFail: true, Records: soa},
	{Origin: "lame.test.", Records: "@ SOA ns2 h 1 3600 600 86400 300\n@ NS ns2\nns2 A " + deadNS + "\n"},
}

func bigTXT() string {
	var b strings.Builder
	for i := range 10 {
		fmt.Fprintf(&b, "@ TXT \"filler-%d-%s\"\n", i, strings.Repeat("x", 200))
	}
	b.WriteString(`@ TXT "v=spf1 -all"` + "\n")
	return b.String()
}

// fixture holds the running servers and the Env that points at them.
type fixture struct {
	auth, open *dnstest.Server
	env        *check.Env
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	auth, err := dnstest.Start(dnstest.Config{IP: authIP, Zones: testZones})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auth.Close() })
	open, err := dnstest.Start(dnstest.Config{IP: openIP, Recursive: true, Table: `
a.root-servers.net.  A 198.41.0.4
probe.rampart.test.  CNAME target.rampart.test.
target.rampart.test. A 127.0.0.9
`})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { open.Close() })
	return &fixture{
		auth: auth, open: open,
		env: &check.Env{
			Dial:      loopbackDialer(map[string]string{authIP + ":53": auth.Addr, openIP + ":53": open.Addr}),
			DNSServer: auth.Addr,
			Timeout:   time.Second,
		},
	}
}

// loopbackDialer dials loopback only, mapping the fixtures' port 53 to
// their real ports; it refuses every other port-53 address so that no test
// ever reaches a real resolver (systemd-resolved listens on 127.0.0.53).
func loopbackDialer(ports map[string]string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if to, ok := ports[addr]; ok {
			addr = to
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("test dialer: %s is not a loopback address", addr)
		}
		if ap.Port() == 53 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
}

func domain(host string) check.Target { return check.Target{Kind: check.TargetDomain, Host: host} }

func mustCheck(t testing.TB, id string) check.Check {
	t.Helper()
	r := check.NewRegistry()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	c, ok := r.Get(id)
	if !ok {
		t.Fatalf("check %s not registered", id)
	}
	return c
}

func subjects(rs []check.Result) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Subject)
	}
	return out
}

func isUnreachable(err error) bool { return errors.Is(err, check.ErrUnreachable) }

func mustRR(t testing.TB, s string) mdns.RR {
	t.Helper()
	rr, err := mdns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return rr
}
