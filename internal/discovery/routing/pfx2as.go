package routing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// MaxLine caps one line of a pfx2as file.
const MaxLine = 64 << 10

// ReadPfx2as reads prefix-to-AS data in CAIDA's pfx2as text format (plain,
// gzip or bzip2): one route a line, "prefix<TAB>length<TAB>AS", where AS
// is one number, several origins joined by '_' ("7018_701"), or an AS set
// in braces ("{64500,64501}"); "prefix/length AS" is read too. Blank
// lines and lines starting with '#' are skipped. A line that does not
// parse stops the read with its number; routes already passed to fn stay
// passed.
func ReadPfx2as(r io.Reader, fn func(Route) error) (int, error) {
	in, err := Decompress(r)
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	line, n := 0, 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || t[0] == '#' {
			continue
		}
		rt, err := ParsePfx2asLine(t)
		if err != nil {
			return n, fmt.Errorf("%w: line %d: %w", ErrFormat, line, err)
		}
		n++
		if err := fn(rt); err != nil {
			return n, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return n, fmt.Errorf("%w: line %d longer than %d bytes", ErrFormat, line+1, MaxLine)
		}
		return n, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return n, nil
}

// ParsePfx2asLine parses one pfx2as line.
func ParsePfx2asLine(t string) (Route, error) {
	f := strings.Fields(t)
	var p netip.Prefix
	var asField string
	switch {
	case len(f) == 3:
		a, err := netip.ParseAddr(f[0])
		if err != nil {
			return Route{}, fmt.Errorf("address %q", short(f[0]))
		}
		bits, err := strconv.Atoi(f[1])
		if err != nil || bits < 0 || bits > a.BitLen() {
			return Route{}, fmt.Errorf("prefix length %q", short(f[1]))
		}
		p = netip.PrefixFrom(a.Unmap(), bits)
		if a.Is4In6() {
			return Route{}, fmt.Errorf("address %q is IPv4-mapped", short(f[0]))
		}
		asField = f[2]
	case len(f) == 2 && strings.Contains(f[0], "/"):
		var err error
		if p, err = netip.ParsePrefix(f[0]); err != nil {
			return Route{}, fmt.Errorf("prefix %q", short(f[0]))
		}
		asField = f[1]
	default:
		return Route{}, fmt.Errorf("want prefix, length and AS, got %d fields", len(f))
	}
	var origins []uint32
	for _, part := range strings.Split(asField, "_") {
		part = strings.TrimSuffix(strings.TrimPrefix(part, "{"), "}")
		for _, s := range strings.Split(part, ",") {
			s = strings.TrimPrefix(strings.TrimPrefix(s, "AS"), "as")
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return Route{}, fmt.Errorf("AS %q", short(asField))
			}
			if !slices.Contains(origins, uint32(v)) {
				origins = append(origins, uint32(v))
			}
		}
	}
	return Route{Prefix: p.Masked(), Origins: origins}, nil
}

func short(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Table is what routing data says each AS originates.
type Table struct {
	byAS map[uint32]map[netip.Prefix]struct{}
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{byAS: map[uint32]map[netip.Prefix]struct{}{}} }

// Add records a route under each of its origins. It is the fn of
// ReadMRT and ReadPfx2as.
func (t *Table) Add(r Route) error {
	for _, as := range r.Origins {
		m := t.byAS[as]
		if m == nil {
			m = map[netip.Prefix]struct{}{}
			t.byAS[as] = m
		}
		m[r.Prefix] = struct{}{}
	}
	return nil
}

// Prefixes returns the prefixes as originates, sorted.
func (t *Table) Prefixes(as uint32) []netip.Prefix {
	m := t.byAS[as]
	out := make([]netip.Prefix, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	return out
}

// Len is the number of AS numbers in the table.
func (t *Table) Len() int { return len(t.byAS) }
