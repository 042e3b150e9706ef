package vulndb

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The snapshot is a directory (normally <data>/vulndb/) holding:
//
//	manifest.json         what is there: counts, sources, file names
//	nvd.<gen>.jsonl.gz    one CVE per line (this package's CVE JSON), by ID
//	kev.<gen>.jsonl.gz    one KEVEntry per line
//	epss.<gen>.jsonl.gz   one EPSSScore per line
//	distro.<gen>.jsonl.gz one DistroFix per line (Debian tracker, DSA/DLA
//	                      lists, OSV), by distribution, release, package, CVE
//
// An import writes a new generation of data files, then atomically renames
// the new manifest over the old one (the commit point), then removes the
// files of older generations. A loader reads the manifest first and the
// files it names, so it sees one generation or the other, never a mix.
// The files are plain gzip'd JSON lines: readable with zcat and jq on an
// air-gapped machine, and diffable between two imports.

// SnapshotFormat is the version of the snapshot layout.
const SnapshotFormat = 1

const manifestName = "manifest.json"

// Manifest describes a snapshot.
type Manifest struct {
	Format         int             `json:"format"`
	Generation     int64           `json:"generation"`
	Updated        time.Time       `json:"updated"`
	CVEs           int             `json:"cves"`
	KEV            int             `json:"kev"`
	EPSS           int             `json:"epss"`
	DistroFixes    int             `json:"distroFixes,omitempty"`
	NewestModified time.Time       `json:"newestModified,omitzero"` // newest CVE lastModified
	KEVCatalog     string          `json:"kevCatalog,omitempty"`    // newest KEV catalogVersion imported
	EPSSDate       time.Time       `json:"epssDate,omitzero"`       // newest EPSS score_date imported
	Files          map[Kind]string `json:"files"`
	Sources        []Source        `json:"sources"`
}

// Source is one file imported into the snapshot. A file is known by its
// content hash: importing it again leaves the manifest as it was.
type Source struct {
	Name     string    `json:"name"` // base name
	SHA256   string    `json:"sha256"`
	Kind     Kind      `json:"kind"`
	Records  int       `json:"records"`
	Imported time.Time `json:"imported"`
}

// Summary reports an import.
type Summary struct {
	Files                               []FileSummary
	Added, Updated, Unchanged, Rejected int
	// Changed is false when the import changed nothing on disk.
	Changed  bool
	Manifest Manifest
}

// FileSummary reports one imported file.
type FileSummary struct {
	Name                               string
	Kind                               Kind
	Records, Added, Updated, Unchanged int
	// Rejected holds the first maxRejects rejected records; RejectedCount
	// counts them all.
	Rejected      []*RecordError
	RejectedCount int
}

const maxRejects = 100

// state is a snapshot being merged into.
type state struct {
	m    Manifest
	cves map[string]*CVE
	kev  map[string]KEVEntry
	epss map[string]EPSSScore
	// distro holds the distributions' fix records by DistroFix.Key.
	distro map[string]DistroFix
}

// Import merges files (NVD API 2.0 JSON in any shape, the KEV catalog, EPSS
// CSV, the Debian security tracker's JSON, Debian's DSA and DLA lists, OSV
// records such as Ubuntu's notices, Red Hat's OVAL; each plain, gzip'd or
// bzip2'd, the format
// detected from the content) into the snapshot in dir, creating it if
// needed. It is idempotent: importing the same data again changes nothing.
// On conflicts a CVE with a later lastModified wins, a KEV entry from the
// same or a newer catalog wins, an EPSS score with the same or a later
// score date wins, and a distribution's fix record is merged into the one
// stored (the newer file's status and fixed version, an advisory kept when
// it names the same fixed version). Invalid
// records are skipped and reported in the Summary; a file that cannot be
// read at all fails the whole import and leaves the snapshot as it was.
// One import at a time may run on dir (a lock file guards it); loaders may
// run alongside.
func Import(dir string, files ...string) (Summary, error) {
	var sum Summary
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, fmt.Errorf("vulndb: import: %w", err)
	}
	unlock, err := lock(dir)
	if err != nil {
		return sum, err
	}
	defer unlock()
	st, err := readState(dir)
	if err != nil && !errors.Is(err, ErrNoSnapshot) {
		return sum, err
	}
	changed := false
	for _, f := range files {
		fsum, ch, err := st.importFile(f)
		if err != nil {
			return sum, err
		}
		changed = changed || ch
		sum.Files = append(sum.Files, fsum)
		sum.Added += fsum.Added
		sum.Updated += fsum.Updated
		sum.Unchanged += fsum.Unchanged
		sum.Rejected += fsum.RejectedCount
	}
	if !changed {
		sum.Manifest = st.m
		return sum, nil
	}
	if err := st.write(dir); err != nil {
		return sum, err
	}
	sum.Changed = true
	sum.Manifest = st.m
	return sum, nil
}

func (st *state) importFile(path string) (FileSummary, bool, error) {
	fsum := FileSummary{Name: filepath.Base(path)}
	f, err := os.Open(path)
	if err != nil {
		return fsum, false, fmt.Errorf("vulndb: import: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	tee := io.TeeReader(f, h)
	br, _, err := decompress(tee, path)
	if err != nil {
		return fsum, false, err
	}
	head, _ := br.Peek(64 << 10)
	kind := Detect(head)
	fsum.Kind = kind
	bad := func(e *RecordError) {
		fsum.RejectedCount++
		if len(fsum.Rejected) < maxRejects {
			fsum.Rejected = append(fsum.Rejected, e)
		}
	}
	changed := false
	count := func(added, updated bool) {
		fsum.Records++
		switch {
		case added:
			fsum.Added++
		case updated:
			fsum.Updated++
		default:
			fsum.Unchanged++
		}
		changed = changed || added || updated
	}
	switch kind {
	case KindNVD:
		err = ReadNVD(br, path, func(c *CVE) error {
			old, ok := st.cves[c.ID]
			newer := ok && c.Modified.After(old.Modified)
			if !ok || newer {
				st.cves[c.ID] = c
			}
			count(!ok, newer)
			return nil
		}, bad)
	case KindKEV:
		var cat KEVCatalog
		cat, err = ReadKEV(br, path, func(e KEVEntry) error {
			old, ok := st.kev[e.CVEID]
			upd := ok && e.Catalog >= old.Catalog && !sameJSON(old, e)
			if !ok || upd {
				st.kev[e.CVEID] = e
			}
			count(!ok, upd)
			return nil
		}, bad)
		if err == nil && cat.Version > st.m.KEVCatalog {
			st.m.KEVCatalog = cat.Version
			changed = true
		}
	case KindDebianTracker, KindDebianList, KindOSV, KindRedHatOVAL:
		fix := func(f DistroFix) error {
			k := f.Key()
			old, ok := st.distro[k]
			n := f
			if ok {
				n = old.merge(f)
			}
			upd := ok && n != old
			if !ok || upd {
				st.distro[k] = n
			}
			count(!ok, upd)
			return nil
		}
		switch kind {
		case KindDebianTracker:
			err = ReadDebianTracker(br, path, fix, bad)
		case KindDebianList:
			err = ReadDebianList(br, path, fix, bad)
		case KindRedHatOVAL:
			err = ReadRedHatOVAL(br, path, fix, bad)
		default:
			err = ReadOSV(br, path, fix, bad)
		}
	case KindEPSS:
		var info EPSSInfo
		info, err = ReadEPSS(br, path, func(s EPSSScore) error {
			old, ok := st.epss[s.CVE]
			upd := ok && !s.Date.Before(old.Date) && s != old
			if !ok || upd {
				st.epss[s.CVE] = s
			}
			count(!ok, upd)
			return nil
		}, bad)
		if err == nil && info.Date.After(st.m.EPSSDate) {
			st.m.EPSSDate = info.Date
			changed = true
		}
	default:
		return fsum, false, fmt.Errorf("%w: %s: not NVD JSON, a KEV catalog, an EPSS CSV, the Debian tracker's JSON, a DSA/DLA list, OSV nor Red Hat OVAL", ErrFormat, path)
	}
	if err != nil {
		return fsum, false, err
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return fsum, false, fmt.Errorf("vulndb: import: %s: %w", path, err)
	}
	src := Source{Name: fsum.Name, SHA256: hex.EncodeToString(h.Sum(nil)), Kind: kind, Records: fsum.Records}
	known := slices.ContainsFunc(st.m.Sources, func(s Source) bool { return s.SHA256 == src.SHA256 && s.Name == src.Name })
	if !known {
		src.Imported = time.Now().UTC().Truncate(time.Second)
		st.m.Sources = append(st.m.Sources, src)
		changed = true
	}
	return fsum, changed, nil
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// write stores st as the next generation in dir.
func (st *state) write(dir string) error {
	old := st.m.Files
	m := st.m
	m.Format = SnapshotFormat
	m.Generation++
	m.Updated = time.Now().UTC().Truncate(time.Second)
	m.CVEs, m.KEV, m.EPSS, m.DistroFixes = len(st.cves), len(st.kev), len(st.epss), len(st.distro)
	m.NewestModified = time.Time{}
	for _, c := range st.cves {
		if c.Modified.After(m.NewestModified) {
			m.NewestModified = c.Modified
		}
	}
	gen := strconv.FormatInt(m.Generation, 10)
	m.Files = map[Kind]string{
		KindNVD:  "nvd." + gen + ".jsonl.gz",
		KindKEV:  "kev." + gen + ".jsonl.gz",
		KindEPSS: "epss." + gen + ".jsonl.gz",
	}
	if len(st.distro) > 0 {
		m.Files[KindDistro] = "distro." + gen + ".jsonl.gz"
		if err := writeLines(filepath.Join(dir, m.Files[KindDistro]), sortedValues(st.distro)); err != nil {
			return err
		}
	}
	if err := writeLines(filepath.Join(dir, m.Files[KindNVD]), sortedValues(st.cves)); err != nil {
		return err
	}
	if err := writeLines(filepath.Join(dir, m.Files[KindKEV]), sortedValues(st.kev)); err != nil {
		return err
	}
	if err := writeLines(filepath.Join(dir, m.Files[KindEPSS]), sortedValues(st.epss)); err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("vulndb: manifest: %w", err)
	}
	if err := writeAtomic(filepath.Join(dir, manifestName), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	}); err != nil {
		return err
	}
	st.m = m
	// Older generations are garbage now; a loader that still reads one
	// retries with the new manifest.
	for _, name := range old {
		if !slices.Contains(slices.Collect(maps.Values(m.Files)), name) {
			os.Remove(filepath.Join(dir, name))
		}
	}
	return nil
}

func sortedValues[V any](m map[string]V) []V {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, CompareVersion)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

func writeLines[V any](path string, items []V) error {
	return writeAtomic(path, func(w io.Writer) error {
		zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(zw)
		enc.SetEscapeHTML(false)
		for _, it := range items {
			if err := enc.Encode(it); err != nil {
				return err
			}
		}
		return zw.Close()
	})
}

// writeAtomic writes path through a temporary file, synced and renamed.
func writeAtomic(path string, fill func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("vulndb: write: %w", err)
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriterSize(f, 1<<20)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("vulndb: write %s: %w", path, err)
	}
	return nil
}

// lock takes the import lock of dir. A lock older than staleLock is left
// over from a crash and taken over.
func lock(dir string) (func(), error) {
	const staleLock = time.Hour
	path := filepath.Join(dir, ".import.lock")
	for try := 0; try < 2; try++ {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("vulndb: lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > staleLock {
			os.Remove(path)
			continue
		}
		break
	}
	return nil, fmt.Errorf("%w: %s exists (remove it if no import is running)", ErrLocked, path)
}

// readManifest reads dir's manifest.
func readManifest(dir string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("%w in %s: run \"rampart vulndb import\" first", ErrNoSnapshot, dir)
	}
	if err != nil {
		return m, fmt.Errorf("vulndb: %w", err)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: %s: %v", ErrFormat, filepath.Join(dir, manifestName), err)
	}
	if m.Format != SnapshotFormat {
		return m, fmt.Errorf("%w: %s: snapshot format %d, this build reads %d", ErrFormat, dir, m.Format, SnapshotFormat)
	}
	for k, name := range m.Files {
		if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
			return m, fmt.Errorf("%w: %s: file name %q for %s", ErrFormat, dir, name, k)
		}
	}
	return m, nil
}

// readState reads the snapshot for merging; an absent one is empty.
func readState(dir string) (*state, error) {
	st := &state{cves: map[string]*CVE{}, kev: map[string]KEVEntry{}, epss: map[string]EPSSScore{}, distro: map[string]DistroFix{}}
	m, err := readManifest(dir)
	if err != nil {
		return st, err
	}
	st.m = m
	err = readSnapshot(dir, m, func(c *CVE) error {
		st.cves[c.ID] = c
		return nil
	}, func(e KEVEntry) { st.kev[e.CVEID] = e }, func(s EPSSScore) { st.epss[s.CVE] = s },
		func(f DistroFix) { st.distro[f.Key()] = f })
	return st, err
}

func readSnapshot(dir string, m Manifest, cve func(*CVE) error, kev func(KEVEntry), epss func(EPSSScore), distro func(DistroFix)) error {
	if name := m.Files[KindNVD]; name != "" {
		if err := readLines(filepath.Join(dir, name), func(dec *json.Decoder) error {
			c := new(CVE)
			if err := dec.Decode(c); err != nil {
				return err
			}
			return cve(c)
		}); err != nil {
			return err
		}
	}
	if name := m.Files[KindKEV]; name != "" {
		if err := readLines(filepath.Join(dir, name), func(dec *json.Decoder) error {
			var e KEVEntry
			if err := dec.Decode(&e); err != nil {
				return err
			}
			kev(e)
			return nil
		}); err != nil {
			return err
		}
	}
	if name := m.Files[KindEPSS]; name != "" {
		if err := readLines(filepath.Join(dir, name), func(dec *json.Decoder) error {
			var s EPSSScore
			if err := dec.Decode(&s); err != nil {
				return err
			}
			epss(s)
			return nil
		}); err != nil {
			return err
		}
	}
	if name := m.Files[KindDistro]; name != "" {
		if err := readLines(filepath.Join(dir, name), func(dec *json.Decoder) error {
			var f DistroFix
			if err := dec.Decode(&f); err != nil {
				return err
			}
			distro(f)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func readLines(path string, each func(*json.Decoder) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("vulndb: snapshot: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return fmt.Errorf("vulndb: snapshot %s: %w", path, err)
	}
	dec := json.NewDecoder(zr)
	for n := 1; dec.More(); n++ {
		if err := each(dec); err != nil {
			return fmt.Errorf("vulndb: snapshot %s: line %d: %w", path, n, err)
		}
	}
	return nil
}

// Load reads the snapshot in dir into a new DB. It returns an error
// wrapping ErrNoSnapshot when nothing was imported yet (callers may then
// start with NewDB()).
func Load(dir string) (*DB, error) {
	var err error
	for try := 0; try < 3; try++ {
		var db *DB
		db, err = load(dir)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNoSnapshot) {
			return db, err
		}
		// An import replaced the generation under us: read the new manifest.
	}
	return nil, err
}

func load(dir string) (*DB, error) {
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	db := NewDB()
	db.info = m
	err = readSnapshot(dir, m, db.AddCVE, db.AddKEV, db.AddEPSS, db.AddDistroFix)
	if err != nil {
		return nil, err
	}
	return db, nil
}
