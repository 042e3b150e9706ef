package target

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// maxPortSpecLen bounds a port specification before it is parsed; specs come
// from flags, the API and imported scan profiles.
const maxPortSpecLen = 64 << 10

// Named port lists accepted by ParsePorts.
const (
	PortsTop100  = "top100"
	PortsTop1000 = "top1000"
	PortsAll     = "all"
)

// topPorts holds the ordered lists, built on first use from the tables in
// toplists.go. They are never changed afterwards; TopPorts hands out
// copies.
var (
	topPorts100  = sync.OnceValue(func() []uint16 { return buildTop(top100[:], nil, 100) })
	topPorts1000 = sync.OnceValue(func() []uint16 { return buildTop(top100[:], top1000Extra[:], 1000) })
)

// buildTop concatenates the tiers in order without repeats, pads with the
// remaining well-known ports (1-1023) in numeric order, and cuts at n.
func buildTop(first, then []uint16, n int) []uint16 {
	seen := make(map[uint16]bool, n)
	out := make([]uint16, 0, n)
	add := func(p uint16) {
		if len(out) < n && p != 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range first {
		add(p)
	}
	for _, p := range then {
		add(p)
	}
	for p := uint16(1); p < 1024 && len(out) < n; p++ {
		add(p)
	}
	return out
}

// TopPorts returns a copy of the named list ("top100" or "top1000") in
// priority order, most important first, or nil for any other name.
func TopPorts(name string) []uint16 {
	switch name {
	case PortsTop100:
		return slices.Clone(topPorts100())
	case PortsTop1000:
		return slices.Clone(topPorts1000())
	}
	return nil
}

// ParsePorts parses a port specification: a comma-separated list whose items
// are a port ("443"), an inclusive range ("1000-2000"), or a named list
// ("top100", "top1000", "all" for 1-65535). Items may be mixed
// ("top100,8443,9000-9100"); spaces around items are ignored. The result is
// sorted ascending without duplicates. Every error wraps ErrPorts and names
// the offending item.
func ParsePorts(spec string) ([]uint16, error) {
	if len(spec) > maxPortSpecLen {
		return nil, fmt.Errorf("%w: specification longer than %d bytes", ErrPorts, maxPortSpecLen)
	}
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty specification; use a list like 22,80,443, a range like 1-1024, or top100, top1000, all", ErrPorts)
	}
	var set portSet
	for item := range strings.SplitSeq(spec, ",") {
		item = strings.TrimSpace(item)
		switch strings.ToLower(item) {
		case "":
			return nil, fmt.Errorf("%w: empty item in %q", ErrPorts, short(spec))
		case PortsTop100:
			set.addList(topPorts100())
			continue
		case PortsTop1000:
			set.addList(topPorts1000())
			continue
		case PortsAll:
			set.addRange(1, 65535)
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrPorts, short(item), err)
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, fmt.Errorf("%w: %q: %v", ErrPorts, short(item), err)
			}
			if b < a {
				return nil, fmt.Errorf("%w: %q: range runs backwards", ErrPorts, short(item))
			}
		}
		set.addRange(a, b)
	}
	return set.ports(), nil
}

func parsePort(s string) (uint16, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("missing port number")
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%q is not a port number", short(s))
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %s is outside 1-65535", short(s))
	}
	return uint16(n), nil
}

// portSet is a 65536-bit bitmap: adding "all" or many ranges costs no more
// than a few kilobytes and the result comes out sorted.
type portSet struct{ bits [1024]uint64 }

func (s *portSet) add(p uint16) { s.bits[p>>6] |= 1 << (p & 63) }

func (s *portSet) addList(ps []uint16) {
	for _, p := range ps {
		s.add(p)
	}
}

func (s *portSet) addRange(a, b uint16) {
	for p := int(a); p <= int(b); p++ {
		s.add(uint16(p))
	}
}

func (s *portSet) ports() []uint16 {
	n := 0
	for _, w := range s.bits {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	out := make([]uint16, 0, n)
	for i, w := range s.bits {
		for j := 0; w != 0; j, w = j+1, w>>1 {
			if w&1 != 0 {
				out = append(out, uint16(i<<6|j))
			}
		}
	}
	return out
}

// short trims user input echoed in an error message.
func short(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
