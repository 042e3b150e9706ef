package scanjob

import (
	"strings"
	"time"
)

// Workers say they are alive by writing a Heartbeat under their
// HeartbeatKey in the WorkersBucket every HeartbeatEvery; the platform
// lists the bucket (queue.KVLister) and counts a worker live while its
// last heartbeat is younger than LiveFor, by the NATS server's clock. A
// worker that stops deletes its key; one that dies is dropped after
// ForgetAfter. The platform creates the bucket: a worker user may write
// to it but not create it.
const (
	WorkersBucket  = "RAMPART_WORKERS"
	HeartbeatEvery = 10 * time.Second
	LiveFor        = 35 * time.Second
	ForgetAfter    = time.Hour
)

// Heartbeat is what a worker says about itself.
type Heartbeat struct {
	Name        string    `json:"name"`
	Region      string    `json:"region"`
	Version     string    `json:"version,omitempty"`
	Types       []string  `json:"types,omitempty"` // job types it takes
	Concurrency int       `json:"concurrency"`     // jobs at once at most
	Running     int       `json:"running"`         // jobs running now
	Done        int64     `json:"done"`            // jobs finished since it started
	Started     time.Time `json:"started"`
	Sent        time.Time `json:"sent"` // the worker's clock
}

// HeartbeatKey is the bucket key of a worker: "<region>.<name>", the name
// with every character a key may not hold (and '.') replaced by '_'.
func HeartbeatKey(region, name string) string {
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '=', c == '/':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if n == "" {
		n = "_"
	}
	if len(n) > 200 {
		n = n[:200]
	}
	return region + "." + n
}
