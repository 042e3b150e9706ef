package findings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/imports"
	"github.com/rampart-cert/rampart/internal/store"
)

// ImportRequest is one file of a third-party tool to import.
type ImportRequest struct {
	Tool   imports.Tool
	Input  io.Reader
	Limits imports.Limits // zero: the imports package's defaults
}

// ImportReport says what an import did.
type ImportReport struct {
	Tool         imports.Tool `json:"tool"`
	JobID        string       `json:"job_id"` // "import-<tool>-<hash of the file>": the same file is the same report
	Results      int          `json:"results"`
	Observations int          `json:"observations"` // open ports (Nmap), recorded as info findings
	Hosts        int          `json:"hosts"`
	New          int          `json:"new"`
	Reopened     int          `json:"reopened"`
	Fixed        int          `json:"fixed"`
	// VerifyScans are the jobs queued to verify, with the platform's own
	// checks, results that those checks also look for.
	VerifyScans []string `json:"verify_scans,omitempty"`
}

// LineError is one refused line of an import.
type LineError struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

// ImportRefused is an import that stored nothing, with every line that
// made it so. It wraps store.ErrInvalid.
type ImportRefused struct {
	Lines []LineError
}

func (e *ImportRefused) Error() string {
	var b strings.Builder
	b.WriteString("findings: import refused, nothing stored")
	for i, l := range e.Lines {
		if i == 20 {
			fmt.Fprintf(&b, "; and %d more", len(e.Lines)-i)
			break
		}
		if l.Line > 0 {
			fmt.Fprintf(&b, "; line %d: %s", l.Line, l.Reason)
		} else {
			fmt.Fprintf(&b, "; %s", l.Reason)
		}
	}
	return b.String()
}

// Unwrap makes errors.Is(err, store.ErrInvalid) hold.
func (e *ImportRefused) Unwrap() error { return store.ErrInvalid }

// Import reads one file of a third-party tool (SARIF 2.1.0, Nuclei JSON
// lines, Nmap XML) and records its results as findings of source import,
// reference the tool, on the organizations that own each host.
//
//   - It needs auth.PermTriage, and each result's host must be covered by
//     an asset p sees (scope.LookupFor): a result for an address or name
//     no such asset covers is refused with its line number. A file with
//     any refused line, or that does not parse, stores nothing.
//   - Every host named in the file is covered for that tool: a later
//     import of the same tool over the same host that no longer reports a
//     result fixes it. Other sources' findings are never touched.
//   - The same file imported again changes nothing (its job ID is the
//     hash of its content).
//   - A result that a platform check also looks for (Deps.PlatformCheck)
//     asks for a verification scan of its asset, when scanning is enabled.
func (s *Service) Import(ctx context.Context, p auth.Principal, req ImportRequest) (ImportReport, error) {
	rep := ImportReport{Tool: req.Tool}
	if !p.Can(auth.PermTriage) {
		return rep, fmt.Errorf("%w: importing findings needs %s", store.ErrForbidden, auth.PermTriage)
	}
	if s.d.Scope == nil {
		return rep, fmt.Errorf("%w: no scope index in this process", ErrNoScanner)
	}
	h := sha256.New()
	results, err := imports.Parse(req.Tool, io.TeeReader(req.Input, h), req.Limits)
	if errors.Is(err, imports.ErrUnknownTool) {
		return rep, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err != nil {
		return rep, refusedFrom(err)
	}
	rep.JobID = "import-" + string(req.Tool) + "-" + hex.EncodeToString(h.Sum(nil)[:12])
	rep.Results = len(results)

	b := finding.Batch{Source: finding.SourceImport, Ref: string(req.Tool), JobID: rep.JobID, At: reportTime(results, s.d.Now()), Policy: s.d.Policy}
	var refused []LineError
	type hostKey struct {
		asset int64
		host  string
	}
	hosts := map[hostKey]int64{} // → org
	verify := map[int64]bool{}
	type obsKey struct {
		asset, org int64
		ip         string
	}
	observed := map[obsKey][]store.Observation{}
	for _, r := range results {
		m, err := s.owner(p, r)
		if err != nil {
			refused = append(refused, LineError{Line: r.Line, Reason: err.Error()})
			continue
		}
		host := strings.ToLower(r.Host)
		hosts[hostKey{m.AssetID, host}] = m.OrgID
		f := importedFinding(req.Tool, r, host)
		f.OrgID, f.AssetID = m.OrgID, m.AssetID
		b.Seen = append(b.Seen, f)
		if r.Observation {
			rep.Observations++
			if r.IP != "" && r.Port > 0 {
				k := obsKey{m.AssetID, m.OrgID, r.IP}
				observed[k] = append(observed[k], store.Observation{IP: r.IP, Port: r.Port, Proto: r.Proto, Host: nameOf(r), State: "open",
					Service: r.Service, Product: r.Product, Version: r.Version, CPE: r.CPE})
			}
		} else if s.d.PlatformCheck != nil && s.d.PlatformCheck(r.RuleID, r.CVE) {
			verify[m.AssetID] = true
		}
	}
	if len(refused) > 0 {
		return rep, &ImportRefused{Lines: refused}
	}
	for k, orgID := range hosts {
		b.Covered = append(b.Covered, finding.Coverage{AssetID: k.asset, OrgID: orgID, Target: k.host, All: true})
	}
	sort.Slice(b.Covered, func(i, j int) bool {
		x, y := b.Covered[i], b.Covered[j]
		return x.AssetID < y.AssetID || (x.AssetID == y.AssetID && x.Target < y.Target)
	})
	rep.Hosts = len(hosts)
	if len(b.Seen) == 0 {
		return rep, nil
	}
	changes, err := s.Record(ctx, b)
	if err != nil {
		return rep, err
	}
	// Open ports also go where the platform's own scans keep what is
	// exposed, one report per host with only its open ports as the port
	// set, so an import never closes a port it did not look at.
	keys := make([]obsKey, 0, len(observed))
	for k := range observed {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].asset < keys[j].asset || keys[i].asset == keys[j].asset && keys[i].ip < keys[j].ip
	})
	for _, k := range keys {
		obs := observed[k]
		ports := make([]int, len(obs))
		for i, o := range obs {
			ports[i] = o.Port
		}
		if err := s.d.Store.RecordScan(ctx, store.ScanReport{JobID: rep.JobID, OrgID: k.org, AssetID: k.asset, At: b.At, Hosts: []string{k.ip}, Ports: ports, Open: obs}); err != nil {
			return rep, err
		}
	}
	for _, c := range changes {
		switch c.Kind {
		case finding.ChangeNew:
			rep.New++
		case finding.ChangeReopened:
			rep.Reopened++
		case finding.ChangeFixed:
			rep.Fixed++
		}
	}
	if s.d.Scheduler != nil && rep.New+rep.Reopened > 0 {
		for _, id := range sortedKeys(verify) {
			j, err := s.verify(ctx, p, id)
			if err != nil {
				s.d.Logger.Warn("import: verification scan not queued", "asset", id, "err", err)
				continue
			}
			rep.VerifyScans = append(rep.VerifyScans, j.ID)
		}
	}
	return rep, nil
}

// reportTime is when the tool ran: the latest time its results carry, or
// now when they carry none (or one in the future).
func reportTime(rs []imports.Result, now time.Time) time.Time {
	var at time.Time
	for _, r := range rs {
		if r.Time.After(at) {
			at = r.Time
		}
	}
	if at.IsZero() || at.After(now) {
		return now
	}
	return at
}

// nameOf is the name a result's host was reached by, if it is a name.
func nameOf(r imports.Result) string {
	if r.Host != r.IP {
		return r.Host
	}
	return ""
}

// owner finds the asset p sees that covers a result's host: its address
// when the tool gave one, else its name.
func (s *Service) owner(p auth.Principal, r imports.Result) (asset.Match, error) {
	var tried []string
	for _, t := range []string{r.IP, r.Host} {
		if t == "" || (len(tried) > 0 && tried[0] == t) {
			continue
		}
		tried = append(tried, t)
		m, err := s.d.Scope.LookupFor(p, t)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, asset.ErrOutOfScope) && !errors.Is(err, asset.ErrInvalid) {
			return asset.Match{}, err
		}
	}
	return asset.Match{}, fmt.Errorf("%s is not covered by any registered asset of yours", strings.Join(tried, " / "))
}

var kindRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9.-]+`) })

// kindOf makes the finding kind of a tool's rule: "import.nuclei.cve-2021-41773".
func kindOf(tool imports.Tool, rule string) string {
	r := strings.Trim(kindRE().ReplaceAllString(strings.ToLower(rule), "-"), "-.")
	if r == "" {
		r = "result"
	}
	if len(r) > 96 {
		r = r[:96]
	}
	return "import." + string(tool) + "." + r
}

// importedFinding maps one result to a finding: target the host, subject
// the port or URL it is about.
func importedFinding(tool imports.Tool, r imports.Result, host string) finding.Finding {
	kind := kindOf(tool, r.RuleID)
	subject := ""
	switch {
	case r.URL != "":
		subject = r.URL
	case r.Port > 0:
		subject = strconv.Itoa(r.Port) + "/" + r.Proto
	}
	if r.Observation {
		kind = "import." + string(tool) + ".open-port"
	}
	ev := map[string]any{"tool": r.ToolName, "rule": r.RuleID, "line": r.Line}
	if r.Description != "" {
		ev["description"] = r.Description
	}
	if len(r.References) > 0 {
		ev["references"] = r.References
	}
	for k, v := range r.Evidence {
		ev[k] = v
	}
	for k, v := range map[string]string{"ip": r.IP, "service": r.Service, "product": r.Product, "version": r.Version, "cpe": r.CPE} {
		if v != "" {
			ev[k] = v
		}
	}
	data, _ := json.Marshal(ev)
	title := r.Title
	if title == "" {
		title = r.RuleID
	}
	cve := r.CVE
	if cve == nil {
		cve = []string{}
	}
	sev := r.Severity
	if r.Observation {
		sev = finding.Info
	}
	return finding.Finding{Check: kind, Family: "import", Severity: sev, Target: host, Subject: subject, Title: title,
		Evidence: data, CVE: cve}
}

// refusedFrom turns the joined parse errors into line errors.
func refusedFrom(err error) error {
	var lines []LineError
	var walk func(error)
	walk = func(e error) {
		var ie *imports.Error
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(e, &ie) {
			lines = append(lines, LineError{Line: ie.Line, Reason: ie.Msg})
			return
		}
		lines = append(lines, LineError{Reason: e.Error()})
	}
	walk(err)
	return &ImportRefused{Lines: lines}
}

func sortedKeys(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
