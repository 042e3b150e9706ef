package imports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// The parts of a SARIF 2.1.0 log that we read. Names follow the spec
// (sarif-v2.1.0, §3).
type (
	sarifText struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown"`
	}
	sarifMessage struct {
		Text      string   `json:"text"`
		Markdown  string   `json:"markdown"`
		ID        string   `json:"id"`
		Arguments []string `json:"arguments"`
	}
	sarifRule struct {
		ID                   string               `json:"id"`
		Name                 string               `json:"name"`
		ShortDescription     *sarifText           `json:"shortDescription"`
		FullDescription      *sarifText           `json:"fullDescription"`
		HelpURI              string               `json:"helpUri"`
		MessageStrings       map[string]sarifText `json:"messageStrings"`
		DefaultConfiguration *struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
		Properties sarifProps `json:"properties"`
	}
	sarifTool struct {
		Driver struct {
			Name  string      `json:"name"`
			Rules []sarifRule `json:"rules"`
		} `json:"driver"`
	}
	sarifArtifactLocation struct {
		URI       string `json:"uri"`
		URIBaseID string `json:"uriBaseId"`
		Index     *int   `json:"index"`
	}
	sarifArtifact struct {
		Location sarifArtifactLocation `json:"location"`
	}
	sarifLocation struct {
		PhysicalLocation *struct {
			ArtifactLocation *sarifArtifactLocation `json:"artifactLocation"`
			Region           *struct {
				Snippet *sarifText `json:"snippet"`
			} `json:"region"`
		} `json:"physicalLocation"`
	}
	sarifResult struct {
		RuleID    string `json:"ruleId"`
		RuleIndex *int   `json:"ruleIndex"`
		Rule      *struct {
			ID    string `json:"id"`
			Index *int   `json:"index"`
		} `json:"rule"`
		Kind       string          `json:"kind"`
		Level      string          `json:"level"`
		Message    sarifMessage    `json:"message"`
		Locations  []sarifLocation `json:"locations"`
		WebRequest *struct {
			Method string `json:"method"`
			Target string `json:"target"`
		} `json:"webRequest"`
		WebResponse *struct {
			StatusCode int `json:"statusCode"`
		} `json:"webResponse"`
		Suppressions []struct {
			Status string `json:"status"`
		} `json:"suppressions"`
		Properties sarifProps `json:"properties"`
	}
)

// sarifProps is a SARIF property bag; values are read on demand.
type sarifProps map[string]json.RawMessage

// str returns a string or number property as a string.
func (p sarifProps) str(key string) string {
	raw, ok := p[key]
	if !ok {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	if b, err := strconv.ParseBool(string(raw)); err == nil {
		return strconv.FormatBool(b)
	}
	return ""
}

// tags returns the "tags" property's strings.
func (p sarifProps) tags() []string {
	var tags []string
	if raw, ok := p["tags"]; ok && json.Unmarshal(raw, &tags) != nil {
		return nil
	}
	return tags
}

// sarifRuleInfo is a rule read once per run and shared by its results.
type sarifRuleInfo struct {
	id, title, description, helpURI, level string
	severity                               finding.Severity // from security-severity; "" when absent
	cve                                    []string
	messages                               map[string]sarifText
}

// sarifRun holds one run while its results are read; results are
// converted at the end of the run because "tool" and "artifacts" may
// come after "results" in the object.
type sarifRun struct {
	line      int
	toolName  string
	rules     []sarifRuleInfo
	byID      map[string]int
	artifacts []sarifArtifact
	bases     map[string]sarifArtifactLocation
	time      time.Time // invocations[0].endTimeUtc, else startTimeUtc
	pending   []sarifPending
}

type sarifPending struct {
	line int
	res  sarifResult
}

// jsonStream walks a JSON document token by token and knows the line of
// every offset, so results can be reported by line.
type jsonStream struct {
	dec   *json.Decoder
	data  []byte
	off   int // lineAt's memory: offset and line last counted to
	line  int
	final int // line of the end of the input
}

func (s *jsonStream) lineAt(off int64) int {
	o := int(min(max(off, 0), int64(len(s.data))))
	if o < s.off {
		s.off, s.line = 0, 1
	}
	s.line += bytes.Count(s.data[s.off:o], []byte{'\n'})
	s.off = o
	return s.line
}

// nextLine is the line where the next value starts.
func (s *jsonStream) nextLine() int {
	o := s.dec.InputOffset()
	for o < int64(len(s.data)) {
		switch s.data[o] {
		case ' ', '\t', '\r', '\n', ',', ':':
			o++
			continue
		}
		break
	}
	return s.lineAt(o)
}

// fail turns a decoder error into a fatal error at its line.
func (s *jsonStream) fail(what string, err error) *Error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, errCapped):
		return &Error{Msg: "input over Limits.MaxBytes", Err: ErrTooLarge} // replaced by Parse
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return formatErr(s.final, "%s: unexpected end of input (truncated file?)", what)
	case errors.As(err, &se):
		return formatErr(s.lineAt(se.Offset), "%s: bad JSON: %s", what, jsonErrText(err))
	case errors.As(err, &te):
		return formatErr(s.lineAt(te.Offset), "%s: %s", what, jsonErrText(err))
	}
	return formatErr(s.nextLine(), "%s: %s", what, jsonErrText(err))
}

func (s *jsonStream) open(want json.Delim, what string) *Error {
	line := s.nextLine()
	tok, err := s.dec.Token()
	if err != nil {
		return s.fail(what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		kind := "an object"
		if want == '[' {
			kind = "a list"
		}
		return formatErr(line, "%s is not %s", what, kind)
	}
	return nil
}

// close reads the ']' or '}' that ends the current list or object.
func (s *jsonStream) close(what string) *Error {
	if _, err := s.dec.Token(); err != nil {
		return s.fail(what, err)
	}
	return nil
}

func (s *jsonStream) key(what string) (string, *Error) {
	tok, err := s.dec.Token()
	if err != nil {
		return "", s.fail(what, err)
	}
	k, _ := tok.(string)
	return k, nil
}

func (s *jsonStream) decode(what string, v any) *Error {
	if err := s.dec.Decode(v); err != nil {
		return s.fail(what, err)
	}
	return nil
}

func (s *jsonStream) skip(what string) *Error {
	var raw json.RawMessage
	return s.decode(what, &raw)
}

func parseSARIF(r io.Reader, c *collector) *Error {
	data, err := io.ReadAll(r)
	if err != nil {
		if errors.Is(err, errCapped) {
			return nil // Parse reports the cap
		}
		return formatErr(0, "read: %v", err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	s := &jsonStream{dec: json.NewDecoder(bytes.NewReader(data)), data: data, line: 1}
	s.final = s.lineAt(int64(len(data)))
	if len(bytes.TrimSpace(data)) == 0 {
		return formatErr(0, "empty input: not a SARIF log")
	}
	if e := s.open('{', "SARIF log"); e != nil {
		return e
	}
	var version string
	sawVersion, sawRuns := false, false
	for s.dec.More() {
		k, e := s.key("SARIF log")
		if e != nil {
			return e
		}
		switch k {
		case "version":
			line := s.nextLine()
			if e := s.decode("version", &version); e != nil {
				return e
			}
			if version != "2.1.0" {
				return formatErr(line, "SARIF version %q: only SARIF 2.1.0 is read", clip(version, 40))
			}
			sawVersion = true
		case "runs":
			sawRuns = true
			if e := s.open('[', "runs"); e != nil {
				return e
			}
			for s.dec.More() {
				if e := parseSARIFRun(s, c); e != nil {
					return e
				}
			}
			if e := s.close("runs"); e != nil {
				return e
			}
		default:
			if e := s.skip(k); e != nil {
				return e
			}
		}
	}
	if e := s.close("SARIF log"); e != nil {
		return e
	}
	if _, err := s.dec.Token(); err != io.EOF {
		return formatErr(s.nextLine(), "data after the end of the SARIF log")
	}
	if !sawVersion {
		return formatErr(1, `no "version": not a SARIF 2.1.0 log`)
	}
	if !sawRuns {
		return formatErr(1, `no "runs": not a SARIF 2.1.0 log`)
	}
	return nil
}

func parseSARIFRun(s *jsonStream, c *collector) *Error {
	run := &sarifRun{line: s.nextLine()}
	if e := s.open('{', "run"); e != nil {
		return e
	}
	var tool *sarifTool
	for s.dec.More() {
		k, e := s.key("run")
		if e != nil {
			return e
		}
		switch k {
		case "tool":
			tool = new(sarifTool)
			if e := s.decode("run.tool", tool); e != nil {
				return e
			}
		case "artifacts":
			if e := s.decode("run.artifacts", &run.artifacts); e != nil {
				return e
			}
		case "invocations":
			var raw json.RawMessage
			if e := s.decode("run.invocations", &raw); e != nil {
				return e
			}
			run.time = sarifInvocationTime(raw)
		case "originalUriBaseIds":
			if e := s.decode("run.originalUriBaseIds", &run.bases); e != nil {
				return e
			}
		case "results":
			if e := s.open('[', "run.results"); e != nil {
				return e
			}
			for s.dec.More() {
				// Every pending result becomes a result or a bad record,
				// so this bounds memory; add checks MaxResults exactly.
				if len(c.results)+len(run.pending) >= c.limits.MaxResults+maxErrors {
					return &Error{Line: s.nextLine(), Msg: fmt.Sprintf("more than %d results (Limits.MaxResults)", c.limits.MaxResults), Err: ErrTooLarge}
				}
				p := sarifPending{line: s.nextLine()}
				if err := s.dec.Decode(&p.res); err != nil {
					var te *json.UnmarshalTypeError
					if !errors.As(err, &te) {
						return s.fail("result", err)
					}
					// The decoder read the whole value; only this result is bad.
					if e := c.bad(p.line, "result: %s", jsonErrText(err)); e != nil {
						return e
					}
					continue
				}
				if !sarifSkipped(&p.res) {
					run.pending = append(run.pending, p)
				}
			}
			if e := s.close("run.results"); e != nil {
				return e
			}
		default:
			if e := s.skip("run." + k); e != nil {
				return e
			}
		}
	}
	if e := s.close("run"); e != nil {
		return e
	}
	if tool == nil {
		return formatErr(run.line, `run has no "tool": not a SARIF 2.1.0 log`)
	}
	run.setTool(tool)
	for _, p := range run.pending {
		res, keep, err := run.result(&p.res)
		if err != nil {
			if e := c.bad(p.line, "%v", err); e != nil {
				return e
			}
			continue
		}
		if !keep {
			continue
		}
		res.Line = p.line
		res.Time = run.time
		if e := c.add(res); e != nil {
			return e
		}
	}
	return nil
}

// sarifInvocationTime is the end time of the run's first invocation,
// else its start time. A time of the wrong type or shape is no problem
// with the results: it leaves the time zero.
func sarifInvocationTime(raw json.RawMessage) time.Time {
	var invs []struct {
		Start json.RawMessage `json:"startTimeUtc"`
		End   json.RawMessage `json:"endTimeUtc"`
	}
	if json.Unmarshal(raw, &invs) != nil || len(invs) == 0 {
		return time.Time{}
	}
	for _, raw := range []json.RawMessage{invs[0].End, invs[0].Start} {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		if t := rfc3339Time(s); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// setTool reads the driver's rules once; their text is cleaned here so
// that every result shares the same strings.
func (run *sarifRun) setTool(t *sarifTool) {
	run.toolName = oneLine(t.Driver.Name, MaxShortBytes)
	if run.toolName == "" {
		run.toolName = "sarif"
	}
	run.rules = make([]sarifRuleInfo, len(t.Driver.Rules))
	run.byID = make(map[string]int, len(t.Driver.Rules))
	for i, r := range t.Driver.Rules {
		info := sarifRuleInfo{id: oneLine(r.ID, MaxShortBytes), helpURI: oneLine(r.HelpURI, MaxURLBytes), messages: r.MessageStrings}
		if r.ShortDescription != nil {
			info.title = oneLine(r.ShortDescription.Text, MaxTitleBytes)
		}
		if info.title == "" {
			info.title = oneLine(r.Name, MaxTitleBytes)
		}
		if r.FullDescription != nil {
			info.description = text(r.FullDescription.Text, MaxDescriptionBytes)
		}
		if r.DefaultConfiguration != nil {
			info.level = r.DefaultConfiguration.Level
		}
		info.severity, _ = severityFromScore(r.Properties.str("security-severity"))
		info.cve = addCVEs(nil, r.ID, r.Name)
		info.cve = addCVEs(info.cve, r.Properties.tags()...)
		run.rules[i] = info
		if _, dup := run.byID[r.ID]; !dup {
			run.byID[r.ID] = i
		}
	}
}

// result converts one SARIF result; keep is false for results that are
// not problems (kind pass or notApplicable, an accepted suppression).
func (run *sarifRun) result(sr *sarifResult) (r Result, keep bool, err error) {
	if sarifSkipped(sr) {
		return r, false, nil
	}
	rule, err := run.rule(sr)
	if err != nil {
		return r, false, err
	}
	r.ToolName = run.toolName
	r.RuleID = sr.RuleID
	if r.RuleID == "" && sr.Rule != nil {
		r.RuleID = sr.Rule.ID
	}
	if r.RuleID == "" {
		r.RuleID = rule.id
	}
	if r.RuleID == "" {
		return r, false, errors.New("result has no ruleId")
	}

	// Where: the first location with an http(s) URI, else the web request.
	firstURI := ""
	found := false
	for _, loc := range sr.Locations {
		if loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation == nil {
			continue
		}
		uri := run.resolve(*loc.PhysicalLocation.ArtifactLocation, 0)
		if firstURI == "" {
			firstURI = uri
		}
		t, ok, err := parseWebURL(uri)
		if err != nil {
			return r, false, err
		}
		if ok {
			r.Host, r.IP, r.Port, r.URL = t.host, t.ip, t.port, t.url
			if reg := loc.PhysicalLocation.Region; reg != nil && reg.Snippet != nil {
				r.Evidence = map[string]string{"snippet": reg.Snippet.Text}
			}
			found = true
			break
		}
	}
	if !found && sr.WebRequest != nil {
		t, ok, err := parseWebURL(sr.WebRequest.Target)
		if err != nil {
			return r, false, err
		}
		if ok {
			r.Host, r.IP, r.Port, r.URL = t.host, t.ip, t.port, t.url
			found = true
		}
	}
	if !found {
		if firstURI != "" {
			return r, false, fmt.Errorf("no host: SARIF results about source files are not internet-facing findings (location %q)", clip(firstURI, 200))
		}
		return r, false, errors.New("no host: the result has no http(s) location or web request")
	}
	r.Proto = "tcp"

	// What.
	msg := run.message(sr, rule)
	r.Title = rule.title
	if r.Title == "" {
		r.Title = firstLine(msg)
	}
	if r.Title == "" {
		r.Title = r.RuleID
	}
	r.Description = msg
	if r.Description == "" {
		r.Description = rule.description
	}
	if r.Severity, err = sarifSeverity(sr, rule); err != nil {
		return r, false, err
	}
	r.CVE = append([]string(nil), rule.cve...)
	r.CVE = addCVEs(r.CVE, r.RuleID)
	r.CVE = addCVEs(r.CVE, sr.Properties.tags()...)
	if rule.helpURI != "" {
		r.References = []string{rule.helpURI}
	}

	if r.Evidence == nil {
		r.Evidence = map[string]string{}
	}
	if firstURI != "" && firstURI != r.URL {
		r.Evidence["location"] = firstURI
	}
	if wr := sr.WebRequest; wr != nil && (wr.Method != "" || wr.Target != "") {
		r.Evidence["request"] = strings.TrimSpace(wr.Method + " " + wr.Target)
	}
	if sr.WebResponse != nil && sr.WebResponse.StatusCode != 0 {
		r.Evidence["status"] = strconv.Itoa(sr.WebResponse.StatusCode)
	}
	if sr.Kind != "" && sr.Kind != "fail" {
		r.Evidence["kind"] = sr.Kind
	}
	// A few scalar properties, in key order; the rest is dropped.
	keys := make([]string, 0, len(sr.Properties))
	for k := range sr.Properties {
		if k != "tags" && k != "security-severity" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(r.Evidence) >= MaxEvidenceKeys-1 {
			break
		}
		if v := sr.Properties.str(k); v != "" {
			r.Evidence["property."+k] = v
		}
	}
	return r, true, nil
}

// sarifSkipped: results that are not problems (kind pass or
// notApplicable) or that someone accepted as not applying (a
// suppression with status accepted, or none, which means accepted).
func sarifSkipped(sr *sarifResult) bool {
	switch sr.Kind {
	case "pass", "notApplicable":
		return true
	}
	for _, sup := range sr.Suppressions {
		if sup.Status == "" || sup.Status == "accepted" {
			return true
		}
	}
	return false
}

// rule finds the rule of a result: by index when given, else by id. A
// result may name a rule the driver does not list; it then has no rule
// metadata.
func (run *sarifRun) rule(sr *sarifResult) (sarifRuleInfo, error) {
	idx := sr.RuleIndex
	id := sr.RuleID
	if sr.Rule != nil {
		if idx == nil {
			idx = sr.Rule.Index
		}
		if id == "" {
			id = sr.Rule.ID
		}
	}
	if idx != nil && *idx != -1 {
		if *idx < 0 || *idx >= len(run.rules) {
			return sarifRuleInfo{}, fmt.Errorf("ruleIndex %d: the driver lists %d rules", *idx, len(run.rules))
		}
		return run.rules[*idx], nil
	}
	if i, ok := run.byID[id]; ok && id != "" {
		return run.rules[i], nil
	}
	return sarifRuleInfo{}, nil
}

// resolve returns the URI of an artifact location, following an index
// into run.artifacts and a uriBaseId into originalUriBaseIds.
func (run *sarifRun) resolve(al sarifArtifactLocation, depth int) string {
	if depth > 4 {
		return al.URI
	}
	if al.URI == "" && al.Index != nil && *al.Index >= 0 && *al.Index < len(run.artifacts) {
		a := run.artifacts[*al.Index].Location
		a.Index = nil
		if al.URIBaseID != "" && a.URIBaseID == "" {
			a.URIBaseID = al.URIBaseID
		}
		return run.resolve(a, depth+1)
	}
	if al.URIBaseID == "" || strings.Contains(al.URI, "://") {
		return al.URI
	}
	base, ok := run.bases[al.URIBaseID]
	if !ok {
		return al.URI
	}
	baseURI := run.resolve(base, depth+1)
	b, err := url.Parse(baseURI)
	if err != nil {
		return al.URI
	}
	rel, err := url.Parse(al.URI)
	if err != nil {
		return al.URI
	}
	return b.ResolveReference(rel).String()
}

// message is the result's text: its own, or the rule's message string
// it names, with {0}, {1}... replaced by its arguments.
func (run *sarifRun) message(sr *sarifResult, rule sarifRuleInfo) string {
	m := sr.Message.Text
	if m == "" {
		m = sr.Message.Markdown
	}
	if m == "" && sr.Message.ID != "" {
		if t, ok := rule.messages[sr.Message.ID]; ok {
			m = t.Text
		}
	}
	if len(sr.Message.Arguments) == 0 || !strings.Contains(m, "{") || len(m) > MaxDescriptionBytes {
		return m
	}
	args := sr.Message.Arguments[:min(len(sr.Message.Arguments), 16)]
	var b strings.Builder
	for len(m) > 0 && b.Len() <= MaxDescriptionBytes {
		i := strings.IndexByte(m, '{')
		if i < 0 {
			b.WriteString(m)
			break
		}
		b.WriteString(m[:i])
		m = m[i:]
		j := strings.IndexByte(m, '}')
		if n, err := strconv.Atoi(m[1:max(j, 1)]); j > 1 && err == nil && n >= 0 && n < len(args) {
			b.WriteString(clip(args[n], 512))
			m = m[j+1:]
			continue
		}
		b.WriteByte('{')
		m = m[1:]
	}
	return b.String()
}

// sarifSeverity: a security-severity score (result, then rule) wins;
// else the level (result, then the rule's default, else the spec's
// default: "warning" for a failure, "none" for other kinds).
func sarifSeverity(sr *sarifResult, rule sarifRuleInfo) (finding.Severity, error) {
	if sev, ok := severityFromScore(sr.Properties.str("security-severity")); ok {
		return sev, nil
	}
	if rule.severity != "" {
		return rule.severity, nil
	}
	level := sr.Level
	if level == "" {
		level = rule.level
	}
	if level == "" {
		level = "warning"
		if sr.Kind != "" && sr.Kind != "fail" {
			level = "none"
		}
	}
	switch level {
	case "error":
		return finding.High, nil
	case "warning":
		return finding.Medium, nil
	case "note":
		return finding.Low, nil
	case "none":
		return finding.Info, nil
	}
	return "", fmt.Errorf("level %q is not one of error, warning, note, none", clip(level, 40))
}
