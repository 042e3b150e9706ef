package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
	demolab "github.com/rampart-cert/rampart/internal/lab"
	"github.com/rampart-cert/rampart/internal/store"
)

// demoFeedName is the sample feed `serve --demo` configures: a partner
// CERT's STIX bundle that names some of the lab's hosts.
const demoFeedName = "demo:partner-cert"

// demoIndicators is what the sample feed says: the first lab host is a
// botnet drone, a portal serves a phishing page, and two values outside
// the constituency (which must warn nobody).
func demoIndicators(l *demolab.Lab, now time.Time) []intel.Indicator {
	hosts := l.Hosts()
	var out []intel.Indicator
	add := func(k intel.Kind, v string, c intel.Category, conf int, labels ...string) {
		out = append(out, intel.Indicator{Kind: k, Value: v, Category: c, Confidence: conf, TLP: intel.TLPAmber,
			FirstSeen: now.Add(-6 * time.Hour), LastSeen: now, ValidUntil: now.Add(30 * 24 * time.Hour), Labels: labels})
	}
	if len(hosts) > 0 {
		add(intel.KindIPv4, hosts[0].Addr.String(), intel.CategoryCompromised, 85, "malware:mirai", "tag:botnet-drone")
	}
	if len(hosts) > 1 {
		add(intel.KindURL, "http://"+hosts[1].Hostname+"/wp-includes/dang-nhap/index.php", intel.CategoryPhishing, 70, "campaign:gia-mao-dich-vu-cong")
	}
	add(intel.KindIPv4, "198.51.100.23", intel.CategoryC2, 90, "malware:mirai")
	add(intel.KindDomain, "dichvucong-gov.example", intel.CategoryPhishing, 80, "campaign:gia-mao-dich-vu-cong")
	return out
}

// startDemoFeed writes the sample feed's bundle into the data directory
// and configures it as a feed the hub runs at once and every hour, so its
// hits on the lab show as early warnings within a minute of start.
func startDemoFeed(ctx context.Context, st store.Store, l *demolab.Lab, dataDir string) error {
	var buf bytes.Buffer
	now := time.Now().UTC().Truncate(time.Second)
	w := stix.NewBundleWriter(&buf, stix.ExportOptions{Now: now})
	for _, in := range demoIndicators(l, now) {
		if err := w.Write(&in); err != nil {
			return fmt.Errorf("demo feed: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("demo feed: %w", err)
	}
	dir := filepath.Join(dataDir, "demo")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("demo feed: %w", err)
	}
	path := filepath.Join(dir, "partner-cert.stix.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o640); err != nil {
		return fmt.Errorf("demo feed: %w", err)
	}
	f, err := st.GetFeedByName(ctx, auth.SystemPrincipal, demoFeedName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		f = store.Feed{Name: demoFeedName, Format: "stix", Location: path, Interval: time.Hour, Enabled: true,
			TLP: intel.TLPAmber, Analyst: "demo"}
		return st.CreateFeed(ctx, auth.SystemPrincipal, &f)
	case err != nil:
		return fmt.Errorf("demo feed: %w", err)
	}
	f.Location, f.Enabled = path, true
	return st.UpdateFeed(ctx, auth.SystemPrincipal, &f)
}
