package sqlstore

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/storetest"
)

func TestScanProfiles(t *testing.T) {
	eachDriver(t, func(t *testing.T, open func(testing.TB) *Store) {
		storetest.RunScanProfiles(t, func(t *testing.T) store.Store { return open(t) })
	})
}
