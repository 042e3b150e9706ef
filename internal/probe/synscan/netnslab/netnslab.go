// Package netnslab builds a two-namespace network for tests and
// benchmarks that send raw packets: a scanner namespace and a targets
// namespace joined by a veth pair, created inside the namespaces and
// deleted with them, so nothing is ever sent on, or configured on, the
// host's own interfaces. It needs root (or CAP_SYS_ADMIN and
// CAP_NET_ADMIN) and iproute2's `ip`.
//
// The targets namespace treats a whole prefix (Targets, 10.99.0.0/16 by
// default) as local addresses (`ip route add local ... dev lo`), so a
// process there can listen on any of its addresses, and its kernel
// answers a SYN to any other port with a reset, as a real host does.
//
//	lab, err := netnslab.New("syn")
//	defer lab.Close()
//	cmd := lab.Command(lab.Scanner, "/path/to/scanner", "10.99.0.0/16")
package netnslab

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
)

// Lab is a scanner namespace and a targets namespace joined by a veth
// pair: scanner 10.98.0.1/30 (ScannerIP), targets 10.98.0.2/30, and the
// targets' prefix routed to the targets namespace.
type Lab struct {
	Scanner, Targets string // namespace names
	ScannerIP        netip.Addr
	TargetsNet       netip.Prefix
	ScannerIf        string // the veth end in the scanner namespace
	TargetMAC        string // the MAC address of the targets' end (the scanner's next hop)
}

// New creates the namespaces "rampart-<name>-<pid>-s" and "-t" and the
// link between them. Close deletes them (and so the link).
func New(name string) (*Lab, error) {
	if !regexp.MustCompile(`^[a-z0-9-]{1,12}$`).MatchString(name) {
		return nil, fmt.Errorf("netnslab: name %q: 1-12 of a-z, 0-9, -", name)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("netnslab: iproute2 `ip` not found: %w", err)
	}
	base := fmt.Sprintf("rampart-%s-%d", name, os.Getpid())
	l := &Lab{Scanner: base + "-s", Targets: base + "-t", ScannerIP: netip.MustParseAddr("10.98.0.1"),
		TargetsNet: netip.MustParsePrefix("10.99.0.0/16"), ScannerIf: "rsyn0"}
	steps := [][]string{
		{"netns", "add", l.Scanner},
		{"netns", "add", l.Targets},
		// Created inside the scanner namespace, its peer inside the
		// targets namespace: the host's namespace never holds either.
		{"-n", l.Scanner, "link", "add", l.ScannerIf, "type", "veth", "peer", "name", "rsyn1", "netns", l.Targets},
		{"-n", l.Scanner, "link", "set", "lo", "up"},
		{"-n", l.Targets, "link", "set", "lo", "up"},
		{"-n", l.Scanner, "addr", "add", "10.98.0.1/30", "dev", l.ScannerIf},
		{"-n", l.Targets, "addr", "add", "10.98.0.2/30", "dev", "rsyn1"},
		{"-n", l.Scanner, "link", "set", l.ScannerIf, "up"},
		{"-n", l.Targets, "link", "set", "rsyn1", "up"},
		{"-n", l.Targets, "route", "add", "local", l.TargetsNet.String(), "dev", "lo"},
		{"-n", l.Scanner, "route", "add", l.TargetsNet.String(), "via", "10.98.0.2"},
	}
	for _, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			l.Close()
			return nil, fmt.Errorf("netnslab: ip %s: %v: %s", strings.Join(s, " "), err, bytes.TrimSpace(out))
		}
	}
	out, err := exec.Command("ip", "-n", l.Targets, "-o", "link", "show", "rsyn1").CombinedOutput()
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("netnslab: %v: %s", err, out)
	}
	if m := regexp.MustCompile(`link/ether ([0-9a-f:]{17})`).FindSubmatch(out); m != nil {
		l.TargetMAC = string(m[1])
	}
	return l, nil
}

// Command is name run inside namespace ns.
func (l *Lab) Command(ns, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Close deletes both namespaces.
func (l *Lab) Close() {
	for _, ns := range []string{l.Scanner, l.Targets} {
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
}
