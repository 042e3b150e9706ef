package discovery

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// MaxCTDirFiles bounds the files of a CT directory one run reads.
const MaxCTDirFiles = 10000

// CTDirFiles lists the regular files of dir (not its subdirectories, not
// hidden files such as a transfer in progress), by name, as CT files for
// a run: a site without the internet drops exported CT entries there.
// Each file is opened when the run reads it; ct.ReadFile bounds what it
// reads of each.
func CTDirFiles(dir string) ([]CTFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("discovery: CT directory: %w", err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out []CTFile
	for _, e := range ents {
		if !e.Type().IsRegular() || e.Name() == "" || e.Name()[0] == '.' {
			continue
		}
		if len(out) == MaxCTDirFiles {
			return nil, fmt.Errorf("discovery: CT directory %s holds more than %d files", dir, MaxCTDirFiles)
		}
		path := filepath.Join(dir, e.Name())
		out = append(out, CTFile{Name: e.Name(), Open: func() (io.ReadCloser, error) { return os.Open(path) }})
	}
	return out, nil
}
