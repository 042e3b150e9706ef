package imports

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// Tool names an input format.
type Tool string

// The formats Parse reads.
const (
	SARIF  Tool = "sarif"  // SARIF 2.1.0 log (one JSON document)
	Nuclei Tool = "nuclei" // nuclei -jsonl output, one JSON object a line
	Nmap   Tool = "nmap"   // nmap -oX output
)

// ParseTool reads a --tool flag value, case-insensitively.
func ParseTool(s string) (Tool, error) {
	t := Tool(strings.ToLower(strings.TrimSpace(s)))
	switch t {
	case SARIF, Nuclei, Nmap:
		return t, nil
	}
	return "", fmt.Errorf("%w %q (want sarif, nuclei or nmap)", ErrUnknownTool, s)
}

// Result is one thing a tool reported about one host: a problem, or (for
// Nmap open ports) an observation.
type Result struct {
	// Line is the 1-based line of the input where the result starts: the
	// JSON line (Nuclei), the <port> or <host>-level <script> element
	// (Nmap), the result object (SARIF).
	Line     int
	Tool     Tool
	ToolName string // the tool's own name from the file: "Semgrep", "nuclei", "nmap"
	// Time is when the tool saw it, in UTC, when the file says (Nuclei's
	// timestamp, Nmap's host end time or run start, SARIF's invocation
	// end time); zero otherwise.
	Time time.Time

	Host  string // IP address or lower-case DNS name the result is about; never empty
	IP    string // IP address when known (equal to Host when Host is an address)
	Port  int    // 0 when the result is about the host, not a port
	Proto string // "tcp", "udp" or "sctp" when Port is set
	URL   string // when the result is about a URL; user:password removed

	RuleID      string // the tool's rule, template or script id: "CVE-2021-41773", "ssl-enum-ciphers"
	Title       string // one line
	Description string
	Severity    finding.Severity // always one of finding.Severities
	CVE         []string         // upper-case CVE IDs, de-duplicated, in order of appearance
	References  []string

	// Evidence holds a few small strings (keys listed in README.md), each
	// capped at MaxEvidenceBytes.
	Evidence map[string]string

	// Observation is true for a record of what exists (an open port and
	// its service) rather than a problem.
	Observation bool

	// Nmap service detection, on observations.
	Service string // "http"
	Product string // "Apache httpd"
	Version string // "2.4.49"
	CPE     string // "cpe:/a:apache:http_server:2.4.49"
}

// Limits caps what Parse reads. A zero (or negative) field takes its
// default. Going over a limit is an error, never a silent truncation.
type Limits struct {
	MaxBytes   int64 // bytes read from the input; default DefaultMaxBytes
	MaxResults int   // results returned; default DefaultMaxResults
}

// Defaults for Limits.
const (
	DefaultMaxBytes   = 64 << 20
	DefaultMaxResults = 200_000
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxResults <= 0 {
		l.MaxResults = DefaultMaxResults
	}
	return l
}

// Caps on what one Result keeps. Longer strings are cut at a UTF-8
// boundary and end in "…"; longer lists are cut and the cut is noted in
// Evidence["truncated"].
const (
	MaxTitleBytes       = 512
	MaxDescriptionBytes = 8 << 10
	MaxEvidenceBytes    = 4 << 10
	MaxEvidenceKeys     = 16
	MaxURLBytes         = 2048
	MaxShortBytes       = 256 // RuleID, ToolName, Service, Product, Version, CPE
	MaxListItems        = 32  // CVE, References
)

// maxErrors bounds the bad records reported for one file: a file with
// more is not worth reading further, and the list must not grow with the
// input.
const maxErrors = 100

// Sentinel errors; every *Error wraps one of them, so errors.Is works
// through the joined error Parse returns.
var (
	// ErrFormat: the input is not a readable file of the tool's format
	// (syntax error, wrong SARIF version, wrong root element, a DOCTYPE).
	// Parsing stopped; Parse returns no results.
	ErrFormat = errors.New("imports: malformed input")
	// ErrRecord: one record was rejected (no host, a bad value); the
	// rest of the file was read.
	ErrRecord = errors.New("imports: bad record")
	// ErrTooLarge: the input is over Limits.MaxBytes, holds more than
	// Limits.MaxResults results, or has too many bad records. Parse
	// returns no results.
	ErrTooLarge = errors.New("imports: input too large")
	// ErrUnknownTool: Parse or ParseTool was given a tool it does not read.
	ErrUnknownTool = errors.New("imports: unknown tool")
)

// Error is one problem in the input and where it is.
type Error struct {
	Line int    // 1-based; 0 when the problem is about the whole input
	Msg  string // what is wrong, for people
	Err  error  // ErrFormat, ErrRecord or ErrTooLarge
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("imports: line %d: %s", e.Line, e.Msg)
	}
	return "imports: " + e.Msg
}

// Unwrap returns the sentinel.
func (e *Error) Unwrap() error { return e.Err }

// Parse reads one file written by tool.
//
// When err is nil every record became a Result. Otherwise err is an
// errors.Join of *Error values in input order, one a problem, and its
// text is one "imports: line N: ..." line each, so a caller can refuse
// the file and show every line at once:
//
//   - only ErrRecord problems: results hold every good record, so a
//     caller may still count or preview them;
//   - an ErrFormat or ErrTooLarge problem: parsing stopped there and
//     results is nil.
//
// Parse never reads more than limits.MaxBytes (+1 to tell that the input
// is over) and does not close r.
func Parse(tool Tool, r io.Reader, limits Limits) ([]Result, error) {
	limits = limits.withDefaults()
	c := &collector{tool: tool, limits: limits}
	cr := &capReader{r: r, max: limits.MaxBytes}
	var fatal *Error
	switch tool {
	case SARIF:
		fatal = parseSARIF(cr, c)
	case Nuclei:
		fatal = parseNuclei(cr, c)
	case Nmap:
		fatal = parseNmap(cr, c)
	default:
		return nil, fmt.Errorf("%w %q (want sarif, nuclei or nmap)", ErrUnknownTool, tool)
	}
	if cr.over {
		// Whatever the decoder made of the cut, the cause is the cap.
		fatal = &Error{Msg: fmt.Sprintf("input is over %d bytes (Limits.MaxBytes)", limits.MaxBytes), Err: ErrTooLarge}
	}
	if fatal != nil {
		return nil, errors.Join(append(c.errs, fatal)...)
	}
	if len(c.errs) > 0 {
		return c.results, errors.Join(c.errs...)
	}
	return c.results, nil
}

// collector gathers the results and the bad records of one Parse.
type collector struct {
	tool     Tool
	limits   Limits
	results  []Result
	errs     []error
	toolName string
}

// add checks and caps r, then keeps it. It returns a fatal error when
// the results are over Limits.MaxResults.
func (c *collector) add(r Result) *Error {
	if len(c.results) >= c.limits.MaxResults {
		return &Error{Line: r.Line, Msg: fmt.Sprintf("more than %d results (Limits.MaxResults)", c.limits.MaxResults), Err: ErrTooLarge}
	}
	r.Tool = c.tool
	finish(&r)
	c.results = append(c.results, r)
	return nil
}

// bad records a rejected record. It returns a fatal error once there
// are too many to be worth listing.
func (c *collector) bad(line int, format string, args ...any) *Error {
	if len(c.errs) >= maxErrors {
		return &Error{Line: line, Msg: fmt.Sprintf("more than %d bad records; stopped reading", maxErrors), Err: ErrTooLarge}
	}
	c.errs = append(c.errs, &Error{Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrRecord})
	return nil
}

// formatErr is a fatal error about the shape of the input.
func formatErr(line int, format string, args ...any) *Error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrFormat}
}

// capReader lets max bytes through and fails the read that would go
// past them, so a decoder stops instead of reading a hostile stream to
// its end.
type capReader struct {
	r    io.Reader
	n    int64
	max  int64
	over bool
}

var errCapped = errors.New("imports: input over Limits.MaxBytes")

func (c *capReader) Read(p []byte) (int, error) {
	if c.over {
		return 0, errCapped
	}
	// Read up to one byte past max: seeing it proves the input is over.
	if room := c.max + 1 - c.n; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		c.over = true
		return n - int(c.n-c.max), errCapped
	}
	return n, err
}
