package cli

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/notify"
)

// TestF21WebhookAddressClassifier: webhooks never reach loopback,
// link-local, unspecified or this host's own addresses (here 192.0.2.2
// and fd00::2, as on the review's machine), even when allow-listed; they
// reach private and reserved networks (RFC 1918, ULA, CGNAT, NAT64 of a
// private address) only inside webhook_allow; public addresses always.
func TestF21WebhookAddressClassifier(t *testing.T) {
	own := []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("fd00::2"), netip.MustParseAddr("127.0.0.1")}
	allow := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("fd12:3456::/48"), netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.0/24")}
	for _, c := range []struct {
		addr       string
		none, list error // without and with the allow-list
	}{
		{"127.0.0.1", errOwnAddress, errOwnAddress},
		{"127.77.70.99", errOwnAddress, errOwnAddress},
		{"::1", errOwnAddress, errOwnAddress},
		{"::ffff:127.0.0.1", errOwnAddress, errOwnAddress},
		{"0.0.0.0", errOwnAddress, errOwnAddress},
		{"::", errOwnAddress, errOwnAddress},
		{"169.254.169.254", errOwnAddress, errOwnAddress},
		{"fe80::1%eth0", errOwnAddress, errOwnAddress},
		{"224.0.0.251", errOwnAddress, errOwnAddress},
		{"192.0.2.2", errOwnAddress, errOwnAddress}, // this host's eth0
		{"fd00::2", errOwnAddress, errOwnAddress},
		{"::ffff:192.0.2.2", errOwnAddress, errOwnAddress},
		{"64:ff9b::7f00:1", errOwnAddress, errOwnAddress}, // NAT64 of 127.0.0.1
		{"10.1.2.3", errPrivateAddress, errPrivateAddress},
		{"10.20.0.5", errPrivateAddress, nil},
		{"172.16.0.1", errPrivateAddress, errPrivateAddress},
		{"172.31.255.254", errPrivateAddress, errPrivateAddress},
		{"192.168.1.1", errPrivateAddress, errPrivateAddress},
		{"100.64.0.1", errPrivateAddress, errPrivateAddress}, // CGNAT
		{"100.127.255.254", errPrivateAddress, errPrivateAddress},
		{"fd00::3", errPrivateAddress, errPrivateAddress}, // ULA
		{"fd12:3456::9", errPrivateAddress, nil},
		{"64:ff9b::a14:5", errPrivateAddress, nil}, // NAT64 of 10.20.0.5
		{"64:ff9b::c0a8:101", errPrivateAddress, errPrivateAddress},
		{"198.18.0.1", errPrivateAddress, errPrivateAddress},
		{"240.0.0.1", errPrivateAddress, errPrivateAddress},
		{"0.1.2.3", errPrivateAddress, errPrivateAddress},
		{"203.0.113.9", nil, nil},
		{"8.8.8.8", nil, nil},
		{"100.128.0.1", nil, nil},
		{"172.32.0.1", nil, nil},
		{"2001:db8::1", nil, nil},
		{"192.0.2.3", nil, nil},
	} {
		a := netip.MustParseAddr(c.addr)
		for _, k := range []struct {
			allow []netip.Prefix
			want  error
		}{{nil, c.none}, {allow, c.list}} {
			err := classifyWebhookAddr(a, own, k.allow)
			if (k.want == nil) != (err == nil) || (k.want != nil && !errors.Is(err, k.want)) {
				t.Errorf("%s (allow %v): %v, want %v", c.addr, k.allow, err, k.want)
			}
			if err != nil && !errors.Is(err, notify.ErrDestination) {
				t.Errorf("%s: %v does not wrap notify.ErrDestination", c.addr, err)
			}
		}
	}
}

// TestF21WebhookClientRefusesOwnAddresses: the guard serve uses refuses
// every address of this host's interfaces (not only loopback), and the
// client really refuses: a receiver on loopback is never reached. Nothing
// leaves loopback: the check runs before connecting.
func TestF21WebhookClientRefusesOwnAddresses(t *testing.T) {
	c := config.Default()
	c.WebhookAllow = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7,100.64.0.0/10,127.0.0.0/8"
	g, err := newWebhookGuard(c)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := interfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range append(mine, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")) {
		if err := g.check(netip.AddrPortFrom(a, 5432).String()); !errors.Is(err, errOwnAddress) {
			t.Errorf("own address %s: %v", a, err)
		}
	}
	if g.check("203.0.113.9:443") != nil {
		t.Error("a public address is refused")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("loopback receiver reached") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	for _, u := range []string{srv.URL, "http://localhost:" + port, "http://[::ffff:127.0.0.1]:" + port} {
		if _, err := webhookClient(g, nil).Post(u, "application/json", strings.NewReader("{}")); !errors.Is(err, errOwnAddress) || !errors.Is(err, notify.ErrDestination) {
			t.Errorf("post to %s: %v", u, err)
		}
	}
	if _, err := newWebhookGuard(config.Config{WebhookAllow: "intranet"}); err == nil {
		t.Error("a bad webhook_allow was accepted")
	}
}
