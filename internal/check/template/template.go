// Package template runs declarative checks written in YAML, so the national
// CERT can answer a new critical vulnerability with a file dropped into the
// templates directory: no rebuild, no restart beyond a reload.
//
// A template sends HTTP requests or raw TCP payloads to a service, and
// fires when its matchers (status codes, words, regular expressions,
// headers, JSON fields) agree; extractors pull versions or other values
// into the evidence. The format is documented in README.md beside this
// file; Parse rejects unknown keys with the file and line.
package template

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Family is the default family of templates.
const Family = "template"

// ErrTemplate is wrapped by every template error.
var ErrTemplate = errors.New("template: invalid")

// Limits keep a template from turning the scanner into a weapon.
const (
	maxRequests = 10
	maxBody     = 64 << 10
	maxRead     = 1 << 20
	maxFileSize = 256 << 10
)

// Template is one parsed check file.
type Template struct {
	ID          string     `yaml:"id"`
	Family      string     `yaml:"family"`
	Severity    string     `yaml:"severity"`
	Title       check.Text `yaml:"title"`
	Description check.Text `yaml:"description"`
	Remediation check.Text `yaml:"remediation"`
	References  []string   `yaml:"references"`
	CVE         []string   `yaml:"cve"`
	KEV         bool       `yaml:"kev"`
	AppliesTo   Applies    `yaml:"applies"`
	Requests    []Request  `yaml:"requests"`

	file string
	meta check.Meta
}

// Applies selects the service targets a template runs on: any listed
// service, or any listed port; Products narrows further when given.
type Applies struct {
	Services []string `yaml:"services"`
	Ports    []uint16 `yaml:"ports"`
	Products []string `yaml:"products"`
	TLS      *bool    `yaml:"tls"`
}

// Request is one HTTP request or TCP exchange.
type Request struct {
	Type    string            `yaml:"type"` // http (default) or tcp
	Method  string            `yaml:"method"`
	Path    string            `yaml:"path"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// TCP: bytes to send (YAML escapes such as "\r\n" and "\x00" work in
	// double-quoted strings) and how much of the reply to read.
	Send string `yaml:"send"`
	Read int    `yaml:"read"`
	// MatchersCondition is "and" (default: every matcher) or "or".
	MatchersCondition string      `yaml:"matchers-condition"`
	Matchers          []Matcher   `yaml:"matchers"`
	Extractors        []Extractor `yaml:"extractors"`
}

// Matcher tests one part of a reply.
type Matcher struct {
	Type            string   `yaml:"type"` // status, word, regex, header, json
	Part            string   `yaml:"part"` // body (default), header, all
	Status          []int    `yaml:"status"`
	Words           []string `yaml:"words"`
	Regex           []string `yaml:"regex"`
	Name            string   `yaml:"name"` // header: the header name; json: the field path a.b.0.c
	Equals          string   `yaml:"equals"`
	Condition       string   `yaml:"condition"` // words/regex: "or" (default) or "and"
	CaseInsensitive bool     `yaml:"case-insensitive"`
	Negative        bool     `yaml:"negative"`

	res []*regexp.Regexp
}

// Extractor pulls a value into the evidence.
type Extractor struct {
	Type  string `yaml:"type"` // regex or json
	Name  string `yaml:"name"`
	Part  string `yaml:"part"`
	Regex string `yaml:"regex"`
	Group int    `yaml:"group"`
	Path  string `yaml:"path"` // json

	re *regexp.Regexp
}

var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9]+\.[a-z0-9][a-z0-9.-]*$`) })

// Parse reads one template. name is used in errors ("file.yaml:12: ...").
func Parse(name string, data []byte) (*Template, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes", ErrTemplate, name, maxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Template
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrTemplate, name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	t.file = name
	if err := t.compile(); err != nil {
		return nil, fmt.Errorf("%w: %s: %s: %v", ErrTemplate, name, t.ID, err)
	}
	return &t, nil
}

func (t *Template) compile() error {
	if !idRE().MatchString(t.ID) {
		return fmt.Errorf("id %q must look like family.name in lower case", t.ID)
	}
	if t.Family == "" {
		t.Family = Family
	}
	sev, err := finding.ParseSeverity(t.Severity)
	if err != nil {
		return err
	}
	t.meta = check.Meta{ID: t.ID, Family: t.Family, Severity: sev, Title: t.Title, Description: t.Description,
		Remediation: t.Remediation, References: append(append([]string{}, t.References...), t.CVE...)}
	if err := t.meta.Validate(); err != nil {
		return err
	}
	if len(t.AppliesTo.Services) == 0 && len(t.AppliesTo.Ports) == 0 {
		return errors.New("applies needs services or ports")
	}
	if len(t.Requests) == 0 || len(t.Requests) > maxRequests {
		return fmt.Errorf("a template has 1 to %d requests", maxRequests)
	}
	for i := range t.Requests {
		if err := t.Requests[i].compile(); err != nil {
			return fmt.Errorf("request %d: %w", i+1, err)
		}
	}
	return nil
}

func (r *Request) compile() error {
	if r.Type == "" {
		r.Type = "http"
	}
	switch r.Type {
	case "http":
		if r.Method == "" {
			r.Method = "GET"
		}
		r.Method = strings.ToUpper(r.Method)
		switch r.Method {
		case "GET", "HEAD", "POST", "OPTIONS":
		default:
			return fmt.Errorf("method %s: only GET, HEAD, POST and OPTIONS (checks must not change targets)", r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			return fmt.Errorf("path %q must start with /", r.Path)
		}
		if len(r.Body) > maxBody {
			return errors.New("body too large")
		}
	case "tcp":
		if r.Send == "" && r.Read == 0 {
			return errors.New("tcp needs send or read")
		}
		if len(r.Send) > maxBody {
			return errors.New("send too large")
		}
	default:
		return fmt.Errorf("type %q: http or tcp", r.Type)
	}
	if r.Read <= 0 || r.Read > maxRead {
		r.Read = 64 << 10
	}
	switch r.MatchersCondition {
	case "":
		r.MatchersCondition = "and"
	case "and", "or":
	default:
		return fmt.Errorf("matchers-condition %q: and or or", r.MatchersCondition)
	}
	if len(r.Matchers) == 0 {
		return errors.New("at least one matcher")
	}
	for i := range r.Matchers {
		if err := r.Matchers[i].compile(r.Type); err != nil {
			return fmt.Errorf("matcher %d: %w", i+1, err)
		}
	}
	for i := range r.Extractors {
		if err := r.Extractors[i].compile(); err != nil {
			return fmt.Errorf("extractor %d: %w", i+1, err)
		}
	}
	return nil
}

func (m *Matcher) compile(reqType string) error {
	if m.Part == "" {
		m.Part = "body"
	}
	switch m.Part {
	case "body", "header", "all":
	default:
		return fmt.Errorf("part %q: body, header or all", m.Part)
	}
	switch m.Condition {
	case "":
		m.Condition = "or"
	case "and", "or":
	default:
		return fmt.Errorf("condition %q", m.Condition)
	}
	switch m.Type {
	case "status":
		if reqType != "http" || len(m.Status) == 0 {
			return errors.New("status matchers need an http request and status codes")
		}
	case "word":
		if len(m.Words) == 0 {
			return errors.New("word matcher without words")
		}
	case "regex":
		if len(m.Regex) == 0 {
			return errors.New("regex matcher without regex")
		}
	case "header":
		if reqType != "http" || m.Name == "" {
			return errors.New("header matchers need an http request and a name")
		}
	case "json":
		if m.Name == "" {
			return errors.New("json matchers need name (a field path)")
		}
	default:
		return fmt.Errorf("type %q: status, word, regex, header or json", m.Type)
	}
	for _, s := range m.Regex {
		if m.CaseInsensitive {
			s = "(?i)" + s
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return fmt.Errorf("regex %q: %v", s, err)
		}
		m.res = append(m.res, re)
	}
	return nil
}

func (e *Extractor) compile() error {
	if e.Name == "" {
		return errors.New("extractor needs a name")
	}
	if e.Part == "" {
		e.Part = "body"
	}
	switch e.Type {
	case "regex":
		re, err := regexp.Compile(e.Regex)
		if err != nil {
			return fmt.Errorf("regex %q: %v", e.Regex, err)
		}
		if e.Group > re.NumSubexp() {
			return fmt.Errorf("group %d but the regex has %d", e.Group, re.NumSubexp())
		}
		e.re = re
	case "json":
		if e.Path == "" {
			return errors.New("json extractor needs path")
		}
	default:
		return fmt.Errorf("type %q: regex or json", e.Type)
	}
	return nil
}

// File is where the template came from.
func (t *Template) File() string { return t.file }

// LoadDir parses every .yaml and .yml file under dir (recursively). It
// returns all templates that parse and every error, so `checks lint`
// reports them all at once.
func LoadDir(dir string) ([]*Template, []error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, []error{err}
	}
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS is LoadDir over a file system (the embedded shipped templates);
// name prefixes the paths in errors.
func LoadFS(fsys fs.FS, name string) ([]*Template, []error) {
	var ts []*Template
	var errs []error
	seen := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			return nil
		}
		full := filepath.Join(name, path)
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		t, err := Parse(full, data)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if prev, dup := seen[t.ID]; dup {
			errs = append(errs, fmt.Errorf("%w: %s: id %s already defined in %s", ErrTemplate, full, t.ID, prev))
			return nil
		}
		seen[t.ID] = full
		ts = append(ts, t)
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].ID < ts[j].ID })
	return ts, errs
}
