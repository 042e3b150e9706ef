package config

import (
	"strings"
	"testing"
	"time"
)

func TestDiscoverySection(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
discovery:
  sources: [ct, AXFR, wordlist, routing]
  resolver: "127.0.0.53:53"
  rate: 150
  ct_logs:
    - {url: "https://ct.example/2026/", key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"}
    - {url: "http://127.0.0.1:8080/log/"}
  ct_log_list: /srv/ct/loglist3.json
  ct_limit: 5000
  ct_dir: /srv/ct/exports
  routing: [/srv/bgp/rib.bz2, /srv/bgp/pfx2as.gz]
  interval: 12h
`)
	c, err := load(t, true, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Discovery
	if d == nil || len(d.Sources) != 4 || d.Resolver != "127.0.0.53:53" || d.Rate != 150 || len(d.CTLogs) != 2 || d.CTLogs[0].Key == "" ||
		d.CTLogs[1].URL != "http://127.0.0.1:8080/log/" || d.CTLogList != "/srv/ct/loglist3.json" || d.CTLimit != 5000 ||
		d.CTDir != "/srv/ct/exports" || len(d.Routing) != 2 || d.Interval != 12*time.Hour {
		t.Fatalf("discovery section: %+v", d)
	}
	// No section: nil, and the config stays comparable.
	if c, err := load(t, true, nil, nil); err != nil || c.Discovery != nil || c != Default() {
		t.Fatalf("without a section: %+v %v", c.Discovery, err)
	}
	for _, tc := range []struct{ body, want string }{
		{"discovery:\n  sources: [ct, gossip]\n", "discovery.sources"},
		{"discovery:\n  resolver: nowhere\n", "discovery.resolver"},
		{"discovery:\n  rate: -1\n", "discovery.rate"},
		{"discovery:\n  ct_logs: [{url: ftp://x/}]\n", "discovery.ct_logs[0].url"},
		{"discovery:\n  ct_logs: [{url: 'https://x/', key: '!!'}]\n", "discovery.ct_logs[0].key"},
		{"discovery:\n  ct_limit: -5\n", "discovery.ct_limit"},
		{"discovery:\n  routing: ['']\n", "discovery.routing[0]"},
		{"discovery:\n  interval: 5m\n", "discovery.interval"},
		{"discovery:\n  interval: daily\n", "r.yaml:2"},
		{"discovery:\n  resolvr: 1.1.1.1:53\n", "resolvr"},
	} {
		_, err := load(t, true, []string{"--config", writeFile(t, "r.yaml", tc.body)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
}
