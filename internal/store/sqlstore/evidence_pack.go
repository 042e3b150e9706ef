package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/s2"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Packed evidence (SQLite only).
//
// The rows of one run's batch say nearly the same thing: a Shadowserver
// report's million early warnings share their keys, the feed, the day, and
// most detail values; only the address and a few fields differ. Kept as
// JSON text, that evidence was two thirds of each findings row, and the
// bytes written for a million new findings (the row, the log, the
// checkpoint) were the largest cost of recording them.
//
// A batch of at least packMin findings with evidence therefore has it
// compressed with S2 against a dictionary made of the run's own first
// evidence (packDictBytes of it). The dictionary is stored once, in
// finding_evidence_dicts under the FNV-1a hash of its bytes, and reused by
// the run's later batches; each packed evidence is a BLOB:
//
//	packMagic (4 bytes) | dictionary hash (8 bytes, little endian) | S2 block
//
// about a tenth of the text. JSON never starts with a NUL byte, so readers
// tell the two forms apart by the first bytes; plain text (older rows,
// small batches, an evidence that does not shrink, PostgreSQL, which
// compresses large values itself) is stored and read as before. Readers
// find a dictionary in the store's cache or, once, in the table, on a
// connection of its own (a reader that holds pool connections while it
// scans must never wait for another).
const (
	packMagic = "\x00rz1"
	packHead  = len(packMagic) + 8
	// packMin is the least batch worth a dictionary: below it the
	// dictionary row costs more than it saves.
	packMin = 64
	// packDictBytes is how much of the first evidence becomes the dictionary.
	packDictBytes = 4096
	// maxPackedEvidence bounds what a packed value may claim to expand to:
	// no evidence is that large (a hostile or corrupt row must not make a
	// reader allocate gigabytes).
	maxPackedEvidence = 4 << 20
	// maxPackDicts bounds the dictionaries kept in memory.
	maxPackDicts = 1024
)

// packer holds a store's dictionaries: by hash, and the one each recent
// run uses.
type packer struct {
	mu    sync.Mutex
	dicts map[uint64]*packDict
	runs  map[packRun]uint64
	db    *sql.DB // loads dictionaries the cache lacks; nil: never packs or unpacks
}

// packDict is a dictionary and its bytes, and its encoder when this
// process packs with it.
type packDict struct {
	d   *s2.Dict
	raw []byte
	enc *dictEncoder
}

type packRun struct{ source, ref, job string }

func newPacker(db *sql.DB) *packer {
	return &packer{dicts: map[uint64]*packDict{}, runs: map[packRun]uint64{}, db: db}
}

func (p *packer) remember(h uint64, pd *packDict) {
	if len(p.dicts) >= maxPackDicts {
		clear(p.dicts)
		clear(p.runs)
	}
	p.dicts[h] = pd
}

// packed is a batch's evidence packed against one dictionary.
type packed struct {
	hash uint64
	dict *packDict
	by   map[string]packedEvidence // by finding key
}

type packedEvidence struct {
	src json.RawMessage // what was packed
	v   []byte
}

// arg is f's evidence as stored: packed if the batch packed it (and the
// plan still carries that evidence; the plan's evidence is the batch's
// own bytes, which bytes.Equal recognizes by their address).
func (pk *packed) arg(f *finding.Finding) any {
	if pk != nil {
		if e, ok := pk.by[f.Key]; ok && bytes.Equal(e.src, f.Evidence) {
			return e.v
		}
	}
	return evidenceArg(f.Evidence)
}

// packJob packs a batch's evidence, packChunk findings at a time, on a
// goroutine of its own while the writer reads what the batch concerns;
// the writer joins in when it needs the result, so it never waits for a
// goroutine the machine has not run yet.
type packJob struct {
	seen []finding.Finding
	h    uint64
	pd   *packDict
	next atomic.Int64
	out  [][]byte // by index in seen; nil: stored plain
	done chan struct{}
}

const packChunk = 128

// packBatch starts packing the evidence of seen and returns what gives
// the result (nil on PostgreSQL, for a small batch, or when nothing
// shrinks). The result must be taken before seen is the caller's again.
func (s *Store) packBatch(b *finding.Batch, seen []finding.Finding) func() *packed {
	none := func() *packed { return nil }
	if s.pack == nil || s.pack.db == nil {
		return none
	}
	n := 0
	for i := range seen {
		if len(seen[i].Evidence) > 0 {
			n++
		}
	}
	if n < packMin {
		return none
	}
	h, pd := s.pack.dictFor(packRun{string(b.Source), b.Ref, b.JobID}, seen)
	if pd == nil {
		return none
	}
	j := &packJob{seen: seen, h: h, pd: pd, out: make([][]byte, len(seen)), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		j.work()
	}()
	return sync.OnceValue(func() *packed {
		j.work()
		<-j.done
		pk := &packed{hash: h, dict: pd, by: make(map[string]packedEvidence, n)}
		for i, v := range j.out {
			if v != nil {
				pk.by[seen[i].Key] = packedEvidence{seen[i].Evidence, v}
			}
		}
		if len(pk.by) == 0 {
			return nil
		}
		return pk
	})
}

// work packs chunks until none is left.
func (j *packJob) work() {
	var block []byte
	for {
		lo := int(j.next.Add(packChunk)) - packChunk
		if lo >= len(j.seen) {
			return
		}
		for i := lo; i < min(lo+packChunk, len(j.seen)); i++ {
			ev := j.seen[i].Evidence
			if len(ev) < 64 {
				continue
			}
			need := packHead + s2.MaxEncodedLen(len(ev))
			if cap(block)-len(block) < need {
				block = make([]byte, 0, max(64<<10, 2*need))
			}
			start := len(block)
			block = append(block, packMagic...)
			block = binary.LittleEndian.AppendUint64(block, j.h)
			block = j.pd.enc.encode(block, ev)
			if len(block)-start >= len(ev) {
				block = block[:start]
				continue
			}
			j.out[i] = block[start:len(block):len(block)]
		}
	}
}

// dictFor returns the dictionary of run, made from the start of seen's
// evidence if the run has none yet.
func (p *packer) dictFor(run packRun, seen []finding.Finding) (uint64, *packDict) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.runs[run]; ok {
		if pd := p.dicts[h]; pd != nil {
			return h, pd
		}
	}
	var raw []byte
	for i := range seen {
		if len(raw) >= packDictBytes {
			break
		}
		raw = append(raw, seen[i].Evidence...)
	}
	raw = raw[:min(len(raw), packDictBytes)]
	h := dictHash(raw)
	pd := p.dicts[h]
	if pd == nil {
		d := s2.MakeDict(raw, nil)
		if d == nil {
			return 0, nil
		}
		pd = &packDict{d: d, raw: raw}
		p.remember(h, pd)
	}
	if pd.enc == nil {
		pd.enc = newDictEncoder(pd.raw)
	}
	p.runs[run] = h
	return h, pd
}

// dictHash is the FNV-1a hash of a dictionary's bytes.
func dictHash(raw []byte) uint64 {
	h := fnv.New64a()
	h.Write(raw)
	return h.Sum64()
}

// storeDict writes pk's dictionary in tx, where it was not yet, in every
// transaction that uses it (a flag set by a transaction that then rolled
// back would leave packed rows without their dictionary; the insert of a
// row that is there writes nothing). A stored dictionary with the same
// hash and other bytes (a hash collision) makes the batch go unpacked: ok
// false.
func (s *Store) storeDict(ctx context.Context, tx *sql.Tx, pk *packed) (ok bool, err error) {
	if pk == nil {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO finding_evidence_dicts (hash, dict) VALUES (?, ?) ON CONFLICT (hash) DO NOTHING",
		int64(pk.hash), pk.dict.raw); err != nil {
		return false, err
	}
	var have []byte
	if err := tx.QueryRowContext(ctx, "SELECT dict FROM finding_evidence_dicts WHERE hash = ?", int64(pk.hash)).Scan(&have); err != nil {
		return false, err
	}
	return string(have) == string(pk.dict.raw), nil
}

// unpackEvidence returns stored evidence as JSON: text as it is, a packed
// BLOB expanded with its dictionary.
func (s *Store) unpackEvidence(v string) (json.RawMessage, error) {
	if !strings.HasPrefix(v, packMagic) {
		return json.RawMessage(v), nil
	}
	if len(v) < packHead {
		return nil, errors.New("packed evidence: truncated")
	}
	h := binary.LittleEndian.Uint64([]byte(v[len(packMagic):packHead]))
	if s.pack == nil {
		return nil, errors.New("packed evidence: no dictionaries here")
	}
	d, err := s.pack.dict(h)
	if err != nil {
		return nil, err
	}
	src := []byte(v[packHead:])
	n, err := s2.DecodedLen(src)
	if err != nil {
		return nil, fmt.Errorf("packed evidence: %w", err)
	}
	if n > maxPackedEvidence {
		return nil, fmt.Errorf("packed evidence: claims %d bytes", n)
	}
	out, err := d.Decode(nil, src)
	if err != nil {
		return nil, fmt.Errorf("packed evidence: %w", err)
	}
	return out, nil
}

// dict returns the dictionary with hash h, from the cache or the table.
func (p *packer) dict(h uint64) (*s2.Dict, error) {
	p.mu.Lock()
	pd := p.dicts[h]
	p.mu.Unlock()
	if pd != nil {
		return pd.d, nil
	}
	if p.db == nil {
		return nil, fmt.Errorf("packed evidence: dictionary %016x not here", h)
	}
	var raw []byte
	err := p.db.QueryRowContext(context.Background(), "SELECT dict FROM finding_evidence_dicts WHERE hash = ?", int64(h)).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("packed evidence: dictionary %016x missing", h)
	}
	if err != nil {
		return nil, fmt.Errorf("packed evidence: dictionary %016x: %w", h, err)
	}
	if dictHash(raw) != h {
		return nil, fmt.Errorf("packed evidence: dictionary %016x does not match its hash", h)
	}
	d := s2.MakeDict(raw, nil)
	if d == nil {
		return nil, fmt.Errorf("packed evidence: dictionary %016x: too short", h)
	}
	p.mu.Lock()
	if pd = p.dicts[h]; pd == nil {
		pd = &packDict{d: d, raw: raw}
		p.remember(h, pd)
	}
	p.mu.Unlock()
	return pd.d, nil
}
