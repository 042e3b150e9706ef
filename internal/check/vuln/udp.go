package vuln

import "github.com/rampart-cert/rampart/internal/check"

// The inventory checks read only a service's fingerprint, so a UDP service
// that names its product and version (a DNS server's version.bind, a
// memcached's stats) is matched like a TCP one, in a scan and in the
// retro-hunt alike; each keeps its Applies.
var (
	_ check.UDPCheck = KnownCVE{}
	_ check.UDPCheck = BackportFixed{}
)

// UDP reports that vuln.known-cve looks at UDP services too.
func (KnownCVE) UDP() bool { return true }

// UDP reports that vuln.backport-fixed looks at UDP services too.
func (BackportFixed) UDP() bool { return true }
