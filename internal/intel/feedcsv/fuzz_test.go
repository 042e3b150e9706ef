package feedcsv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// FuzzParse runs every preset over hostile input: no panic, every record
// normalized (normalizing again changes nothing), every rejection names its
// line, and records plus rejections never exceed the lines read.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && !strings.HasSuffix(name, ".md") {
			f.Add(b)
		}
	}
	f.Add([]byte("\"a,b\n\"open\n" + strings.Repeat("x", 70000) + "\n1.2.3.4 ; ; |\n"))
	presets := Presets()
	formats := make([]Format, len(presets))
	for i, n := range presets {
		formats[i], _ = Preset(n)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		for i, form := range formats {
			n := 0
			rej, err := Parse(context.Background(), strings.NewReader(string(data)), form, presets[i], func(r intel.Record) error {
				n++
				again := r
				again.Labels = append([]string(nil), r.Labels...)
				if err := again.Normalize(time.Now()); err != nil || again.Value != r.Value || again.Kind != r.Kind {
					t.Fatalf("%s: emitted %+v does not normalize to itself: %v", presets[i], r, err)
				}
				return nil
			})
			if err != nil && !strings.HasPrefix(err.Error(), "feedcsv:") {
				t.Fatalf("%s: error without prefix: %v", presets[i], err)
			}
			if n+rej.Count > lines {
				t.Fatalf("%s: %d records and %d rejections from %d lines", presets[i], n, rej.Count, lines)
			}
			for _, r := range rej.List {
				if !strings.HasPrefix(r.Where, "line ") || r.Reason == "" {
					t.Fatalf("%s: rejection %+v", presets[i], r)
				}
			}
		}
	})
}

// FuzzParseFormat decodes hostile formats: an accepted one must read a
// small feed without panicking.
func FuzzParseFormat(f *testing.F) {
	for _, n := range Presets() {
		b, _ := presetFS.ReadFile("presets/" + n + ".json")
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"auto","delimiter":"whitespace","value":3,"trailing":{"separator":"|","keys":["a","b"],"split":","}}`))
	sample := "# id,url,when\nid,url,when\n1,http://x.example/,2026-01-01\n2,192.0.2.1 ; c | d,unix\n"
	f.Fuzz(func(t *testing.T, data []byte) {
		form, err := ParseFormat(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "feedcsv:") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		_, err = Parse(context.Background(), strings.NewReader(sample), form, "fuzz", func(intel.Record) error { return nil })
		if err != nil && !strings.HasPrefix(err.Error(), "feedcsv:") {
			t.Fatalf("error without prefix: %v", err)
		}
	})
}

// FuzzSplitFields checks the splitter on any line: no panic, at least one
// field, and a line without quotes splits exactly like strings.Split.
func FuzzSplitFields(f *testing.F) {
	f.Add(`"2010-02-10 00:00:00",192.168.0.1,"Basic realm=\"\"OpenWebif\"\"",x`, byte(','))
	f.Add(`a;b;"c;d"`, byte(';'))
	f.Fuzz(func(t *testing.T, line string, delim byte) {
		if delim == '"' || delim == '\\' {
			return
		}
		got, err := SplitFields(nil, line, delim)
		if err == nil && len(got) == 0 {
			t.Fatal("no field")
		}
		if !strings.ContainsRune(line, '"') {
			want := strings.Split(line, string([]byte{delim}))
			if len(got) != len(want) {
				t.Fatalf("%q: %q, want %q", line, got, want)
			}
		}
	})
}
