package natsq

import "github.com/nats-io/nats.go"

// Conn is the queue's NATS connection, for core NATS publishing and
// subscribing beside the queue (the intel snapshot's deltas). It is
// closed by Close; callers must not close or drain it.
func (q *Queue) Conn() *nats.Conn { return q.nc }
