// Package backup is the format of a Rampart backup archive: one gzip
// compressed tar file whose first entry, manifest.json, lists every other
// entry with its size and SHA-256, followed by those entries:
//
//	manifest.json            what this is, when, of which schema; files and checksums
//	rampart.db               the SQLite database (VACUUM INTO copy)
//	nats/<STREAM>.snapshot   a JetStream stream snapshot (the server's own format)
//	nats/workers.json        the workers the embedded NATS admits (public keys only)
//
// Write builds an archive from files on disk; Extract reads one into a
// directory. An archive is hostile input: Extract accepts only the names
// the manifest declares (plain names from a fixed set, so nothing lands
// outside the directory), only regular files, sizes within Limits and
// exactly as declared, and checksums that match; any doubt is an error and
// the caller throws the directory away.
//
// The package knows nothing of databases or NATS: it must not import the
// store or the queue. internal/cli takes the snapshots and restores them.
package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Format names this archive format and its version.
const Format = "rampart-backup/1"

// Names inside an archive.
const (
	ManifestName = "manifest.json"
	DatabaseName = "rampart.db"
	// WorkersName is the embedded NATS server's list of worker keys,
	// optional.
	WorkersName = "nats/workers.json"
	// SecretKeyName is the data directory's secret key (it seals TOTP
	// secrets in the database): without it a restored database cannot
	// read them. It makes the archive itself a secret to keep safe.
	SecretKeyName = "secret.key"
	streamPrefix  = "nats/"
	streamSuffix  = ".snapshot"
)

// Errors.
var (
	// ErrMalformed means the archive is not a Rampart backup, or is
	// truncated, tampered with or inconsistent with its manifest.
	ErrMalformed = errors.New("backup: malformed archive")
	// ErrTooLarge means the archive declares or holds more than Limits
	// allow.
	ErrTooLarge = errors.New("backup: archive over size limit")
)

// Manifest describes an archive.
type Manifest struct {
	Format         string    `json:"format"`
	RampartVersion string    `json:"rampart_version"`
	CreatedAt      time.Time `json:"created_at"`
	Database       Database  `json:"database"`
	// NATS says what of the queue is in the archive: "included", or why
	// not ("skipped: ...").
	NATS    string   `json:"nats"`
	Streams []Stream `json:"streams,omitempty"`
	// Files lists every entry after the manifest, in archive order.
	Files []File `json:"files"`
}

// Database is the database part of a manifest.
type Database struct {
	Driver        string `json:"driver"` // "sqlite"
	SchemaVersion int    `json:"schema_version"`
	File          string `json:"file"`
}

// Stream is one JetStream stream snapshot. Config and State are the
// server's own JSON, handed back to it on restore.
type Stream struct {
	Name     string          `json:"name"`
	File     string          `json:"file"`
	Messages uint64          `json:"messages"`
	Bytes    uint64          `json:"bytes"`
	Config   json.RawMessage `json:"config"`
	State    json.RawMessage `json:"state"`
}

// File is one entry with its checksum.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// StreamFile is the entry name of stream's snapshot.
func StreamFile(stream string) string { return streamPrefix + stream + streamSuffix }

// Limits bound what Extract accepts.
type Limits struct {
	// MaxTotal caps the sum of the entries' sizes (uncompressed).
	MaxTotal int64
}

// DefaultLimits allow a database and queue of a large country.
var DefaultLimits = Limits{MaxTotal: 256 << 30}

const (
	maxManifest = 1 << 20 // bytes
	maxFiles    = 64
)

// validStream reports whether name is a stream name we write: letters,
// digits, '_' and '-', so entry names stay plain file names.
func validStream(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Validate checks a manifest read from an archive: the format, names
// from the fixed set, no duplicates, sizes and checksums well-formed and
// within l.
func (m *Manifest) Validate(l Limits) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: manifest: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if m.Format != Format {
		return bad("format %q, want %q", m.Format, Format)
	}
	if m.Database.Driver != "sqlite" || m.Database.File != DatabaseName {
		return bad("database %s %q, want sqlite %q", m.Database.Driver, m.Database.File, DatabaseName)
	}
	if len(m.Files) == 0 || len(m.Files) > maxFiles {
		return bad("%d files", len(m.Files))
	}
	if len(m.Streams) > maxFiles {
		return bad("%d streams", len(m.Streams))
	}
	allowed := map[string]bool{DatabaseName: true}
	for _, s := range m.Streams {
		if !validStream(s.Name) || s.File != StreamFile(s.Name) {
			return bad("stream %q in %q", s.Name, s.File)
		}
		if allowed[s.File] {
			return bad("stream %s twice", s.Name)
		}
		if !json.Valid(s.Config) || !json.Valid(s.State) {
			return bad("stream %s: config or state is not JSON", s.Name)
		}
		allowed[s.File] = true
	}
	required := len(allowed)
	allowed[WorkersName] = true
	allowed[SecretKeyName] = true
	seen := map[string]bool{}
	var total int64
	for _, f := range m.Files {
		if !allowed[f.Name] {
			return bad("unexpected file %q", f.Name)
		}
		if seen[f.Name] {
			return bad("file %q twice", f.Name)
		}
		seen[f.Name] = true
		if f.Size < 0 || (f.Name == WorkersName || f.Name == SecretKeyName) && f.Size > maxManifest {
			return bad("file %q: size %d", f.Name, f.Size)
		}
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			return bad("file %q: checksum %q", f.Name, f.SHA256)
		}
		if f.Size > l.MaxTotal-total {
			return fmt.Errorf("%w: %d bytes declared, limit %d", ErrTooLarge, total+f.Size, l.MaxTotal)
		}
		total += f.Size
	}
	delete(seen, WorkersName)
	delete(seen, SecretKeyName)
	if len(seen) != required {
		return bad("%d of %d files have a checksum", len(seen), required)
	}
	return nil
}

// Checksum returns the File entry of a file on disk named name in the
// archive.
func Checksum(name, path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("backup: read %s: %w", path, err)
	}
	return File{Name: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// Write writes the archive of m to w: the manifest, then each of
// m.Files read from dir/<name>. The files must not change meanwhile;
// Write checks their size and checksum again as it copies them.
func Write(w io.Writer, m Manifest, dir string) error {
	if err := m.Validate(Limits{MaxTotal: 1 << 62}); err != nil {
		return err
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("backup: manifest: %w", err)
	}
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: 0o600, ModTime: m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(ManifestName, int64(len(body)))); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if _, err := tw.Write(body); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	for _, f := range m.Files {
		if err := copyIn(tw, hdr(f.Name, f.Size), f, filepath.Join(dir, filepath.FromSlash(f.Name))); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

func copyIn(tw *tar.Writer, h *tar.Header, f File, path string) error {
	in, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("backup: write %s: %w", f.Name, err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(tw, sum), in)
	if err != nil {
		return fmt.Errorf("backup: write %s: %w", f.Name, err)
	}
	if n != f.Size || hex.EncodeToString(sum.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("backup: %s changed while being archived", path)
	}
	return nil
}

// Extract reads an archive from r into dir (which should be new and
// empty: the caller removes it on error), verifying every entry against
// the manifest and l. It returns the manifest once every declared file
// is in dir with its checksum verified. Entries land at dir/<name>, with
// stream snapshots under dir/nats/.
func Extract(r io.Reader, dir string, l Limits) (Manifest, error) {
	var m Manifest
	zr, err := gzip.NewReader(r)
	if err != nil {
		return m, fmt.Errorf("%w: not gzip: %v", ErrMalformed, err)
	}
	zr.Multistream(false)
	tr := tar.NewReader(zr)
	next := func() (*tar.Header, error) {
		h, err := tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%w: entry %q is not a regular file", ErrMalformed, h.Name)
		}
		return h, nil
	}

	h, err := next()
	if err != nil {
		return m, fmt.Errorf("%w: no manifest: %v", ErrMalformed, unexpected(err))
	}
	if h.Name != ManifestName || h.Size > maxManifest {
		return m, fmt.Errorf("%w: first entry %q (%d bytes), want %s", ErrMalformed, h.Name, h.Size, ManifestName)
	}
	body, err := io.ReadAll(io.LimitReader(tr, maxManifest))
	if err != nil {
		return m, fmt.Errorf("%w: manifest: %v", ErrMalformed, unexpected(err))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if err := m.Validate(l); err != nil {
		return m, err
	}

	for _, f := range m.Files {
		h, err := next()
		if err != nil {
			return m, fmt.Errorf("%w: missing %s: %v", ErrMalformed, f.Name, unexpected(err))
		}
		if h.Name != f.Name || h.Size != f.Size {
			return m, fmt.Errorf("%w: entry %q of %d bytes, manifest says %q of %d", ErrMalformed, h.Name, h.Size, f.Name, f.Size)
		}
		if err := extractOne(tr, f, dir); err != nil {
			return m, err
		}
	}
	if _, err := tr.Next(); err != io.EOF {
		return m, fmt.Errorf("%w: entries after the last declared file", ErrMalformed)
	}
	// Reading to the end makes gzip check its own CRC and length.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return m, fmt.Errorf("%w: %v", ErrMalformed, unexpected(err))
	}
	return m, nil
}

// extractOne writes one entry; f.Name is one of the validated names, so
// the path stays inside dir.
func extractOne(tr io.Reader, f File, dir string) error {
	path := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(out, sum), io.LimitReader(tr, f.Size))
	if cerr := out.Close(); err == nil && cerr != nil {
		return fmt.Errorf("backup: write %s: %w", path, cerr)
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, f.Name, unexpected(err))
	}
	if n != f.Size {
		return fmt.Errorf("%w: %s: truncated at %d of %d bytes", ErrMalformed, f.Name, n, f.Size)
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%w: %s: checksum %s, manifest says %s", ErrMalformed, f.Name, got, f.SHA256)
	}
	return nil
}

// unexpected names a premature end as truncation.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("archive truncated")
	}
	return err
}
