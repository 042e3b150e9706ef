package synscan

import (
	"errors"
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/target"
)

// Errors.
var (
	ErrConfig = errors.New("synscan: invalid configuration")
	// ErrNoCapability means raw sockets are not allowed here (neither
	// root nor CAP_NET_RAW, or not Linux): scan with connect() instead.
	ErrNoCapability = errors.New("synscan: raw sockets need root or CAP_NET_RAW")
)

// Defaults for a zero Config.
const (
	DefaultWait      = time.Second
	DefaultHostBatch = 4096
	DefaultBatch     = 1024
)

// Config says what to probe and how hard.
type Config struct {
	// Ports to probe on every IPv4 target, each 1-65535.
	Ports []uint16
	// Rate caps SYNs per second, retries included; 0 is unlimited.
	Rate int
	// Retries is how many more passes send SYNs again to the pairs that
	// have not answered with a SYN-ACK (default 0, as masscan).
	Retries int
	// Wait is how long to listen for late answers after the last SYN
	// (default 1s).
	Wait time.Duration
	// SourceAddr, when valid, is the source address of the SYNs;
	// otherwise the one the kernel routes to the first target with.
	SourceAddr [4]byte
	// SourcePort is the source port of every SYN (default: a random port
	// in 40000-59999). Nothing may listen there: the kernel answers each
	// SYN-ACK to it with a reset, which is what ends every half-open
	// connection.
	SourcePort uint16
	// HostBatch is how many targets are interleaved at a time (default
	// 4096); Batch how many SYNs go to the kernel per system call
	// (default 1024, the most; each of the senders, one a core up to four,
	// fills its own).
	HostBatch, Batch int
	// Progress, when set, is called about every 250ms and at the end.
	Progress func(Stats)
}

// Open is one port that answered a SYN with a SYN-ACK.
type Open struct {
	Target target.Target
	Port   uint16
}

// Stats are the totals of a scan.
type Stats struct {
	Hosts    int // IPv4 targets taken
	Skipped  int // targets that are not IPv4 (for the connect scanner)
	Probed   int // (host, port) pairs
	Sent     int // SYNs sent, retries included
	Open     int
	SynAcks  int // SYN-ACKs received (an open port may answer twice)
	SendTime time.Duration
	Elapsed  time.Duration
	// SendRate is Sent per second of SendTime; Rate is Probed per second
	// of Elapsed (the wait for late answers included).
	SendRate, Rate float64
}

func (c Config) normalize() (Config, error) {
	if len(c.Ports) == 0 {
		return c, fmt.Errorf("%w: no ports", ErrConfig)
	}
	for _, p := range c.Ports {
		if p == 0 {
			return c, fmt.Errorf("%w: port 0", ErrConfig)
		}
	}
	if c.Rate < 0 || c.Retries < 0 || c.Wait < 0 || c.HostBatch < 0 || c.Batch < 0 {
		return c, fmt.Errorf("%w: negative rate, retries, wait or batch", ErrConfig)
	}
	if c.Wait == 0 {
		c.Wait = DefaultWait
	}
	if c.HostBatch == 0 {
		c.HostBatch = DefaultHostBatch
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	c.Batch = min(c.Batch, 1024)
	c.Retries = min(c.Retries, 5)
	return c, nil
}
