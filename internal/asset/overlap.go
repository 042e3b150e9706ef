package asset

import (
	"cmp"
	"slices"
	"strings"
)

// Overlap is one organization's asset covering another organization's:
// Outer contains or equals Inner.
type Overlap struct {
	Outer, Inner Entry
}

// Overlaps lists every pair of assets of different organizations where one
// covers the other: a network containing another's address or narrower
// network; a domain covering another's hostname, subdomain, mail domain or
// URL host; a hostname, mail domain, address or network covering the host
// of another's URL; a URL covering another's URL under it; and any two
// assets with the same value (the lower asset ID, which owns the value in
// lookups, is then Outer). Nesting inside one organization is not an
// overlap.
//
// The work is proportional to the number of entries times their nesting
// depth, plus the number of pairs. The result is sorted by Outer then Inner
// asset ID.
func (ix *Index) Overlaps() []Overlap {
	if ix == nil {
		return nil
	}
	var out []Overlap
	add := func(outer, inner int32) {
		o, in := &ix.entries[outer], &ix.entries[inner]
		if o.OrgID != in.OrgID {
			out = append(out, Overlap{Outer: *o, Inner: *in})
		}
	}
	// all adds every entry of a chain; before adds those ahead of inner.
	all := func(head, inner int32) {
		for j := head; j >= 0; j = ix.next[j] {
			add(j, inner)
		}
	}
	before := func(head, inner int32) {
		for j := head; j >= 0 && j != inner; j = ix.next[j] {
			add(j, inner)
		}
	}
	// domains adds the domain assets covering name, from its parent
	// domains up (the name itself is the caller's business).
	domains := func(name string, inner int32) {
		for i := 0; i < len(name); i++ {
			if name[i] == '.' {
				if si, ok := ix.names[name[i+1:]]; ok {
					all(ix.slots[si].domain, inner)
				}
			}
		}
	}
	// nodes adds every entry of node and its ancestors in table t.
	nodes := func(t *ipTable, node, inner int32) {
		for ; node >= 0; node = t.parent[node] {
			for _, j := range t.ents[t.off[node]:t.off[node+1]] {
				add(j, inner)
			}
		}
	}
	for i := range ix.entries {
		inner := int32(i)
		e := &ix.entries[i]
		switch e.Kind {
		case KindIPv4, KindIPv6, KindCIDR:
			t := &ix.v6
			if !strings.Contains(e.Value, ":") {
				t = &ix.v4
			}
			node := ix.entNode[i]
			if node < 0 {
				continue
			}
			for _, j := range t.ents[t.off[node]:t.off[node+1]] {
				if j == inner {
					break
				}
				add(j, inner)
			}
			nodes(t, t.parent[node], inner)
		case KindDomain:
			s := ix.slots[ix.names[e.Value]]
			before(s.domain, inner)
			domains(e.Value, inner)
		case KindHostname, KindMailDomain:
			s := ix.slots[ix.names[e.Value]]
			before(s.exact, inner)
			all(s.domain, inner)
			domains(e.Value, inner)
		case KindURL:
			before(ix.urls[e.Value], inner)
			root := urlPathStart(e.Value)
			u := e.Value
			for k := len(u) - 1; k >= root; k-- {
				if u[k] != '/' {
					continue
				}
				if k+1 < len(u) {
					if h, ok := ix.urls[u[:k+1]]; ok {
						all(h, inner)
					}
				}
				if k > root {
					if h, ok := ix.urls[u[:k]]; ok {
						all(h, inner)
					}
				}
			}
			host := urlHost(u, root)
			if a, ok := hostAddr(host); ok {
				t := &ix.v6
				var node int32
				if a.Is4() {
					t = &ix.v4
					b := a.As4()
					node = t.find4(uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]))
				} else {
					node = t.find(addrU128(a))
				}
				nodes(t, node, inner)
				continue
			}
			if si, ok := ix.names[host]; ok {
				all(ix.slots[si].exact, inner)
				all(ix.slots[si].domain, inner)
			}
			domains(host, inner)
		case KindASN:
			if a, err := parseASN(e.Value, false); err == nil {
				before(ix.asns[a], inner)
			}
		}
	}
	slices.SortFunc(out, func(a, b Overlap) int {
		if c := cmp.Compare(a.Outer.AssetID, b.Outer.AssetID); c != 0 {
			return c
		}
		return cmp.Compare(a.Inner.AssetID, b.Inner.AssetID)
	})
	return out
}
