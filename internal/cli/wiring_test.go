package cli

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/assess"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// TestNotifierRemindsCampaigns: serve hands the notifier to assessments
// as their reminder channel.
func TestNotifierRemindsCampaigns(t *testing.T) {
	c := config.Default()
	c.Data = t.TempDir()
	var st store.Store = (*sqlstore.Store)(nil)
	log := logger(&Env{Stderr: discard{}}, c)
	cats, err := loadCatalogs(c, log)
	if err != nil {
		t.Fatal(err)
	}
	n, err := newNotifier(c, st, cats, log)
	if err != nil {
		t.Fatal(err)
	}
	var _ assess.Reminders = n // serve hands the notifier to assessments

}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestWebhookClientRefusesOwnAddresses(t *testing.T) {
	for _, a := range []string{"127.0.0.1:5432", "[::1]:4222", "169.254.169.254:80", "0.0.0.0:80", "[::ffff:127.0.0.1]:80"} {
		if err := refuseOwnAddress(a); !errors.Is(err, errOwnAddress) {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"10.1.2.3:443", "203.0.113.9:443", "[2001:db8::1]:443"} {
		if err := refuseOwnAddress(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	// The client really refuses: a receiver on loopback is never reached.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("loopback receiver reached") }))
	defer srv.Close()
	if _, err := webhookClient().Post(srv.URL, "application/json", strings.NewReader("{}")); !errors.Is(err, errOwnAddress) {
		t.Fatalf("post to loopback: %v", err)
	}
}
