package cli

import (
	"testing"

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
	n, err := newNotifier(c, st, logger(&Env{Stderr: discard{}}, c))
	if err != nil {
		t.Fatal(err)
	}
	if reminders(n) == nil {
		t.Fatal("the notifier does not send campaign reminders")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
