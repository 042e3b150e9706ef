package target

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/ports.md from the port tables")

func TestParsePorts(t *testing.T) {
	tests := []struct {
		spec string
		want []uint16
	}{
		{"80", []uint16{80}},
		{"22,80,443", []uint16{22, 80, 443}},
		{" 443 , 22 ,80", []uint16{22, 80, 443}},
		{"80,80,79-81", []uint16{79, 80, 81}},
		{"1-3", []uint16{1, 2, 3}},
		{"65535", []uint16{65535}},
		{"65534-65535", []uint16{65534, 65535}},
		{"5-5", []uint16{5}},
	}
	for _, tt := range tests {
		got, err := ParsePorts(tt.spec)
		if err != nil {
			t.Errorf("ParsePorts(%q): %v", tt.spec, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ParsePorts(%q) = %v, want %v", tt.spec, got, tt.want)
		}
	}
}

func TestParsePortsNamed(t *testing.T) {
	all, err := ParsePorts("all")
	if err != nil || len(all) != 65535 || all[0] != 1 || all[65534] != 65535 {
		t.Fatalf("all: len %d err %v", len(all), err)
	}
	t100, _ := ParsePorts("top100")
	t1000, _ := ParsePorts("TOP1000")
	if len(t100) != 100 || len(t1000) != 1000 {
		t.Fatalf("top100 %d ports, top1000 %d ports", len(t100), len(t1000))
	}
	for _, p := range t100 {
		if _, ok := slices.BinarySearch(t1000, p); !ok {
			t.Errorf("top100 port %d missing from top1000", p)
		}
	}
	mixed, err := ParsePorts("top100,8443,60000-60001")
	if err != nil {
		t.Fatal(err)
	}
	if len(mixed) != 102 || !slices.Contains(mixed, 60001) || !slices.IsSorted(mixed) {
		t.Errorf("top100,8443,60000-60001: %d ports", len(mixed))
	}
}

func TestTopPortTables(t *testing.T) {
	// The first tier table is exactly 100 distinct ports: padding it from
	// the well-known range would be an accident, not a choice.
	if len(top100) != 100 {
		t.Errorf("top100 table has %d entries, want 100", len(top100))
	}
	seen := map[uint16]int{}
	for i, p := range top100 {
		if j, dup := seen[p]; dup {
			t.Errorf("top100 repeats %d at %d and %d", p, j, i)
		}
		seen[p] = i
	}
	for _, name := range []string{PortsTop100, PortsTop1000} {
		l := TopPorts(name)
		if !slices.Equal(l[:100], top100[:]) {
			t.Errorf("%s does not start with the top100 table in order", name)
		}
		s := slices.Clone(l)
		slices.Sort(s)
		if len(slices.Compact(s)) != len(l) || s[0] == 0 {
			t.Errorf("%s has duplicates or port 0", name)
		}
	}
	l := TopPorts(PortsTop100)
	l[0] = 1
	if TopPorts(PortsTop100)[0] != 80 {
		t.Error("TopPorts hands out the shared table")
	}
	if TopPorts("top5") != nil {
		t.Error("unknown list name returned ports")
	}
}

func TestParsePortsErrors(t *testing.T) {
	tests := []struct{ spec, mention string }{
		{"", "empty specification"},
		{"  ", "empty specification"},
		{"0", "outside 1-65535"},
		{"65536", "outside 1-65535"},
		{"99999999999999999999", "outside 1-65535"},
		{"-1", "missing port number"},
		{"80,", "empty item"},
		{",80", "empty item"},
		{"80-", "missing port number"},
		{"100-10", "backwards"},
		{"http", `"http" is not a port number`},
		{"1-2-3", `"2-3" is not a port number`},
		{"+80", "not a port number"},
		{"top10", "not a port number"},
		{"22,8o", `"8o"`},
	}
	for _, tt := range tests {
		_, err := ParsePorts(tt.spec)
		if !errors.Is(err, ErrPorts) {
			t.Errorf("ParsePorts(%q) error = %v, want ErrPorts", tt.spec, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.mention) {
			t.Errorf("ParsePorts(%q) error %q does not mention %q", tt.spec, err, tt.mention)
		}
		if !strings.HasPrefix(err.Error(), "target: ") {
			t.Errorf("error %q lacks the package prefix", err)
		}
	}
}

func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80", "22,80,1000-2000", "top100,8443", "all", "1-65535", "0", "65536", "a-b", ",,", "1-", "-", "top1000, 1 - 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ports, err := ParsePorts(spec)
		if err != nil {
			if !errors.Is(err, ErrPorts) {
				t.Fatalf("error does not wrap ErrPorts: %v", err)
			}
			return
		}
		if len(ports) == 0 {
			t.Fatal("success with no ports")
		}
		for i, p := range ports {
			if p == 0 || (i > 0 && ports[i-1] >= p) {
				t.Fatalf("ports not strictly ascending and in 1-65535: %v", ports[:i+1])
			}
		}
	})
}

// TestPortsDoc keeps docs/ports.md in step with the tables: the part
// between the markers is generated (go test ./internal/target -run
// TestPortsDoc -update rewrites it).
func TestPortsDoc(t *testing.T) {
	const begin, end = "<!-- BEGIN GENERATED LISTS -->\n", "<!-- END GENERATED LISTS -->\n"
	path := filepath.Join("..", "..", "docs", "ports.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(doc), begin)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		t.Fatalf("%s lacks the generated-list markers", path)
	}
	want := before + begin + renderLists() + end + after
	if string(doc) == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with the port tables; run go test ./internal/target -run TestPortsDoc -update", path)
}

func renderLists() string {
	var b strings.Builder
	list := func(title string, ports []uint16) {
		fmt.Fprintf(&b, "\n### %s (%d ports, priority order)\n\n```\n", title, len(ports))
		for i, p := range ports {
			sep := ","
			switch {
			case i == len(ports)-1:
				sep = "\n"
			case i%16 == 15:
				sep = ",\n"
			}
			fmt.Fprintf(&b, "%d%s", p, sep)
		}
		b.WriteString("```\n\n")
	}
	list("top100", TopPorts(PortsTop100))
	list("top1000", TopPorts(PortsTop1000))
	return b.String()
}
