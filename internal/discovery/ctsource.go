package discovery

import (
	"context"
	"io"
	"strconv"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
)

// CTStats counts what a CT read did.
type CTStats struct {
	Entries int `json:"entries"` // entries read
	Bad     int `json:"bad"`     // entries that did not decode (skipped)
	Matched int `json:"matched"` // names under a registered domain
}

// MatchEntry decodes one log entry and calls fn for each name of its
// certificate that falls under a registered domain.
func MatchEntry(e ct.RawEntry, d *Domains, fn func(name, domain string)) error {
	leaf, err := ct.ParseLeaf(e.LeafInput)
	if err != nil {
		return err
	}
	c, err := leaf.Certificate()
	if err != nil {
		return err
	}
	for _, n := range ct.Names(c) {
		if dom, ok := d.Match(n); ok {
			fn(n, dom)
		}
	}
	return nil
}

// ctCandidates returns the callback of a CT read: matching names become
// candidates whose evidence names the log (or file) and the entry.
func ctCandidates(from string, d *Domains, st *CTStats, emit func(Candidate)) func(uint64, ct.RawEntry) error {
	return func(i uint64, e ct.RawEntry) error {
		st.Entries++
		err := MatchEntry(e, d, func(name, dom string) {
			st.Matched++
			emit(Candidate{Name: name, Source: SourceCT, Under: dom, Evidence: "certificate in " + from + " entry " + strconv.FormatUint(i, 10)})
		})
		if err != nil {
			st.Bad++ // one bad entry does not stop a log
		}
		return nil
	}
}

// ScanLog reads a log from pos (at most limit entries when limit > 0) and
// emits a candidate for every certificate name under a registered
// domain. It returns the position to resume from, also on error.
func ScanLog(ctx context.Context, c *ct.Client, pos ct.Position, limit uint64, d *Domains, emit func(Candidate)) (ct.Position, CTStats, error) {
	var st CTStats
	pos, err := c.Scan(ctx, pos, limit, ctCandidates("CT log "+c.URL, d, &st, emit))
	return pos, st, err
}

// ReadCTFile reads CT entries saved to a file (see ct.ReadFile) and emits
// the candidates as ScanLog does; name labels the file in the evidence.
func ReadCTFile(r io.Reader, name string, d *Domains, emit func(Candidate)) (CTStats, error) {
	var st CTStats
	err := ct.ReadFile(r, ctCandidates("CT file "+name, d, &st, emit))
	return st, err
}
