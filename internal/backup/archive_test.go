package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sample writes a database file and one stream snapshot into a new
// directory and returns the archive of them.
func sample(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, DatabaseName), bytes.Repeat([]byte("SQLite format 3\x00"), 100), 0o600))
	must(t, os.MkdirAll(filepath.Join(dir, "nats"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "nats", "RAMPART_JOBS.snapshot"), []byte("snapshot bytes"), 0o600))
	m := Manifest{Format: Format, RampartVersion: "test", CreatedAt: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC),
		Database: Database{Driver: "sqlite", SchemaVersion: 8, File: DatabaseName}, NATS: "included",
		Streams: []Stream{{Name: "RAMPART_JOBS", File: StreamFile("RAMPART_JOBS"), Messages: 1, Config: json.RawMessage(`{"name":"RAMPART_JOBS"}`), State: json.RawMessage(`{}`)}}}
	for _, name := range []string{DatabaseName, StreamFile("RAMPART_JOBS")} {
		f, err := Checksum(name, filepath.Join(dir, filepath.FromSlash(name)))
		must(t, err)
		m.Files = append(m.Files, f)
	}
	var buf bytes.Buffer
	must(t, Write(&buf, m, dir))
	return buf.Bytes()
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, err := Extract(bytes.NewReader(sample(t)), dir, DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if m.Database.SchemaVersion != 8 || len(m.Streams) != 1 || m.Streams[0].Name != "RAMPART_JOBS" {
		t.Fatalf("manifest %+v", m)
	}
	b, err := os.ReadFile(filepath.Join(dir, "nats", "RAMPART_JOBS.snapshot"))
	if err != nil || string(b) != "snapshot bytes" {
		t.Fatalf("snapshot %q, %v", b, err)
	}
}

// rawArchive builds a tar.gz of the given entries, manifest or not.
func rawArchive(t testing.TB, entries ...tar.Header) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := h.Linkname // the body rides in Linkname for regular files
		if h.Typeflag == tar.TypeReg {
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		h.Mode = 0o600
		must(t, tw.WriteHeader(&h))
		if h.Typeflag == tar.TypeReg {
			_, err := tw.Write([]byte(body))
			must(t, err)
		}
	}
	must(t, tw.Close())
	must(t, zw.Close())
	return buf.Bytes()
}

func TestExtractRefuses(t *testing.T) {
	good := sample(t)
	manifest := func(edit func(*Manifest)) string {
		var m Manifest
		_, err := Extract(bytes.NewReader(good), t.TempDir(), DefaultLimits)
		must(t, err)
		zr, _ := gzip.NewReader(bytes.NewReader(good))
		tr := tar.NewReader(zr)
		tr.Next()
		must(t, json.NewDecoder(tr).Decode(&m))
		edit(&m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	flip := bytes.Clone(good)
	flip[len(flip)/2] ^= 0xff
	cases := []struct {
		name string
		in   []byte
		lim  Limits
		want error
	}{
		{"empty", nil, DefaultLimits, ErrMalformed},
		{"not gzip", []byte("PK\x03\x04 a zip file"), DefaultLimits, ErrMalformed},
		{"truncated", good[:len(good)*2/3], DefaultLimits, ErrMalformed},
		{"truncated tail", good[:len(good)-4], DefaultLimits, ErrMalformed},
		{"flipped byte", flip, DefaultLimits, ErrMalformed},
		{"over limit", good, Limits{MaxTotal: 100}, ErrTooLarge},
		{"no manifest first", rawArchive(t, tar.Header{Name: DatabaseName, Typeflag: tar.TypeReg, Linkname: "x"}), DefaultLimits, ErrMalformed},
		{"symlink", rawArchive(t, tar.Header{Name: ManifestName, Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}), DefaultLimits, ErrMalformed},
		{"traversal", rawArchive(t,
			tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: manifest(func(m *Manifest) {
				m.Streams[0].Name, m.Streams[0].File, m.Files[1].Name = "../../x", "nats/../../x.snapshot", "nats/../../x.snapshot"
			})}), DefaultLimits, ErrMalformed},
		{"undeclared file", rawArchive(t,
			tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: manifest(func(m *Manifest) { m.Files[1].Name = "etc/cron.d/x" })}), DefaultLimits, ErrMalformed},
		{"wrong size", rawArchive(t,
			tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: manifest(func(m *Manifest) { m.Files = m.Files[:1]; m.Streams = nil })},
			tar.Header{Name: DatabaseName, Typeflag: tar.TypeReg, Linkname: "short"}), DefaultLimits, ErrMalformed},
		{"wrong format", rawArchive(t,
			tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: manifest(func(m *Manifest) { m.Format = "rampart-backup/99" })}), DefaultLimits, ErrMalformed},
		{"unknown manifest key", rawArchive(t,
			tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: strings.Replace(manifest(func(*Manifest) {}), `{`, `{"extra":1,`, 1)}), DefaultLimits, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Extract(bytes.NewReader(c.in), dir, c.lim)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzExtract feeds Extract hostile archives: it must not panic, and
// whatever it writes stays inside its directory as regular files.
func FuzzExtract(f *testing.F) {
	good := sample(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(rawArchive(f, tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Linkname: `{"format":"rampart-backup/1"}`}))
	f.Fuzz(func(t *testing.T, b []byte) {
		parent := t.TempDir()
		dir := filepath.Join(parent, "into")
		must(t, os.Mkdir(dir, 0o750))
		_, _ = Extract(bytes.NewReader(b), dir, Limits{MaxTotal: 1 << 20})
		err := filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if p != parent && strings.HasPrefix(rel, "..") {
				t.Fatalf("wrote outside the directory: %s", p)
			}
			if !d.IsDir() && !d.Type().IsRegular() {
				t.Fatalf("wrote a non-regular file: %s", p)
			}
			return nil
		})
		must(t, err)
	})
}
