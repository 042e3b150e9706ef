package cli

import (
	"context"
	"log/slog"

	"github.com/rampart-cert/rampart/internal/config"
	"github.com/rampart-cert/rampart/internal/decision"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scope"
	"github.com/rampart-cert/rampart/internal/sensor/ingest"
	"github.com/rampart-cert/rampart/internal/store"
)

// startSensorIngest takes the reports of the sensors at members'
// gateways off the queue: the registry, early-warning findings through
// svc, and every detection to the correlator of national decisions (the
// configuration's correlation: section) when the store keeps decisions.
// A store that keeps no sensors leaves them queued, with a warning.
func startSensorIngest(ctx context.Context, c config.Config, st store.Store, q queue.Queue, svc *findings.Service, guard *scope.Guard, log *slog.Logger) (*ingest.Ingester, func(), error) {
	ss, ok := st.(store.Sensors)
	if !ok {
		log.Warn("this store keeps no sensors: their reports stay queued", "driver", st.Driver())
		return nil, func() {}, nil
	}
	var corr ingest.Correlator
	if ds, ok := st.(decision.Store); ok {
		opts, err := decision.OptionsFrom(c.Correlation)
		if err != nil {
			return nil, nil, err
		}
		corr = decision.NewCorrelator(ds, opts, nil, log)
	}
	ing := ingest.New(ingest.Deps{Store: ss, Orgs: st, Findings: svc, Scope: guard, Correlator: corr, Logger: log})
	cons, err := ing.Start(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	return ing, cons.Stop, nil
}
