package cli

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/discovery"
)

// TestDiscoverySourcesAgree: the configuration knows the sources the
// discovery package has, and its defaults are among them.
func TestDiscoverySourcesAgree(t *testing.T) {
	var have []string
	for _, s := range discovery.Sources {
		have = append(have, string(s))
	}
	if !slices.Equal(config.DiscoverySources(), have) {
		t.Fatalf("config knows %v, discovery has %v", config.DiscoverySources(), have)
	}
	for _, s := range config.DefaultDiscoverySources() {
		if !slices.Contains(have, s) {
			t.Fatalf("default source %s unknown", s)
		}
	}
}

// TestDiscoveryConfig: the discovery: section becomes the service's
// configuration — sources, resolver and rate, CT logs listed and from a
// log list (retired ones left out), the CT directory, routing files read
// when a run asks, the interval.
func TestDiscoveryConfig(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "loglist3.json")
	if err := os.WriteFile(list, []byte(`{"operators":[{"name":"Op","logs":[
 {"description":"usable","log_id":"AA==","key":"MFkw","url":"https://ct.example/usable/","mmd":86400,"state":{"usable":{"timestamp":"2024-01-01T00:00:00Z"}}},
 {"description":"retired","log_id":"AQ==","key":"MFkx","url":"https://ct.example/retired/","mmd":86400,"state":{"retired":{"timestamp":"2024-01-01T00:00:00Z"}}},
 {"description":"readonly","log_id":"Ag==","key":"MFky","url":"https://ct.example/frozen/","mmd":86400,"state":{"readonly":{"timestamp":"2024-01-01T00:00:00Z","final_tree_head":{"sha256_root_hash":"AA==","tree_size":10}}}}]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	pfx := filepath.Join(dir, "pfx2as.txt")
	if err := os.WriteFile(pfx, []byte("198.51.100.0\t24\t64500\n203.0.113.0\t24\t64501\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Scanner.Resolver = "127.0.0.53:53"
	c.Discovery = &config.DiscoveryConfig{Sources: []string{"ct", "routing"}, Rate: 50, CTLogs: []config.CTLogSetting{{URL: "https://ct.example/own/", Key: "MFkz"}},
		CTLogList: list, CTLimit: 500, CTDir: dir, Routing: []string{pfx}, Interval: 12 * time.Hour}
	cfg, err := discoveryConfig(c, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Sources, []discovery.Source{discovery.SourceCT, discovery.SourceRouting}) || cfg.Resolver == nil || cfg.Resolver.Server != "127.0.0.53:53" ||
		cfg.CTLimit != 500 || cfg.CTDir != dir || cfg.Every != 12*time.Hour || cfg.UserAgent == "" {
		t.Fatalf("config %+v", cfg)
	}
	var urls []string
	for _, l := range cfg.CTLogURLs {
		urls = append(urls, l.URL)
	}
	if !slices.Equal(urls, []string{"https://ct.example/own/", "https://ct.example/usable/", "https://ct.example/frozen/"}) || cfg.CTLogURLs[1].Key != "MFkw" {
		t.Fatalf("CT logs %+v", cfg.CTLogURLs)
	}
	tb, err := cfg.LoadRouting(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.Prefixes(64500); !slices.Equal(got, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}) {
		t.Fatalf("AS64500 announces %v", got)
	}
	// The section's resolver wins over the scanner's; defaults without a
	// section.
	c.Discovery.Resolver = "127.0.0.54:5353"
	if cfg, _ := discoveryConfig(c, "test"); cfg.Resolver.Server != "127.0.0.54:5353" {
		t.Fatalf("resolver %s", cfg.Resolver.Server)
	}
	c.Discovery = nil
	cfg, err = discoveryConfig(c, "test")
	if err != nil || len(cfg.Sources) != len(config.DefaultDiscoverySources()) || cfg.Every != 0 || cfg.LoadRouting != nil || len(cfg.CTLogURLs) != 0 ||
		cfg.Resolver.Server != "127.0.0.53:53" {
		t.Fatalf("defaults %+v %v", cfg, err)
	}
	// A missing log list stops the start with a clear error.
	c.Discovery = &config.DiscoveryConfig{CTLogList: filepath.Join(dir, "none.json")}
	if _, err := discoveryConfig(c, "test"); err == nil {
		t.Fatal("a missing log list was accepted")
	}
}
