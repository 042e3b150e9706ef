package worker

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/svc"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// Credential attempts reach the checks only when the job says the
// organization's scan policy opts in; a worker's own setting never turns
// them on for a job that does not.
func TestJobEnvCredentials(t *testing.T) {
	p := scanjob.PortscanParams{AssetKind: asset.KindIPv4, AssetValue: "192.0.2.7"}
	g, err := newJobGuard(scanjob.Job{ID: "j1"}, p)
	if err != nil {
		t.Fatal(err)
	}
	base := &check.Env{Extra: map[string]any{svc.Family: svc.Options{Credentials: true}}}
	for _, want := range []bool{false, true} {
		env := jobEnv(base, g, want)
		if got := env.Extra[svc.Family].(svc.Options).Credentials; got != want {
			t.Errorf("job credentials %v: env says %v", want, got)
		}
	}
	if !base.Extra[svc.Family].(svc.Options).Credentials {
		t.Error("the worker's base env was changed")
	}
}
