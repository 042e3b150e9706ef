package match

import (
	"encoding/binary"
	"net/netip"

	"github.com/gaissmai/bart"
)

// addrs is the published address table: single IPv4 and IPv6 addresses in
// host tables, networks in a bart prefix trie. A single address is the
// longest prefix of its family, so a host hit is the longest-prefix match
// and only a host miss walks the trie, which holds only the (usually far
// fewer) networks, and only when the network filter says the address may
// be in one.
type addrs struct {
	seed uint64
	v4   hostTable[uint32]
	v6   hostTable[[2]uint64]
	nets *bart.Table[int64]
	netf netFilter
}

func hash4(k uint32, seed uint64) uint64 { return mix(uint64(k) ^ seed) }

func hash6(k [2]uint64, seed uint64) uint64 { return mix(k[0] ^ mix(k[1]^seed)) }

func key6(a netip.Addr) [2]uint64 {
	b := a.As16()
	return [2]uint64{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (t *addrs) lookup(a netip.Addr) (int64, bool) {
	if !a.IsValid() {
		return 0, false
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		k := binary.BigEndian.Uint32(b[:])
		if id, ok := t.v4.lookup(k, hash4(k, t.seed)); ok {
			return id, true
		}
	} else if a.Is6() {
		k := key6(a)
		if id, ok := t.v6.lookup(k, hash6(k, t.seed)); ok {
			return id, true
		}
	}
	if !t.netf.mayContain(a) {
		return 0, false
	}
	return t.nets.Lookup(a)
}

func (t *addrs) count() int {
	n := t.v4.count + t.v6.count
	if t.nets != nil {
		n += t.nets.Size()
	}
	return n
}

type addrOp struct {
	pfx    netip.Prefix
	id     int64
	remove bool
}

// addrWriter is the writer's side of the address table.
type addrWriter struct {
	v4 hostWriter[uint32]
	v6 hostWriter[[2]uint64]
}

func newAddrWriter(seed uint64) addrWriter {
	return addrWriter{
		v4: hostWriter[uint32]{hash: func(k uint32) uint64 { return hash4(k, seed) }},
		v6: hostWriter[[2]uint64]{hash: func(k [2]uint64) uint64 { return hash6(k, seed) }},
	}
}

// apply returns the address table after ops, leaving cur untouched.
// Single addresses go to the host tables (see hostWriter.apply for the
// cost); networks to bart: a small batch uses its persistent insert and
// delete, which copy only the trie nodes on each prefix's path (about a
// microsecond each), a batch of cloneAt changes or more is one deep copy
// of the network trie changed in place.
func (w *addrWriter) apply(cur addrs, ops []addrOp, mergeAt, cloneAt int) addrs {
	var v4 []hostOp[uint32]
	var v6 []hostOp[[2]uint64]
	var nets []addrOp
	for _, op := range ops {
		a := op.pfx.Addr()
		switch {
		case op.pfx.Bits() < a.BitLen():
			nets = append(nets, op)
		case a.Is4():
			b := a.As4()
			v4 = append(v4, hostOp[uint32]{binary.BigEndian.Uint32(b[:]), op.id, op.remove})
		default:
			v6 = append(v6, hostOp[[2]uint64]{key6(a), op.id, op.remove})
		}
	}
	next := cur
	if len(v4) > 0 {
		next.v4 = w.v4.apply(cur.v4, v4, mergeAt)
	}
	if len(v6) > 0 {
		next.v6 = w.v6.apply(cur.v6, v6, mergeAt)
	}
	if len(nets) > 0 {
		next.nets = applyNets(cur.nets, nets, cloneAt)
		next.netf = applyNetFilter(cur.netf, next.nets, nets, cur.seed)
	}
	return next
}

func applyNets(cur *bart.Table[int64], ops []addrOp, cloneAt int) *bart.Table[int64] {
	if cur == nil || cur.Size() == 0 || len(ops) >= max(cloneAt, cur.Size()/256) {
		t := new(bart.Table[int64])
		if cur != nil && cur.Size() > 0 {
			t = cur.Clone()
		}
		for _, op := range ops {
			if op.remove {
				t.Delete(op.pfx)
			} else {
				t.Insert(op.pfx, op.id)
			}
		}
		return t
	}
	t := cur
	for _, op := range ops {
		if op.remove {
			t = t.DeletePersist(op.pfx)
		} else {
			t = t.InsertPersist(op.pfx, op.id)
		}
	}
	return t
}

// keyPrefix maps an IPv4-mapped IPv6 prefix that lies inside ::ffff:0:0/96
// to the IPv4 prefix it names, so "::ffff:192.0.2.0/120" and
// "192.0.2.0/24" are one key; lookups unmap addresses the same way.
func keyPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96).Masked()
	}
	return p.Masked()
}
