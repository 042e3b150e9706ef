package match

import (
	"math/bits"
	"strings"
)

// mix is a 64-bit finalizer (MurmurHash3's fmix64): a bijection whose
// output bits each depend on every input bit.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// hashKey is a matcher's random hash key.
type hashKey struct{ k0, k1 uint64 }

// mum multiplies to 128 bits and folds the halves (wyhash's mixing step).
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// step extends the hash h of a suffix by the label to its left, in the
// manner of wyhash: the label's bytes (up to eight, read as two
// overlapping 4-byte words or three single bytes, which with the length
// determine them all) are folded in by one keyed 128-bit multiplication
// whose other factor carries the suffix so far and the label's length.
// Longer labels take one multiplication per 8 bytes (stepLong). A short
// label costs a few instructions, inlined into the lookup loop, where a
// call to a general hash function would cost more than the memory access
// it is meant to save. names.lookup has the same arithmetic written out.
func step(k hashKey, h uint64, label string) uint64 {
	n := len(label)
	var w uint64
	switch {
	case n > 8:
		return stepLong(k, h, label)
	case n >= 4:
		w = uint64(le32(label)) | uint64(le32(label[n-4:]))<<32
	case n > 0:
		w = uint64(label[0]) | uint64(label[n/2])<<8 | uint64(label[n-1])<<16
	}
	return mum(w^k.k0, h^k.k1^uint64(n)<<56)
}

// stepLong is step for a label of more than 8 bytes: 8 bytes at a time,
// then its last 8 (overlapping the words before: with the length they
// still determine every byte).
func stepLong(k hashKey, h uint64, label string) uint64 {
	n := len(label)
	for rest := label; len(rest) > 8; rest = rest[8:] {
		h = mum(le64(rest)^k.k0, h^k.k1)
	}
	return mum(le64(label[n-8:])^k.k0, h^k.k1^uint64(n)<<56)
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// lastDot is strings.LastIndexByte(s, '.') eight bytes at a time: each
// word's bytes equal to '.' are found exactly (no borrow crosses bytes)
// and the highest one is the last dot.
func lastDot(s string) int {
	const ones, high = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	for len(s) >= 8 {
		x := le64(s[len(s)-8:]) ^ 0x2e2e2e2e2e2e2e2e
		if z := ^((x&ones + ones) | x | ones); z != 0 {
			return len(s) - 8 + (63-bits.LeadingZeros64(z))/8
		}
		s = s[:len(s)-8]
	}
	return strings.LastIndexByte(s, '.')
}
