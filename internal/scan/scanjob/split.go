package scanjob

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// ErrResultTooLarge is returned when a result cannot be cut into parts
// that fit in a message: one host alone says more than a message holds.
var ErrResultTooLarge = errors.New("scanjob: result too large")

// maxEvidenceText is what is left of a check's request and response when a
// host's results do not fit in one message otherwise.
const maxEvidenceText = 1024

// SplitPortscan cuts a portscan result into parts whose JSON is at most max
// bytes each, so a network's result (a /24 makes about 1.5 MB) travels in
// messages the queue accepts. A result that fits is returned whole.
//
// Each part is self-contained for the ingester, which applies parts as
// they come, in any order: everything about one address (it answered, its
// open ports, the findings and coverage of its services) stays in one
// part, and so does everything about one name or URL target; every part
// carries Ports, UDPPorts and Stats. So a part never fixes what another
// part of the same scan sees, and a part applied twice changes nothing.
//
// When one address alone does not fit, its findings' evidence is cut to
// maxEvidenceText bytes; if it still does not fit the error wraps
// ErrResultTooLarge.
func SplitPortscan(pr PortscanResult, max int) ([]PortscanResult, error) {
	whole, err := json.Marshal(pr)
	if err != nil {
		return nil, fmt.Errorf("scanjob: split result: %w", err)
	}
	if len(whole) <= max || pr.Unreachable {
		return []PortscanResult{pr}, nil
	}
	groups := map[string]*PortscanResult{}
	group := func(key string) *PortscanResult {
		g := groups[key]
		if g == nil {
			g = &PortscanResult{}
			groups[key] = g
		}
		return g
	}
	keyOf := func(ip, target string) string {
		if ip != "" {
			return "ip " + ip
		}
		return "target " + target
	}
	for _, h := range pr.Hosts {
		g := group(keyOf(h, ""))
		g.Hosts = append(g.Hosts, h)
	}
	for _, o := range pr.Open {
		g := group(keyOf(o.IP, ""))
		g.Open = append(g.Open, o)
	}
	for _, f := range pr.Findings {
		g := group(keyOf(f.IP, f.Target))
		g.Findings = append(g.Findings, f)
	}
	for _, c := range pr.Covered {
		g := group(keyOf(c.IP, c.Target))
		g.Covered = append(g.Covered, c)
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	empty, _ := json.Marshal(PortscanResult{Ports: pr.Ports, UDPPorts: pr.UDPPorts, Stats: pr.Stats})
	budget := max - len(empty)
	var parts []PortscanResult
	cur, used := PortscanResult{Ports: pr.Ports, UDPPorts: pr.UDPPorts, Stats: pr.Stats}, 0
	for _, k := range keys {
		g := groups[k]
		size := groupSize(g)
		if size > budget {
			trimEvidence(g)
			if size = groupSize(g); size > budget {
				return nil, fmt.Errorf("%w: %s alone takes %d bytes (limit %d)", ErrResultTooLarge, k, size, max)
			}
		}
		if used > 0 && used+size > budget {
			parts = append(parts, cur)
			cur, used = PortscanResult{Ports: pr.Ports, UDPPorts: pr.UDPPorts, Stats: pr.Stats}, 0
		}
		cur.Hosts = append(cur.Hosts, g.Hosts...)
		cur.Open = append(cur.Open, g.Open...)
		cur.Findings = append(cur.Findings, g.Findings...)
		cur.Covered = append(cur.Covered, g.Covered...)
		used += size
	}
	if used > 0 || len(parts) == 0 {
		parts = append(parts, cur)
	}
	return parts, nil
}

// groupSize is an upper bound of what g's elements add to a part's JSON:
// each element with its separating comma.
func groupSize(g *PortscanResult) int {
	n := 0
	add := func(v any) {
		b, _ := json.Marshal(v)
		n += len(b) + 1
	}
	for _, h := range g.Hosts {
		add(h)
	}
	for _, o := range g.Open {
		add(o)
	}
	for _, f := range g.Findings {
		add(f)
	}
	for _, c := range g.Covered {
		add(c)
	}
	return n
}

// trimEvidence cuts the request and response of g's findings.
func trimEvidence(g *PortscanResult) {
	cut := func(s string) string {
		if len(s) <= maxEvidenceText {
			return s
		}
		return s[:maxEvidenceText] + " …[cut: the result was too large]"
	}
	for i := range g.Findings {
		e := &g.Findings[i].Evidence
		e.Request, e.Response = cut(e.Request), cut(e.Response)
	}
}
