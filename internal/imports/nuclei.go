package imports

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rampart-cert/rampart/internal/finding"
)

// nucleiLine is the part of one `nuclei -jsonl` record we read. The
// raw request and response are left out on purpose: they can be large
// and may hold credentials.
type nucleiLine struct {
	TemplateID string `json:"template-id"`
	Info       struct {
		Name           string   `json:"name"`
		Severity       string   `json:"severity"`
		Description    string   `json:"description"`
		Reference      flexList `json:"reference"`
		Tags           flexList `json:"tags"`
		Classification *struct {
			CVEID     flexList   `json:"cve-id"`
			CWEID     flexList   `json:"cwe-id"`
			CVSSScore flexString `json:"cvss-score"`
		} `json:"classification"`
	} `json:"info"`
	Type             string     `json:"type"`
	Host             string     `json:"host"`
	Port             flexString `json:"port"`
	Scheme           string     `json:"scheme"`
	URL              string     `json:"url"`
	MatchedAt        string     `json:"matched-at"`
	ExtractedResults flexList   `json:"extracted-results"`
	IP               string     `json:"ip"`
	Timestamp        string     `json:"timestamp"`
	MatcherName      string     `json:"matcher-name"`
	ExtractorName    string     `json:"extractor-name"`
	MatcherStatus    *bool      `json:"matcher-status"`
}

// flexList reads what nuclei writes as a list in one version and a
// string in another (reference, tags, cve-id): null, "a" or ["a","b"].
// A string stays one item ("cve,apache" tags are not split: the CVE
// pattern finds IDs inside it anyway).
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	switch b = bytes.TrimSpace(b); {
	case bytes.Equal(b, []byte("null")):
		*l = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = flexList{s}
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return errors.New("want a string or a list of strings")
	}
	*l = list
	return nil
}

// flexString reads a string or a number (nuclei's port and cvss-score).
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		err := json.Unmarshal(b, &v)
		*s = flexString(v)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*s = flexString(n)
	return nil
}

func parseNuclei(r io.Reader, c *collector) *Error {
	sc := bufio.NewScanner(r)
	// A line may carry a full HTTP response; the file cap bounds it.
	sc.Buffer(make([]byte, 0, 64<<10), int(min(c.limits.MaxBytes+1, 1<<40)))
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if len(b) == 0 {
			continue
		}
		if b[0] == '[' && line == 1 {
			return formatErr(line, "this is a JSON array (nuclei -json-export); import the -jsonl output, one result a line")
		}
		if b[0] != '{' {
			if e := c.bad(line, "not a JSON object; nuclei -jsonl writes one object a line"); e != nil {
				return e
			}
			continue
		}
		var n nucleiLine
		if err := json.Unmarshal(b, &n); err != nil {
			if e := c.bad(line, "bad JSON: %s", jsonErrText(err)); e != nil {
				return e
			}
			continue
		}
		if n.MatcherStatus != nil && !*n.MatcherStatus {
			continue // nuclei -ms: a template that ran and did not match
		}
		res, err := nucleiResult(&n)
		if err != nil {
			if e := c.bad(line, "%v", err); e != nil {
				return e
			}
			continue
		}
		res.Line = line
		if e := c.add(res); e != nil {
			return e
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, errCapped) {
			return nil // Parse reports the cap
		}
		return formatErr(line+1, "read: %v", err)
	}
	return nil
}

func nucleiResult(n *nucleiLine) (Result, error) {
	r := Result{ToolName: "nuclei", RuleID: strings.TrimSpace(n.TemplateID)}
	// An unreadable timestamp leaves Time zero; the raw text stays in
	// Evidence["timestamp"].
	r.Time = rfc3339Time(n.Timestamp)
	if r.RuleID == "" {
		return r, errors.New("no template-id: not a nuclei result")
	}

	// Where: matched-at is the most precise (a URL or host:port), then
	// url, then host (a bare name in nuclei v3, a URL in v2).
	var web webTarget
	isWeb := false
	for _, s := range []string{n.MatchedAt, n.URL, n.Host} {
		t, ok, err := parseWebURL(s)
		if err != nil {
			return r, err
		}
		if ok {
			web, isWeb = t, true
			break
		}
	}
	hostField, hostPort, err := splitHostPort(n.Host)
	if strings.Contains(n.Host, "://") {
		hostField, hostPort, err = "", 0, nil // a URL, read above
	}
	if err != nil {
		return r, err
	}
	switch {
	case hostField != "":
		if r.Host, r.IP, err = normHost(hostField); err != nil {
			return r, err
		}
	case isWeb:
		r.Host, r.IP = web.host, web.ip
	default:
		// A network template's matched-at is host:port.
		h, p, err := splitHostPort(n.MatchedAt)
		if err != nil || h == "" {
			return r, errors.New("no host: the result has no host, url or matched-at")
		}
		if r.Host, r.IP, err = normHost(h); err != nil {
			return r, err
		}
		hostPort = p
	}
	if isWeb {
		r.URL = web.url
	}
	if ip := strings.TrimSpace(n.IP); ip != "" {
		_, addr, err := normHost(ip)
		if err != nil || addr == "" {
			return r, fmt.Errorf("ip %q is not an IP address", clip(ip, 80))
		}
		r.IP = addr
	}
	switch {
	case n.Port != "":
		if r.Port, err = parsePort(string(n.Port)); err != nil {
			return r, err
		}
	case hostPort != 0:
		r.Port = hostPort
	case isWeb:
		r.Port = web.port
	}
	if r.Port != 0 {
		r.Proto = "tcp"
		if strings.EqualFold(n.Type, "dns") {
			r.Proto = "udp"
		}
	}

	// What.
	r.Title = n.Info.Name
	if r.Title == "" {
		r.Title = r.RuleID
	}
	r.Description = n.Info.Description
	switch s := strings.ToLower(strings.TrimSpace(n.Info.Severity)); s {
	case "", "unknown":
		r.Severity = finding.Info
	default:
		sev, err := finding.ParseSeverity(s)
		if err != nil {
			return r, fmt.Errorf("info.severity %q is not one of critical, high, medium, low, info, unknown", clip(n.Info.Severity, 40))
		}
		r.Severity = sev
	}
	var cwe []string
	if cl := n.Info.Classification; cl != nil {
		r.CVE = addCVEs(r.CVE, cl.CVEID...)
		cwe = cl.CWEID
	}
	r.CVE = addCVEs(r.CVE, r.RuleID)
	r.CVE = addCVEs(r.CVE, n.Info.Tags...)
	r.References = n.Info.Reference

	r.Evidence = map[string]string{
		"matched-at":        n.MatchedAt,
		"matcher-name":      n.MatcherName,
		"extractor-name":    n.ExtractorName,
		"extracted-results": strings.Join(n.ExtractedResults, "\n"),
		"type":              n.Type,
		"timestamp":         n.Timestamp,
		"cwe":               strings.ToUpper(strings.Join(cwe, ", ")),
	}
	if cl := n.Info.Classification; cl != nil {
		r.Evidence["cvss-score"] = string(cl.CVSSScore)
	}
	return r, nil
}

// jsonErrText says what is wrong without Go type names where possible.
func jsonErrText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
		}
		return fmt.Sprintf("want %s, got %s", te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}
