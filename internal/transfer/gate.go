package transfer

import (
	"errors"
	"sync"
)

// ErrBusy means the platform is already running as many imports as it
// allows at once, or one for the same organization: try again shortly.
var ErrBusy = errors.New("transfer: an import is already running; try again in a moment")

// Gate bounds the imports a serving process runs at once, overall and per
// organization, so a few large files cannot exhaust its memory (security
// review F10). The zero value is not usable; create it with NewGate.
type Gate struct {
	mu    sync.Mutex
	max   int
	busy  int
	byOrg map[int64]bool
}

// NewGate lets n imports run at once (at least 1), one per organization.
func NewGate(n int) *Gate {
	return &Gate{max: max(n, 1), byOrg: map[int64]bool{}}
}

// Enter admits an import for org (0: the platform's own) or returns
// ErrBusy. Call the returned function when the import ends.
func (g *Gate) Enter(org int64) (func(), error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy >= g.max || g.byOrg[org] {
		return nil, ErrBusy
	}
	g.busy++
	g.byOrg[org] = true
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.busy--
		delete(g.byOrg, org)
	}, nil
}
