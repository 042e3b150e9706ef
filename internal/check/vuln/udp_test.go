package vuln

import (
	"context"
	"net/netip"
	"testing"

	"github.com/rampart-cert/rampart/internal/check"
)

// The inventory checks take UDP services, and match them from the
// fingerprint alone, as they do TCP ones.
func TestInventoryChecksTakeUDP(t *testing.T) {
	for _, c := range InventoryChecks() {
		if !check.ForUDP(c) {
			t.Errorf("%s does not look at UDP services", c.Meta().ID)
		}
	}
	env := &check.Env{Extra: map[string]any{ExtraKey: testDB(t)}}
	udp := check.Target{Kind: check.TargetService, Proto: check.ProtoUDP, Addr: netip.MustParseAddrPort("127.0.0.1:8080"),
		Service: "http", Product: "Apache httpd", Version: "2.4.49"}
	if !(KnownCVE{}).Applies(udp) {
		t.Fatal("vuln.known-cve does not apply to an identified UDP service")
	}
	rs, err := KnownCVE{}.Run(context.Background(), env, udp)
	if err != nil {
		t.Fatal(err)
	}
	tcp := udp
	tcp.Proto = ""
	want, err := KnownCVE{}.Run(context.Background(), env, tcp)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || len(rs) != len(want) {
		t.Fatalf("UDP %d results, TCP %d", len(rs), len(want))
	}
	if (KnownCVE{}).Applies(check.Target{Kind: check.TargetService, Proto: check.ProtoUDP, Service: "snmp"}) {
		t.Error("applies to a UDP service with no product or version")
	}
}
