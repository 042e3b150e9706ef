package decision

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/store"
)

// The policy rules that hold a decision for an analyst.
const (
	RuleConstituency = "registered-asset"  // the address is an asset of the constituency
	RuleSpecial      = "special-address"   // private, loopback, reserved: never blocked
	RulePublic       = "public-service"    // a public resolver or CDN
	RuleNeverAuto    = "never-auto"        // a network the configuration names
	RuleCritical     = "critical-reporter" // a critical-infrastructure member is the only reporter
	RuleApproveAll   = "approval-required" // the configuration asks an analyst for every decision
)

// Reporter is one organization whose sensors saw the source.
type Reporter struct {
	Org      string // organization code
	Critical bool   // critical infrastructure: it owns an asset of the critical or national tier
}

// Input is what the policy judges a new decision by.
type Input struct {
	Source    netip.Addr
	Reporters []Reporter
	// Guard is the blocklist guard's verdict on the source (registered
	// asset, special address), Held when it would refuse it.
	Guard blocklist.Review
	Held  bool
	// Public names the public resolver or CDN the source belongs to.
	Public string
	// NeverAuto is the configured network that holds the source.
	NeverAuto netip.Prefix
	// ApproveAll: every decision waits.
	ApproveAll bool
}

// Verdict is the policy's answer: the state a new decision starts in and,
// when it waits, the rule and the reason (for the analyst, English).
type Verdict struct {
	State  store.DecisionState
	Rule   string
	Reason string
}

// Judge applies the policy. The first rule that holds wins; without one
// the decision is active at once.
func Judge(in Input) Verdict {
	wait := func(rule, reason string) Verdict {
		return Verdict{State: store.DecisionPending, Rule: rule, Reason: reason}
	}
	if in.Held {
		rule := RuleConstituency
		if in.Guard.Rule != blocklist.RuleRegistered {
			rule = RuleSpecial
		}
		return wait(rule, in.Guard.Reason.EN)
	}
	if in.Public != "" {
		return wait(RulePublic, "the address belongs to "+in.Public+", a public service many members use")
	}
	if in.NeverAuto.IsValid() {
		return wait(RuleNeverAuto, "the address is in "+in.NeverAuto.String()+", which the configuration never blocks automatically")
	}
	if len(in.Reporters) == 1 && in.Reporters[0].Critical {
		return wait(RuleCritical, "the only reporter, "+in.Reporters[0].Org+", is a critical-infrastructure member: an analyst confirms")
	}
	if in.ApproveAll {
		return wait(RuleApproveAll, "the configuration asks an analyst to approve every decision")
	}
	return Verdict{State: store.DecisionActive}
}

//go:embed publicinfra.txt
var publicInfraText string

// Network is a named network of a prefix table.
type Network struct {
	Prefix netip.Prefix
	Name   string
}

// Networks is a table of named networks, searched by address.
type Networks struct {
	list []Network // most specific first
}

// ParseNetworks reads "prefix name…" lines; "#" starts a comment.
func ParseNetworks(r io.Reader) (*Networks, error) {
	sc := bufio.NewScanner(io.LimitReader(r, 4<<20))
	var n Networks
	line := 0
	for sc.Scan() {
		line++
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		p, err := parseNet(fields[0])
		if err != nil {
			return nil, fmt.Errorf("decision: networks line %d: %w", line, err)
		}
		n.list = append(n.list, Network{Prefix: p, Name: strings.Join(fields[1:], " ")})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("decision: networks: %w", err)
	}
	slices.SortStableFunc(n.list, func(a, b Network) int { return b.Prefix.Bits() - a.Prefix.Bits() })
	return &n, nil
}

func parseNet(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Lookup returns the most specific network holding a.
func (n *Networks) Lookup(a netip.Addr) (Network, bool) {
	if n == nil {
		return Network{}, false
	}
	a = a.Unmap()
	for _, x := range n.list {
		if x.Prefix.Contains(a) {
			return x, true
		}
	}
	return Network{}, false
}

// Len returns the number of networks.
func (n *Networks) Len() int {
	if n == nil {
		return 0
	}
	return len(n.list)
}

// PublicServices returns the public resolvers and CDN networks shipped
// with Rampart (publicinfra.txt), parsed on first use.
var PublicServices = sync.OnceValue(func() *Networks {
	n, err := ParseNetworks(strings.NewReader(publicInfraText))
	if err != nil {
		panic(err) // the embedded file is ours; a test parses it
	}
	return n
})

// ParseNetworksFromList reads networks given as addresses or CIDRs.
func ParseNetworksFromList(list []string) (*Networks, error) {
	return ParseNetworks(strings.NewReader(strings.Join(list, "\n")))
}
