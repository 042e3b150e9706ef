package archtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

const module = "github.com/rampart-cert/rampart"

// Patterns name packages: "internal/x" is that package of the module,
// "internal/x/..." it and every package below; a path with a dot in its
// first element is another module's ("github.com/jackc/pgx/..."); anything
// else is the standard library's ("database/sql").

// domain packages hold the model and its rules. They use the standard
// library, each other and domainAllow only: imports point inward (DESIGN.md).
// A future entry may match nothing yet.
var domain = []struct {
	pattern string
	future  bool
}{
	{"internal/org", false},
	{"internal/asset", false},
	{"internal/auth", false},
	{"internal/finding/...", false}, // finding and its catalog
	{"internal/vulndb", false},
	{"internal/target", false},
	{"internal/imports/...", false},
	{"internal/intel/...", false},
}

// domainAllow is everything outside the standard library that a domain
// package may reach, and why.
var domainAllow = map[string]string{
	"golang.org/x/net/idna":       "asset: internationalized names are kept as A-labels",
	"golang.org/x/text/...":       "the Unicode tables golang.org/x/net/idna needs",
	"golang.org/x/crypto/argon2":  "auth: password hashes",
	"golang.org/x/crypto/blake2b": "used by argon2",
	"golang.org/x/sys/cpu":        "used by golang.org/x/crypto for CPU features",

	"github.com/gaissmai/bart/...": "intel/match: prefix table for address indicators",
}

// storage is the database and its drivers.
var storage = map[string]string{
	"internal/store/...":              "storage is an adapter; only the services and faces that load and save use it",
	"database/sql/...":                "SQL belongs to internal/store/sqlstore",
	"github.com/jackc/pgx/...":        "the PostgreSQL driver belongs to internal/store/sqlstore",
	"modernc.org/sqlite/...":          "the SQLite driver belongs to internal/store/sqlstore",
	"github.com/mattn/go-sqlite3/...": "a cgo SQLite driver: none is used",
}

// messaging is the queue and its transport.
var messaging = map[string]string{
	"internal/queue/...":     "jobs and events move between processes through the control plane and the workers, not inside a check or a rule",
	"github.com/nats-io/...": "NATS belongs to internal/queue/natsq",
}

// dataPlane is the code that touches targets: the port scanner, the
// fingerprints, the checks and the worker that runs them.
var dataPlane = map[string]string{
	"internal/probe/...":  "probes send packets to targets: only the engine and the checks use them",
	"internal/engine":     "the engine runs scans: only a worker (or `rampart scan`) links it",
	"internal/worker/...": "the worker is the data plane: the control plane talks to it over the queue",
	"internal/check/...":  "checks run on workers; the console reads finding kinds from the finding catalog",
}

type rule struct {
	from []string          // patterns of the packages the rule is about
	deny map[string]string // pattern → why it must not be reached
}

var rules = []rule{
	{from: domainPatterns(), deny: merge(storage, messaging)},
	{from: []string{"internal/check/...", "internal/probe/...", "internal/engine"}, deny: merge(storage, messaging)},
	{from: []string{"internal/worker/..."}, deny: storage},
	{from: []string{"internal/web/...", "internal/api/...", "internal/report/...", "internal/notify/...", "internal/assess/...", "internal/scan",
		"internal/findings/...", "internal/events/...", "internal/backup/...", "internal/monitor/..."}, deny: dataPlane},
	{from: []string{"internal/scan/scanjob"}, deny: merge(dataPlane, storage)},
	{from: []string{"internal/probe/..."}, deny: map[string]string{
		"internal/check/...":  "probes are the bottom layer: checks use probes, not the reverse",
		"internal/engine":     "probes are the bottom layer: the engine uses probes, not the reverse",
		"internal/worker/...": "probes are the bottom layer",
	}},
	{from: []string{"internal/check/..."}, deny: map[string]string{
		"internal/engine":     "the engine runs checks; a check does not run scans",
		"internal/worker/...": "the worker runs checks; a check does not take jobs",
	}},
	{from: []string{"internal/engine"}, deny: map[string]string{
		"internal/worker/...": "the worker drives the engine, not the reverse",
	}},
}

func TestDomainReachesOnlyStdAndAllowList(t *testing.T) {
	for _, v := range loadGraph(t).domainViolations() {
		t.Error(v)
	}
}

func TestLayersDoNotReachDenied(t *testing.T) {
	for _, v := range loadGraph(t).ruleViolations(rules) {
		t.Error(v)
	}
}

// domainViolations lists what domain packages reach beyond the standard
// library, each other and domainAllow.
func (g *graph) domainViolations() []string {
	var out []string
	for _, d := range domain {
		pkgs := g.match(d.pattern)
		if len(pkgs) == 0 && !d.future {
			out = append(out, "domain pattern "+d.pattern+" matches no package")
		}
		for _, p := range pkgs {
			for _, dep := range g.deps(p) {
				if g.std[dep] || isDomain(dep) {
					continue
				}
				if _, ok := allowedBy(domainAllow, dep); ok {
					continue
				}
				out = append(out, fmt.Sprintf("%s reaches %s (%s): a domain package uses the standard library, other domain packages and the allow-list only",
					rel(p), rel(dep), g.chain(p, dep)))
			}
		}
	}
	return out
}

// ruleViolations lists, for every rule, what its packages reach that it
// denies.
func (g *graph) ruleViolations(rules []rule) []string {
	var out []string
	for _, r := range rules {
		for _, from := range r.from {
			pkgs := g.match(from)
			if len(pkgs) == 0 && !isFuture(from) {
				out = append(out, "rule pattern "+from+" matches no package")
			}
			for _, p := range pkgs {
				for _, dep := range g.deps(p) {
					// A layer may use its own packages (a check family
					// its helpers), however the deny-list names them.
					if why, ok := allowedBy(r.deny, dep); ok && !matches(from, dep) {
						out = append(out, fmt.Sprintf("%s must not reach %s (%s): %s", rel(p), rel(dep), g.chain(p, dep), why))
					}
				}
			}
		}
	}
	return out
}

// TestRulesBite runs the rules on a made-up graph with a violation of each
// kind, reached through a helper, so a rule that stops biting fails here.
func TestRulesBite(t *testing.T) {
	m := func(p string) string { return abs(p) }
	g := &graph{std: map[string]bool{"C": true, "database/sql": true, "net": true}, imports: map[string][]string{
		m("internal/org"):            {m("internal/util"), "net"},
		m("internal/util"):           {m("internal/store/sqlstore")},
		m("internal/store/sqlstore"): {"database/sql", "modernc.org/sqlite"},
		m("internal/web"):            {m("internal/scan")},
		m("internal/scan"):           {m("internal/worker")},
		m("internal/worker"):         {m("internal/engine"), m("internal/store")},
		m("internal/engine"):         {m("internal/probe/portscan")},
		m("internal/check/tls"):      {m("internal/check"), m("internal/probe/tlsprobe")},
	}}
	for p := range g.imports {
		if strings.HasPrefix(p, module) {
			g.module = append(g.module, p)
		}
	}
	sort.Strings(g.module)
	got := strings.Join(append(g.domainViolations(), g.ruleViolations(rules)...), "\n")
	for _, want := range []string{
		"internal/org reaches internal/util (internal/org → internal/util)",
		"internal/org reaches modernc.org/sqlite (internal/org → internal/util → internal/store/sqlstore → modernc.org/sqlite)",
		"internal/org must not reach database/sql (internal/org → internal/util → internal/store/sqlstore → database/sql): SQL belongs",
		"internal/web must not reach internal/engine (internal/web → internal/scan → internal/worker → internal/engine): the engine runs scans",
		"internal/scan must not reach internal/probe/portscan",
		"internal/worker must not reach internal/store (internal/worker → internal/store)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no violation %q in:\n%s", want, got)
		}
	}
	for _, not := range []string{"reaches net", "reaches C", "internal/check/tls must not reach internal/check ", "internal/check/tls must not reach internal/probe"} {
		if strings.Contains(got, not) {
			t.Errorf("violation %q reported:\n%s", not, got)
		}
	}
}

// TestGraphIsRead guards the guard: an empty or misread graph would let
// every rule pass.
func TestGraphIsRead(t *testing.T) {
	g := loadGraph(t)
	for _, c := range []struct{ from, to string }{
		{"cmd/rampart", "internal/store/sqlstore"},
		{"cmd/rampart", "internal/engine"},
		{"internal/worker", "internal/probe/portscan"},
		{"internal/store/sqlstore", "database/sql"},
	} {
		if !slices.Contains(g.deps(abs(c.from)), abs(c.to)) {
			t.Errorf("the graph says %s does not reach %s", c.from, c.to)
		}
	}
}

// graph is the import graph of the module's packages and all they reach.
type graph struct {
	std     map[string]bool
	imports map[string][]string
	module  []string // the module's own packages, sorted
}

func loadGraph(t *testing.T) *graph {
	t.Helper()
	g, err := readGraph()
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// readGraph runs go list once per test binary.
var readGraph = sync.OnceValues(func() (*graph, error) {
	// go test puts the go command of the toolchain that runs the test
	// first on PATH; GOROOT/bin is the fallback.
	gotool, err := exec.LookPath("go")
	if err != nil {
		gotool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gotool, "list", "-deps", "-f", "{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}", "./...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.Bytes())
	}
	// "C" is cgo, which net and os/user use when it is enabled.
	g := &graph{std: map[string]bool{"C": true}, imports: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("go list line %q", sc.Text())
		}
		g.std[f[0]] = f[1] == "true"
		g.imports[f[0]] = strings.Fields(f[2])
		if f[0] == module || strings.HasPrefix(f[0], module+"/") {
			g.module = append(g.module, f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sort.Strings(g.module)
	return g, nil
})

// match lists the module's packages a pattern names.
func (g *graph) match(pattern string) []string {
	var out []string
	for _, p := range g.module {
		if matches(pattern, p) {
			out = append(out, p)
		}
	}
	return out
}

// deps lists every package p reaches, sorted.
func (g *graph) deps(p string) []string {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(q string) {
		for _, i := range g.imports[q] {
			if !seen[i] {
				seen[i] = true
				walk(i)
			}
		}
	}
	walk(p)
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// chain is a shortest import path from p to dep, for the message.
func (g *graph) chain(p, dep string) string {
	prev := map[string]string{p: ""}
	queue := []string{p}
	for len(queue) > 0 {
		q := queue[0]
		queue = queue[1:]
		if q == dep {
			var path []string
			for x := dep; x != ""; x = prev[x] {
				path = append(path, rel(x))
			}
			slices.Reverse(path)
			return strings.Join(path, " → ")
		}
		for _, i := range g.imports[q] {
			if _, ok := prev[i]; !ok {
				prev[i] = q
				queue = append(queue, i)
			}
		}
	}
	return "no path"
}

// matches reports whether pattern names the package path.
func matches(pattern, path string) bool {
	pattern = abs(pattern)
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// allowedBy returns the reason of the first pattern of m that names path.
func allowedBy(m map[string]string, path string) (string, bool) {
	for pattern, why := range m {
		if matches(pattern, path) {
			return why, true
		}
	}
	return "", false
}

func isDomain(path string) bool {
	for _, d := range domain {
		if matches(d.pattern, path) {
			return true
		}
	}
	return false
}

func isFuture(pattern string) bool {
	for _, d := range domain {
		if d.pattern == pattern {
			return d.future
		}
	}
	return false
}

func domainPatterns() []string {
	var out []string
	for _, d := range domain {
		out = append(out, d.pattern)
	}
	return out
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// abs turns a module-relative pattern into an import path.
func abs(p string) string {
	if p == "internal" || strings.HasPrefix(p, "internal/") || strings.HasPrefix(p, "cmd/") || strings.HasPrefix(p, "bench/") {
		return module + "/" + p
	}
	return p
}

// rel shortens the module's import paths for messages.
func rel(p string) string { return strings.TrimPrefix(p, module+"/") }
