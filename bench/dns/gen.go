package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// dataset is the generated input of one run, in dir.
type dataset struct {
	dir              string
	blocked, allowed int
}

func (d dataset) blockedFile() string { return filepath.Join(d.dir, "blocked.txt") }
func (d dataset) rpzFile() string     { return filepath.Join(d.dir, "rpz.zone") }
func (d dataset) localData() string   { return filepath.Join(d.dir, "allowed.conf") }
func (d dataset) queryFile() string   { return filepath.Join(d.dir, "queries.txt") }
func (d dataset) stamp() string       { return filepath.Join(d.dir, "done") }
func (d dataset) warmFile() string    { return filepath.Join(d.dir, "warm.txt") }

var tlds = []string{"com", "net", "org", "info", "xyz", "top", "ru", "cn", "vn", "io", "biz", "online", "site", "club"}

const letters = "abcdefghijklmnopqrstuvwxyz0123456789"

func label(r *rand.Rand, min, max int) string {
	n := min + r.IntN(max-min+1)
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[r.IntN(26)]
		if i > 0 && i < n-1 && r.IntN(6) == 0 {
			b[i] = letters[r.IntN(len(letters))]
		}
	}
	return string(b)
}

// blockedName is the i-th blocked name: a random registrable name, a third
// of them one label deeper (a listed host under a shared domain).
func blockedNames(n int) []string {
	r := rand.New(rand.NewPCG(1, 2))
	seen := make(map[string]struct{}, n)
	out := make([]string, 0, n)
	for len(out) < n {
		name := label(r, 6, 16) + "." + tlds[r.IntN(len(tlds))]
		if r.IntN(3) == 0 {
			name = label(r, 3, 10) + "." + name
		}
		if _, dup := seen[name]; dup {
			continue
		}
		seen[name] = struct{}{}
		out = append(out, name)
	}
	return out
}

func allowedName(i int) string { return fmt.Sprintf("host%05d.allowed.example.vn", i) }

// generate writes the lists, the RPZ zone, unbound's local-data and the
// dnsperf query file, unless dir already holds them for the same sizes.
func (d dataset) generate() error {
	if b, err := os.ReadFile(d.stamp()); err == nil && string(b) == fmt.Sprint(d.blocked, d.allowed) {
		return nil
	}
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	names := blockedNames(d.blocked)
	if err := writeLines(d.blockedFile(), func(w *bufio.Writer) {
		for _, n := range names {
			w.WriteString(n)
			w.WriteByte('\n')
		}
	}); err != nil {
		return err
	}
	// RPZ (as BIND and Unbound read it): "name CNAME ." is NXDOMAIN, and
	// "*.name" covers the subdomains.
	if err := writeLines(d.rpzFile(), func(w *bufio.Writer) {
		w.WriteString("$TTL 60\n@ IN SOA localhost. hostmaster.localhost. 1 3600 600 86400 60\n@ IN NS localhost.\n")
		for _, n := range names {
			fmt.Fprintf(w, "%s CNAME .\n*.%s CNAME .\n", n, n)
		}
	}); err != nil {
		return err
	}
	if err := writeLines(d.localData(), func(w *bufio.Writer) {
		w.WriteString("server:\n")
		for i := 0; i < d.allowed; i++ {
			fmt.Fprintf(w, "  local-data: \"%s. 3600 IN A 10.%d.%d.%d\"\n", allowedName(i), i>>16&255, i>>8&255, i&255)
		}
	}); err != nil {
		return err
	}
	// Half blocked (a random listed name, a third of those a subdomain of
	// it), half allowed, in random order.
	r := rand.New(rand.NewPCG(3, 4))
	if err := writeLines(d.queryFile(), func(w *bufio.Writer) {
		for i := 0; i < 400_000; i++ {
			if i%2 == 0 {
				n := names[r.IntN(len(names))]
				if r.IntN(3) == 0 {
					n = "www." + n
				}
				fmt.Fprintf(w, "%s A\n", n)
			} else {
				fmt.Fprintf(w, "%s A\n", allowedName(r.IntN(d.allowed)))
			}
		}
	}); err != nil {
		return err
	}
	// Every allowed name once: Rampart's cache is warm before the runs, as
	// Unbound's local-data is.
	if err := writeLines(d.warmFile(), func(w *bufio.Writer) {
		for i := 0; i < d.allowed; i++ {
			fmt.Fprintf(w, "%s A\n", allowedName(i))
		}
	}); err != nil {
		return err
	}
	return os.WriteFile(d.stamp(), []byte(fmt.Sprint(d.blocked, d.allowed)), 0o644)
}

func writeLines(path string, fill func(w *bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
