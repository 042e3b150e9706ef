package assess

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/rampart-cert/rampart/internal/finding/catalog"
)

//go:embed frameworks/*.yaml
var builtinFS embed.FS

// Sentinel errors.
var (
	ErrFramework = errors.New("assess: invalid framework")
	ErrUnknown   = errors.New("assess: unknown framework or control")
)

// Framework is a set of controls an organization assesses itself against.
type Framework struct {
	ID          string       `yaml:"id" json:"id"`
	Version     string       `yaml:"version" json:"version"`
	Title       catalog.Text `yaml:"title" json:"title"`
	Description catalog.Text `yaml:"description" json:"description"`
	Controls    []Control    `yaml:"controls" json:"controls"`
	// File is where the framework was read from ("builtin:baseline.yaml"
	// for the shipped ones).
	File string `yaml:"-" json:"file"`
}

// Control is one requirement.
type Control struct {
	ID       string       `yaml:"id" json:"id"`
	Group    catalog.Text `yaml:"group" json:"group"`
	Title    catalog.Text `yaml:"title" json:"title"`
	Guidance catalog.Text `yaml:"guidance" json:"guidance"`
	// Levels are the security levels (1-5) of information systems the
	// control applies to.
	Levels []int `yaml:"levels" json:"levels"`
	// Checks and Families name the automatic checks (finding kinds and
	// their families, of any source) whose open findings are evidence
	// against the control. A control with neither is answered by the
	// organization alone.
	Checks     []string `yaml:"checks" json:"checks,omitempty"`
	Families   []string `yaml:"families" json:"families,omitempty"`
	References []string `yaml:"references" json:"references,omitempty"`
	Line       int      `yaml:"-" json:"-"` // line in File
}

// AppliesAt reports whether the control applies at security level lvl.
func (c Control) AppliesAt(lvl int) bool { return slices.Contains(c.Levels, lvl) }

// Automatic reports whether scans give evidence for the control.
func (c Control) Automatic() bool { return len(c.Checks) > 0 || len(c.Families) > 0 }

// Evidences reports whether a finding of checkID is evidence for c.
func (c Control) Evidences(checkID string) bool {
	if slices.Contains(c.Checks, checkID) {
		return true
	}
	fam, _, _ := strings.Cut(checkID, ".")
	return slices.Contains(c.Families, fam)
}

// Control returns the control with id.
func (f *Framework) Control(id string) (Control, bool) {
	for _, c := range f.Controls {
		if c.ID == id {
			return c, true
		}
	}
	return Control{}, false
}

// ControlsAt returns the controls that apply at security level lvl, in
// file order.
func (f *Framework) ControlsAt(lvl int) []Control {
	var out []Control
	for _, c := range f.Controls {
		if c.AppliesAt(lvl) {
			out = append(out, c)
		}
	}
	return out
}

var (
	frameworkIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`) }) // as the store keeps it
	controlIDRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`) })
)

// Catalog holds the frameworks by ID.
type Catalog struct {
	byID map[string]*Framework
}

// Get returns the framework with id.
func (c *Catalog) Get(id string) (*Framework, bool) {
	f, ok := c.byID[id]
	return f, ok
}

// All returns the frameworks sorted by ID.
func (c *Catalog) All() []*Framework {
	out := make([]*Framework, 0, len(c.byID))
	for _, f := range c.byID {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Builtin returns the frameworks shipped with Rampart.
func Builtin() ([]*Framework, error) {
	ents, err := fs.ReadDir(builtinFS, "frameworks")
	if err != nil {
		return nil, err
	}
	var out []*Framework
	for _, e := range ents {
		data, err := builtinFS.ReadFile("frameworks/" + e.Name())
		if err != nil {
			return nil, err
		}
		f, err := ParseFramework("builtin:"+e.Name(), data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// LoadFrameworks reads every *.yaml and *.yml file of dir, one framework
// per file. A missing directory is an error; an empty one gives none.
func LoadFrameworks(dir string) ([]*Framework, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("assess: frameworks: %w", err)
	}
	var out []*Framework
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		name := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("assess: frameworks: %w", err)
		}
		f, err := ParseFramework(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// NewCatalog loads the built-in frameworks and those of dir (none when dir
// is empty), validates each against kinds (the finding kinds and families
// controls name must exist; nil skips that) and refuses two frameworks
// with one ID.
func NewCatalog(dir string, kinds *catalog.Catalog) (*Catalog, error) {
	fws, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir != "" {
		more, err := LoadFrameworks(dir)
		if err != nil {
			return nil, err
		}
		fws = append(fws, more...)
	}
	c := &Catalog{byID: map[string]*Framework{}}
	for _, f := range fws {
		if err := f.Validate(kinds); err != nil {
			return nil, err
		}
		if prev, dup := c.byID[f.ID]; dup {
			return nil, fmt.Errorf("%w: %s: framework %s is already defined in %s", ErrFramework, f.File, f.ID, prev.File)
		}
		c.byID[f.ID] = f
	}
	return c, nil
}

// ParseFramework decodes one framework strictly (an unknown key is an
// error naming its file and line) and validates it without a registry.
func ParseFramework(name string, data []byte) (*Framework, error) {
	var f Framework
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s: empty file", ErrFramework, name)
		}
		return nil, fmt.Errorf("%w: %s", ErrFramework, yamlError(name, err))
	}
	f.File = name
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		for i, n := range controlNodes(&root) {
			if i < len(f.Controls) {
				f.Controls[i].Line = n.Line
			}
		}
	}
	if err := f.Validate(nil); err != nil {
		return nil, err
	}
	return &f, nil
}

// Validate checks f: its ID, both languages everywhere, unique control
// IDs, levels 1-5, and with kinds the referenced checks and families.
func (f *Framework) Validate(kinds *catalog.Catalog) error {
	at := func(line int, format string, args ...any) error {
		where := f.File
		if line > 0 {
			where = fmt.Sprintf("%s:%d", f.File, line)
		}
		return fmt.Errorf("%w: %s: %s", ErrFramework, where, fmt.Sprintf(format, args...))
	}
	if !frameworkIDRE().MatchString(f.ID) {
		return at(0, "id %q must be lower-case letters, digits, '.', '_' or '-'", f.ID)
	}
	if f.Title.VI == "" || f.Title.EN == "" {
		return at(0, "title needs vi and en")
	}
	if len(f.Controls) == 0 {
		return at(0, "no controls")
	}
	seen := map[string]int{}
	for _, c := range f.Controls {
		switch {
		case !controlIDRE().MatchString(c.ID):
			return at(c.Line, "control id %q must be 1-64 letters, digits, '.', '_' or '-'", c.ID)
		case seen[c.ID] != 0:
			return at(c.Line, "control %s is defined twice (first at line %d)", c.ID, seen[c.ID])
		case c.Title.VI == "" || c.Title.EN == "":
			return at(c.Line, "control %s: title needs vi and en", c.ID)
		case (c.Guidance.VI == "") != (c.Guidance.EN == ""):
			return at(c.Line, "control %s: guidance needs vi and en", c.ID)
		case (c.Group.VI == "") != (c.Group.EN == ""):
			return at(c.Line, "control %s: group needs vi and en", c.ID)
		case len(c.Levels) == 0:
			return at(c.Line, "control %s: levels are required (1-5)", c.ID)
		}
		seen[c.ID] = max(c.Line, 1)
		for i, l := range c.Levels {
			if l < 1 || l > 5 || slices.Contains(c.Levels[:i], l) {
				return at(c.Line, "control %s: level %d is not 1-5 or repeated", c.ID, l)
			}
		}
		for _, id := range c.Checks {
			if _, ok := kinds.Get(id); kinds != nil && !ok {
				return at(c.Line, "control %s: unknown check %s", c.ID, id)
			}
		}
		for _, fam := range c.Families {
			if kinds != nil && !kinds.HasFamily(fam) {
				return at(c.Line, "control %s: unknown check family %s", c.ID, fam)
			}
		}
	}
	return nil
}

func controlNodes(root *yaml.Node) []*yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "controls" && n.Content[i+1].Kind == yaml.SequenceNode {
			return n.Content[i+1].Content
		}
	}
	return nil
}

// yamlError rewrites yaml.v3's "yaml: unmarshal errors:\n  line 7: field x
// not found in type assess.Control" as "file:7: field x not found".
func yamlError(name string, err error) string {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	for i, m := range msgs {
		if j := strings.Index(m, " in type "); j >= 0 {
			m = m[:j]
		}
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			if num, msg, ok := strings.Cut(rest, ": "); ok {
				m = name + ":" + num + ": " + msg
			}
		} else {
			m = name + ": " + m
		}
		msgs[i] = m
	}
	return strings.Join(msgs, "; ")
}
