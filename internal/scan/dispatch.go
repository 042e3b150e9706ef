package scan

import (
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
	"github.com/rampart-cert/rampart/internal/store"
)

// Dispatch is the outbox message that hands j to its region's workers: the
// job as scanjob.Encode puts it on rampart.jobs.<region>.<type>. It is a
// store.ScanJob's Dispatch: the store writes it in the job's own
// transaction and the events relay publishes it.
func Dispatch(j store.ScanJob) (store.OutboxMessage, error) {
	subject, msgID, data, err := scanjob.Encode(scanjob.Job{ID: j.ID, Type: j.Type, Region: j.Region, OrgID: j.OrgID, AssetID: j.AssetID,
		Target: j.Target, Params: j.Params, CreatedAt: j.CreatedAt})
	if err != nil {
		return store.OutboxMessage{}, err
	}
	return store.OutboxMessage{Subject: subject, MsgID: msgID, Data: data, CreatedAt: j.CreatedAt}, nil
}
