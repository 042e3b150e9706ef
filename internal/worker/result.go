package worker

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

// resultEnvelope is room left in a result message for the fields around
// Data.
const resultEnvelope = 8 << 10

// publishResult sends a job's result (out is res as JSON): in one message
// when it fits in scanjob.MaxResultMessage, else a portscan's in parts
// (scanjob.SplitPortscan), each stored before the next is sent. A result
// that can be neither sent whole nor split is reported as the job's
// failure, with the reason, so the job ends instead of being scanned again
// and again (reliability review F2).
func (w *Worker) publishResult(ctx context.Context, j scanjob.Job, res scanjob.Result, out []byte) error {
	subject := scanjob.ResultSubject(j.Type)
	if len(out) <= scanjob.MaxResultMessage {
		return w.q.Publish(ctx, subject, out, scanjob.ResultMsgID(j.ID, 0, 0), nil)
	}
	var parts []scanjob.PortscanResult
	err := fmt.Errorf("%w: %d bytes, and a %s result cannot be sent in parts", scanjob.ErrResultTooLarge, len(out), j.Type)
	if j.Type == scanjob.JobPortscan && res.Error == "" {
		var pr scanjob.PortscanResult
		if err = json.Unmarshal(res.Data, &pr); err == nil {
			parts, err = scanjob.SplitPortscan(pr, scanjob.MaxResultMessage-resultEnvelope)
		}
	}
	if err != nil {
		w.cfg.Logger.Error("worker: result cannot be sent; the job fails", "job", j.ID, "bytes", len(out), "err", err)
		res.Data, res.Error = nil, fmt.Sprintf("worker: job %s: result cannot be sent: %v", j.ID, err)
		b, err := json.Marshal(res)
		if err != nil {
			return fmt.Errorf("worker: job %s: %w", j.ID, err)
		}
		return w.q.Publish(ctx, subject, b, scanjob.ResultMsgID(j.ID, 0, 0), nil)
	}
	for i, p := range parts {
		r := res
		r.Part, r.Parts = i+1, len(parts)
		if r.Data, err = json.Marshal(p); err != nil {
			return fmt.Errorf("worker: job %s: %w", j.ID, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("worker: job %s: %w", j.ID, err)
		}
		if err := w.q.Publish(ctx, subject, b, scanjob.ResultMsgID(j.ID, r.Part, r.Parts), nil); err != nil {
			return fmt.Errorf("worker: job %s: part %d of %d: %w", j.ID, r.Part, r.Parts, err)
		}
	}
	w.cfg.Logger.Info("worker: result sent in parts", "job", j.ID, "bytes", len(out), "parts", len(parts))
	return nil
}
