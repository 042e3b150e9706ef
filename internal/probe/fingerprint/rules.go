package fingerprint

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed rules/*.yaml
var builtinRules embed.FS

// ErrRules is wrapped by every error about a rules file.
var ErrRules = errors.New("fingerprint: bad rules")

// Probe kinds: the name of the parser whose facts a rule matches. A rule's
// "probe" key lists one or more of these.
const (
	KindBanner    = "banner"    // server-first bytes; facts raw, line, mysql.*, vnc.*, telnet.*
	KindHTTP      = "http"      // HTTP response; status, header.*, title, body, json.*
	KindTLS       = "tls"       // TLS handshake; tls.*
	KindRedis     = "redis"     // PING + INFO server; redis.*
	KindMemcached = "memcached" // "version"; raw
	KindMongoDB   = "mongodb"   // buildInfo / isMaster; mongo.*
	KindPostgres  = "postgresql"
	KindMSSQL     = "mssql"
	KindSMB       = "smb"
	KindRDP       = "rdp"
	KindLDAP      = "ldap"
	KindMQTT      = "mqtt"
	KindDNS       = "dns"
	KindAny       = "any" // only in rules: applies to every kind
)

var knownKinds = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		KindBanner: true, KindHTTP: true, KindTLS: true, KindRedis: true,
		KindMemcached: true, KindMongoDB: true, KindPostgres: true, KindMSSQL: true,
		KindSMB: true, KindRDP: true, KindLDAP: true, KindMQTT: true, KindDNS: true,
		KindAny: true,
	}
})

// Rules is an immutable, ordered set of fingerprint rules. It is safe for
// concurrent use.
type Rules struct {
	list   []*rule
	byKind map[string][]*rule
}

// Match is what the rules concluded about one reply.
type Match struct {
	RuleIDs []string // every rule that contributed, best first
	Service string
	Product string
	Version string
	CPE     string
	Extra   map[string]string
}

type rule struct {
	id       string
	service  string
	kinds    []string
	priority int
	seq      int // position after merging; lower runs first at equal priority
	match    []matcher
	product  template
	version  template
	cpe      template
	extra    map[string]template
	source   string // file:line, for messages
}

type matcher struct {
	field    string
	re       *regexp.Regexp
	equals   *string
	contains string
	present  *bool
	not      bool
}

// ---- YAML schema (decoded strictly) ----

type ruleFile struct {
	Rules []ruleSpec `yaml:"rules"`
}

type ruleSpec struct {
	ID          string            `yaml:"id"`
	Description string            `yaml:"description"`
	Service     string            `yaml:"service"`
	Probe       stringList        `yaml:"probe"`
	Priority    int               `yaml:"priority"`
	Match       []matcherSpec     `yaml:"match"`
	Product     string            `yaml:"product"`
	Version     string            `yaml:"version"`
	CPE         string            `yaml:"cpe"`
	Extra       map[string]string `yaml:"extra"`
}

type matcherSpec struct {
	Field    string  `yaml:"field"`
	Regex    string  `yaml:"regex"`
	Equals   *string `yaml:"equals"`
	Contains string  `yaml:"contains"`
	Present  *bool   `yaml:"present"`
	Not      bool    `yaml:"not"`
}

// stringList accepts either a scalar or a sequence of scalars.
type stringList []string

func (s *stringList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*s = []string{n.Value}
		return nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: probe: want a name or a list of names", c.Line)
			}
			out = append(out, c.Value)
		}
		*s = out
		return nil
	}
	return fmt.Errorf("line %d: probe: want a name or a list of names", n.Line)
}

var idPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`) })

// ParseRules parses one YAML rules document. name is used in messages.
func ParseRules(name string, data []byte) (*Rules, error) {
	rs, err := parseFile(name, data)
	if err != nil {
		return nil, err
	}
	return build(rs)
}

func parseFile(name string, data []byte) ([]*rule, error) {
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // empty file
		}
		return nil, fmt.Errorf("%w: %s", ErrRules, yamlError(name, err))
	}
	// Decode again as a node tree to learn where each rule starts.
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	ruleNodes := seqUnder(&root, "rules")

	out := make([]*rule, 0, len(rf.Rules))
	for i, spec := range rf.Rules {
		line := 0
		var node *yaml.Node
		if i < len(ruleNodes) {
			node = ruleNodes[i]
			line = node.Line
		}
		where := fmt.Sprintf("%s:%d", name, line)
		r, err := compileRule(spec, where, node)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// yamlError rewrites yaml.v3's messages ("yaml: unmarshal errors:\n  line
// 7: field x not found in type fingerprint.ruleSpec") as "file:7: field x
// not found".
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

func seqUnder(root *yaml.Node, key string) []*yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	v := mapValue(n, key)
	if v == nil || v.Kind != yaml.SequenceNode {
		return nil
	}
	return v.Content
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func compileRule(s ruleSpec, where string, node *yaml.Node) (*rule, error) {
	fail := func(line int, format string, args ...any) error {
		w := where
		if line > 0 {
			w = where[:strings.LastIndexByte(where, ':')] + fmt.Sprintf(":%d", line)
		}
		return fmt.Errorf("%w: %s: rule %q: %s", ErrRules, w, s.ID, fmt.Sprintf(format, args...))
	}
	if !idPattern().MatchString(s.ID) {
		return nil, fail(0, "id must match %s", idPattern())
	}
	if s.Service == "" {
		return nil, fail(0, "service is required")
	}
	if len(s.Probe) == 0 {
		return nil, fail(0, "probe is required (one of %s)", kindNames())
	}
	for _, k := range s.Probe {
		if !knownKinds()[k] {
			return nil, fail(0, "unknown probe %q (want one of %s)", k, kindNames())
		}
	}
	if len(s.Match) == 0 {
		return nil, fail(0, "match needs at least one matcher")
	}
	var matchNodes []*yaml.Node
	if v := mapValue(node, "match"); v != nil && v.Kind == yaml.SequenceNode {
		matchNodes = v.Content
	}
	r := &rule{id: s.ID, service: s.Service, kinds: s.Probe, priority: s.Priority, source: where}
	groups := map[string]bool{}
	for i, ms := range s.Match {
		line := 0
		if i < len(matchNodes) {
			line = matchNodes[i].Line
		}
		m := matcher{field: ms.Field, equals: ms.Equals, contains: ms.Contains, present: ms.Present, not: ms.Not}
		if m.field == "" {
			m.field = "raw"
		}
		n := 0
		if ms.Regex != "" {
			n++
			re, err := regexp.Compile(ms.Regex)
			if err != nil {
				return nil, fail(line, "match[%d]: regex: %v", i, err)
			}
			m.re = re
			for _, g := range re.SubexpNames() {
				if g != "" {
					groups[g] = true
				}
			}
		}
		if ms.Equals != nil {
			n++
		}
		if ms.Contains != "" {
			n++
		}
		if ms.Present != nil {
			n++
		}
		if n != 1 {
			return nil, fail(line, "match[%d]: want exactly one of regex, equals, contains, present", i)
		}
		r.match = append(r.match, m)
	}
	var err error
	if r.product, err = parseTemplate(s.Product); err != nil {
		return nil, fail(0, "product: %v", err)
	}
	if r.version, err = parseTemplate(s.Version); err != nil {
		return nil, fail(0, "version: %v", err)
	}
	if r.cpe, err = parseTemplate(s.CPE); err != nil {
		return nil, fail(0, "cpe: %v", err)
	}
	if s.CPE != "" && !strings.HasPrefix(s.CPE, "cpe:2.3:") {
		return nil, fail(0, "cpe must start with cpe:2.3:")
	}
	if len(s.Extra) > 0 {
		r.extra = make(map[string]template, len(s.Extra))
		for k, v := range s.Extra {
			t, err := parseTemplate(v)
			if err != nil {
				return nil, fail(0, "extra %s: %v", k, err)
			}
			r.extra[k] = t
		}
	}
	return r, nil
}

func kindNames() string {
	names := make([]string, 0, len(knownKinds()))
	for k := range knownKinds() {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func build(rs []*rule) (*Rules, error) {
	seen := make(map[string]string, len(rs))
	for _, r := range rs {
		if prev, ok := seen[r.id]; ok {
			return nil, fmt.Errorf("%w: %s: rule %q already defined at %s", ErrRules, r.source, r.id, prev)
		}
		seen[r.id] = r.source
	}
	for i, r := range rs {
		r.seq = i
	}
	return index(rs), nil
}

func index(rs []*rule) *Rules {
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].priority != rs[j].priority {
			return rs[i].priority > rs[j].priority
		}
		return rs[i].seq < rs[j].seq
	})
	out := &Rules{list: rs, byKind: map[string][]*rule{}}
	for _, r := range rs {
		for _, k := range r.kinds {
			out.byKind[k] = append(out.byKind[k], r)
		}
	}
	return out
}

// LoadRules reads every *.yaml and *.yml file under fsys (recursively, in
// lexical order) into one rule set. Rule IDs must be unique across files.
func LoadRules(fsys fs.FS) (*Rules, error) {
	var all []*rule
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if ext := path.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rs, err := parseFile(p, data)
		if err != nil {
			return err
		}
		all = append(all, rs...)
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrRules) {
			return nil, err
		}
		return nil, fmt.Errorf("fingerprint: load rules: %w", err)
	}
	return build(all)
}

// LoadRulesDir is LoadRules over a directory on disk.
func LoadRulesDir(dir string) (*Rules, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("fingerprint: load rules: %w", err)
	}
	rs, err := LoadRules(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return rs, nil
}

var defaultRules = sync.OnceValues(func() (*Rules, error) {
	sub, err := fs.Sub(builtinRules, "rules")
	if err != nil {
		return nil, err
	}
	return LoadRules(sub)
})

// DefaultRules returns the built-in rule set embedded in the binary. The
// result is shared and immutable.
func DefaultRules() *Rules {
	rs, err := defaultRules()
	if err != nil {
		// The embedded rules are tested; reaching this is a build defect.
		panic(err)
	}
	return rs
}

// Merge returns a new rule set holding the rules of r and other. At equal
// priority other's rules run first, and a rule of other replaces a rule of
// r with the same ID, so an analyst's directory can override or refine the
// built-in set. Neither input changes.
func (r *Rules) Merge(other *Rules) *Rules {
	if r == nil {
		r = &Rules{}
	}
	if other == nil {
		other = &Rules{}
	}
	override := make(map[string]bool, len(other.list))
	all := make([]*rule, 0, len(r.list)+len(other.list))
	for _, x := range other.byOrder() {
		override[x.id] = true
		all = append(all, cloneRule(x))
	}
	for _, x := range r.byOrder() {
		if !override[x.id] {
			all = append(all, cloneRule(x))
		}
	}
	for i, x := range all {
		x.seq = i
	}
	return index(all)
}

// Len reports how many rules the set holds.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.list)
}

func (r *Rules) byOrder() []*rule {
	rs := append([]*rule(nil), r.list...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].seq < rs[j].seq })
	return rs
}

func cloneRule(x *rule) *rule {
	c := *x
	return &c
}

// Match runs the rules for one probe kind over facts. The first matching
// rule (highest priority, then earliest) decides the service; later
// matching rules for the same service fill product, version, CPE and extra
// keys that are still empty. ok is false when no rule matched.
func (r *Rules) Match(kind string, facts map[string]string) (m Match, ok bool) {
	if r == nil {
		return m, false
	}
	try := func(list []*rule) {
		for _, x := range list {
			if ok && x.service != m.Service {
				continue
			}
			caps, hit := x.eval(facts)
			if !hit {
				continue
			}
			lookup := func(name string) string {
				if v, ok := caps[name]; ok {
					return v
				}
				return facts[name]
			}
			if !ok {
				ok = true
				m.Service = x.service
			}
			m.RuleIDs = append(m.RuleIDs, x.id)
			product := x.product.render(lookup, false)
			if m.Product == "" {
				m.Product = product
			}
			// A version or CPE comes only from a rule about the product
			// chosen (or about none): an Exchange server does not take the
			// version of the IIS it runs on.
			same := product == "" || product == m.Product
			if m.Version == "" && same {
				m.Version = x.version.render(lookup, false)
			}
			if m.CPE == "" && len(x.cpe) > 0 && same {
				m.CPE = padCPE(x.cpe.render(lookup, true))
			}
			for k, t := range x.extra {
				if v := t.render(lookup, false); v != "" {
					if m.Extra == nil {
						m.Extra = map[string]string{}
					}
					if _, dup := m.Extra[k]; !dup {
						m.Extra[k] = v
					}
				}
			}
		}
	}
	try(r.byKind[kind])
	if kind != KindAny {
		try(r.byKind[KindAny])
	}
	return m, ok
}

func (x *rule) eval(facts map[string]string) (map[string]string, bool) {
	var caps map[string]string
	for _, m := range x.match {
		v, has := facts[m.field]
		var hit bool
		switch {
		case m.present != nil:
			hit = has == *m.present
		case m.equals != nil:
			hit = has && v == *m.equals
		case m.contains != "":
			hit = has && strings.Contains(v, m.contains)
		case m.re != nil:
			if !has {
				break
			}
			sub := m.re.FindStringSubmatch(v)
			if sub == nil {
				break
			}
			hit = true
			if !m.not {
				for i, name := range m.re.SubexpNames() {
					if name != "" && i < len(sub) && sub[i] != "" {
						if caps == nil {
							caps = map[string]string{}
						}
						caps[name] = sub[i]
					}
				}
			}
		}
		if hit == m.not {
			return nil, false
		}
	}
	return caps, true
}

// ---- templates ----

// template is literal text with {{name}} placeholders. A name is a named
// capture group of the rule's regexes, or else a fact key.
type template []tmplPart

type tmplPart struct {
	lit  string
	name string // placeholder when lit == "" and name != ""
}

var namePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^{}\s|]+$`) })

func parseTemplate(s string) (template, error) {
	var t template
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			t = append(t, tmplPart{lit: s})
			break
		}
		if i > 0 {
			t = append(t, tmplPart{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unterminated {{ in %q", s)
		}
		name := strings.TrimSpace(s[i+2 : i+j])
		if !namePattern().MatchString(name) {
			return nil, fmt.Errorf("bad placeholder {{%s}}", name)
		}
		t = append(t, tmplPart{name: name})
		s = s[i+j+2:]
	}
	return t, nil
}

func (t template) render(lookup func(string) string, cpe bool) string {
	if len(t) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range t {
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v := strings.TrimSpace(lookup(p.name))
		if cpe {
			v = cpeEscape(v)
		}
		b.WriteString(v)
	}
	return strings.TrimSpace(b.String())
}

// cpeEscape quotes a value for a CPE 2.3 formatted string; an empty value
// becomes "*" (ANY).
func cpeEscape(v string) string {
	if v == "" {
		return "*"
	}
	var b strings.Builder
	for _, c := range strings.ToLower(v) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '.', c == '-':
			b.WriteRune(c)
		case c == ' ':
			b.WriteByte('_')
		case c < 0x80:
			b.WriteByte('\\')
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "*"
	}
	return b.String()
}

// padCPE completes a cpe:2.3 string to its 13 components with "*".
func padCPE(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i == 0 || s[i-1] != '\\') {
			n++
		}
	}
	for ; n < 12; n++ {
		s += ":*"
	}
	return s
}
