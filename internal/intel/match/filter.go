package match

import "slices"

// filter is a blocked Bloom filter in front of a hash table: one 64-bit
// word per key, two bits of it set. At 8 or more bits per key it answers
// "surely absent" for about 95% of absent keys from a bitmap small enough
// to stay in the CPU cache, so a lookup that misses rarely touches the
// table itself (a random access to main memory).
type filter struct {
	words []uint64
	mask  uint64
}

// newFilter sizes a filter for n keys: a power of two of words with at
// least 8 bits per key.
func newFilter(n int) filter {
	w := 64
	for w*64 < 8*n {
		w *= 2
	}
	return filter{words: make([]uint64, w), mask: uint64(w - 1)}
}

// The word comes from bits 12 and up of the hash, the two bit positions
// from bits 40-51: independent of each other and of the word.
func filterBits(h uint64) uint64 { return 1<<(h>>40&63) | 1<<(h>>46&63) }

func (f filter) add(h uint64) { f.words[(h>>12)&f.mask] |= filterBits(h) }

func (f filter) has(h uint64) bool {
	b := filterBits(h)
	return f.words[(h>>12)&f.mask]&b == b
}

// fits reports whether the filter still has 8 bits per key for n keys.
func (f filter) fits(n int) bool { return len(f.words)*64 >= 8*n }

func (f filter) clone() filter { return filter{words: slices.Clone(f.words), mask: f.mask} }
