package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// intelSeen is a Bloom filter of the value hashes (vhash) of every stored
// indicator, so ApplyIndicators looks up only the values that may exist:
// a feed's first import of a million values then reads nothing back.
//
// It is kept current from the change stamps: under intel_seq's lock every
// indicator changed since the filter's stamp has a higher seq (stamps
// commit in order), so the rows with seq > stamp are all it misses. A
// value it holds that is not stored (a rolled-back batch's) costs only a
// lookup. Nothing deletes indicators; a purge would only add such false
// positives.
type intelSeen struct {
	mu    sync.Mutex
	bits  []uint64
	n     int   // hashes added
	stamp int64 // every indicator with seq <= stamp is in the filter
	ok    bool  // loaded
}

// seenBits is the filter's size in bits per value it is sized for.
const seenBits = 16

// catchUp brings the filter up to seq (the stamp read under the lock),
// loading it whole the first time or when it is full.
func (s *Store) catchUp(ctx context.Context, tx *sql.Tx, seq int64) error {
	f := &s.seen
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ok && f.stamp == seq {
		return nil
	}
	full := !f.ok || f.n*seenBits > len(f.bits)*64/2
	var (
		rows *sql.Rows
		err  error
	)
	if full {
		var count int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM intel_indicators").Scan(&count); err != nil {
			return err
		}
		// Room for four times what is stored (at least a million
		// values): the filter is reloaded when half full, so reloads
		// come at doubling sizes.
		f.bits = make([]uint64, max(1<<20, 4*count)*seenBits/64)
		f.n = 0
		rows, err = tx.QueryContext(ctx, "SELECT vhash FROM intel_indicators")
	} else {
		rows, err = tx.QueryContext(ctx, s.q("SELECT vhash FROM intel_indicators WHERE seq > ?"), f.stamp)
	}
	if err != nil {
		f.ok = false
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			f.ok = false
			return err
		}
		f.addLocked(h)
	}
	if err := rows.Err(); err != nil {
		f.ok = false
		return err
	}
	f.ok, f.stamp = true, seq
	return nil
}

// positions derives the filter's three bits from a 64-bit hash.
func (f *intelSeen) positions(h int64) [3]uint64 {
	m := uint64(len(f.bits) * 64)
	x := uint64(h)
	y := x*0x9e3779b97f4a7c15 ^ x>>29
	return [3]uint64{x % m, (x>>21 ^ y) % m, (y>>17 ^ x<<7) % m}
}

func (f *intelSeen) addLocked(h int64) {
	for _, p := range f.positions(h) {
		f.bits[p/64] |= 1 << (p % 64)
	}
	f.n++
}

// mayHave reports whether a value of hash h may be stored.
func (f *intelSeen) mayHave(h int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ok {
		return true
	}
	for _, p := range f.positions(h) {
		if f.bits[p/64]&(1<<(p%64)) == 0 {
			return false
		}
	}
	return true
}

// added records hashes written by a transaction that committed with its
// stamps up to seq, moving the filter's stamp when it had reached the
// transaction's start.
func (f *intelSeen) added(hashes []int64, from, seq int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.ok || len(f.bits) == 0 {
		return
	}
	for _, h := range hashes {
		f.addLocked(h)
	}
	if f.stamp == from {
		f.stamp = seq
	}
}
