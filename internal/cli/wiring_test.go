package cli

import (
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
