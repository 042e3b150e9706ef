package sqlstore

import (
	"encoding/binary"
	"math/bits"
)

// dictEncoder writes S2 blocks against a dictionary, for evidence of a
// few hundred bytes. S2's own Dict.Encode clears a 64 KiB hash table at
// every call, which for a million small evidence cost more than the rest
// of the compression; this one hashes the dictionary once and keeps a
// small table of its own for matches inside the evidence. It writes what
// the S2 block format says a dictionary block is (s2.Dict.Decode reads
// it; FuzzDictEncoder holds it to that): the decoded length, then
// literals and copies, a copy whose offset reaches past the start of the
// output taking its bytes from the end of the dictionary.
type dictEncoder struct {
	dict  []byte
	table [1 << dictHashBits]int32 // a position in dict of each hash, -1 none
}

const (
	dictHashBits  = 12
	localHashBits = 9
	minMatch      = 4
	maxDictOffset = 65535 // s2.MaxDictSrcOffset: the last output position a dictionary copy may start at
)

func newDictEncoder(dict []byte) *dictEncoder {
	e := &dictEncoder{dict: dict}
	for i := range e.table {
		e.table[i] = -1
	}
	for i := 0; i+minMatch <= len(dict); i++ {
		e.table[hash4(dict[i:], dictHashBits)] = int32(i)
	}
	return e
}

func hash4(b []byte, n uint) uint32 {
	return (binary.LittleEndian.Uint32(b) * 0x1e35a7bd) >> (32 - n)
}

// matchLen is how many leading bytes a and b share.
func matchLen(a, b []byte) int {
	n := 0
	for len(a) >= 8 && len(b) >= 8 {
		if x := binary.LittleEndian.Uint64(a) ^ binary.LittleEndian.Uint64(b); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		a, b, n = a[8:], b[8:], n+8
	}
	for i := 0; i < len(a) && i < len(b) && a[i] == b[i]; i++ {
		n++
	}
	return n
}

// encode appends src's block to dst.
func (e *dictEncoder) encode(dst, src []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(src)))
	var local [1 << localHashBits]int32 // a position in src + 1 of each hash, 0 none
	lit := 0
	for i := 0; i+minMatch <= len(src); {
		h := hash4(src[i:], dictHashBits)
		lh := h >> (dictHashBits - localHashBits)
		best, offset := 0, 0
		if p := e.table[h]; p >= 0 && i <= maxDictOffset {
			// Each copy of a dictionary match must start by maxDictOffset.
			if n := min(matchLen(e.dict[p:], src[i:]), maxDictOffset-i+1); n >= minMatch {
				best, offset = n, i+len(e.dict)-int(p)
			}
		}
		if q := int(local[lh]) - 1; q >= 0 {
			if n := matchLen(src[q:i], src[i:]); n > best {
				// A match within src may run on into the bytes it
				// copies (the decoder copies forwards); kept simple here
				// by matching only up to i.
				best, offset = n, i-q
			}
		}
		local[lh] = int32(i + 1)
		if best < minMatch {
			i++
			continue
		}
		dst = appendLiteral(dst, src[lit:i])
		dst = appendCopy(dst, offset, best)
		i += best
		lit = i
	}
	return appendLiteral(dst, src[lit:])
}

func appendLiteral(dst, lit []byte) []byte {
	n := len(lit)
	if n == 0 {
		return dst
	}
	switch x := uint32(n - 1); {
	case x < 60:
		dst = append(dst, byte(x<<2))
	case x < 1<<8:
		dst = append(dst, 60<<2, byte(x))
	case x < 1<<16:
		dst = append(dst, 61<<2, byte(x), byte(x>>8))
	case x < 1<<24:
		dst = append(dst, 62<<2, byte(x), byte(x>>8), byte(x>>16))
	default:
		dst = append(dst, 63<<2, byte(x), byte(x>>8), byte(x>>16), byte(x>>24))
	}
	return append(dst, lit...)
}

// appendCopy appends copies of length bytes from offset back, 64 bytes at
// most each (the offset stays the same from one to the next).
func appendCopy(dst []byte, offset, length int) []byte {
	for length > 0 {
		n := min(length, 64)
		if offset <= 65535 {
			dst = append(dst, byte(n-1)<<2|2, byte(offset), byte(offset>>8))
		} else {
			dst = append(dst, byte(n-1)<<2|3, byte(offset), byte(offset>>8), byte(offset>>16), byte(offset>>24))
		}
		length -= n
	}
	return dst
}
