package feedcsv

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// The presets are data: one JSON format per file, named like the preset.
//
//go:embed presets/*.json
var presetFS embed.FS

// Preset returns the shipped format called name ("urlhaus",
// "spamhaus-drop" ...). It is read and checked on each call.
func Preset(name string) (Format, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return Format{}, fmt.Errorf("feedcsv: preset %q: not a preset name", name)
	}
	b, err := presetFS.ReadFile("presets/" + name + ".json")
	if err != nil {
		return Format{}, fmt.Errorf("feedcsv: preset %q: unknown; the presets are %s", name, strings.Join(Presets(), ", "))
	}
	f, err := ParseFormat(b)
	if err != nil {
		return Format{}, fmt.Errorf("feedcsv: preset %q: %w", name, err)
	}
	return f, nil
}

// Presets lists the shipped formats' names, sorted.
func Presets() []string {
	entries, _ := fs.ReadDir(presetFS, "presets")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, path.Base(n))
		}
	}
	slices.Sort(names)
	return names
}
