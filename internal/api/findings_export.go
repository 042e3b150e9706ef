package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// maxExport bounds one export.
const maxExport = 200_000

func (s *Server) exportFindings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := s.findingFilter(r)
	if err != nil {
		return err
	}
	format := strings.ToLower(r.URL.Query().Get("format"))
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" && format != "sarif" {
		return errf(CodeBadRequest, "format must be csv, json or sarif")
	}
	f.Limit = store.MaxLimit
	var all []store.Finding
	for {
		page, err := s.Store.ListFindings(r.Context(), p, f)
		if err != nil {
			return err
		}
		all = append(all, page.Items...)
		if page.Next == "" || len(all) >= maxExport {
			break
		}
		f.After = page.Next
	}
	var buf bytes.Buffer
	var ct string
	switch format {
	case "csv":
		ct = "text/csv; charset=utf-8"
		writeFindingsCSV(&buf, all)
	case "json":
		ct = "application/json; charset=utf-8"
		if all == nil {
			all = []store.Finding{}
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"findings": all})
	case "sarif":
		ct = "application/sarif+json"
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.sarif(all))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="findings.`+format+`"`)
	_, err = buf.WriteTo(w)
	return err
}

var findingColumns = []string{"id", "org_id", "asset_id", "check", "severity", "state", "kev", "cve", "target", "subject", "title", "first_seen", "last_seen", "due_at", "fixed_at"}

func writeFindingsCSV(buf *bytes.Buffer, fs []store.Finding) {
	cw := csv.NewWriter(buf)
	_ = cw.Write(findingColumns)
	ts := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, f := range fs {
		_ = cw.Write([]string{strconv.FormatInt(f.ID, 10), strconv.FormatInt(f.OrgID, 10), strconv.FormatInt(f.AssetID, 10),
			f.Check, string(f.Severity), string(f.State), strconv.FormatBool(f.KEV), strings.Join(f.CVE, " "),
			transfer.SafeCell(f.Target), transfer.SafeCell(f.Subject), transfer.SafeCell(f.Title), f.FirstSeen.UTC().Format(time.RFC3339), f.LastSeen.UTC().Format(time.RFC3339),
			ts(f.DueAt), ts(f.FixedAt)})
	}
	cw.Flush()
}

// SARIF 2.1.0, the subset code-scanning tools read.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID               string         `json:"id"`
	ShortDescription sarifText      `json:"shortDescription"`
	FullDescription  sarifText      `json:"fullDescription"`
	Help             sarifText      `json:"help"`
	Properties       map[string]any `json:"properties"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation struct {
		ArtifactLocation struct {
			URI string `json:"uri"`
		} `json:"artifactLocation"`
	} `json:"physicalLocation"`
}

// securitySeverity maps our severities onto SARIF's 0-10 scale.
var securitySeverity = sync.OnceValue(func() map[finding.Severity]string {
	return map[finding.Severity]string{finding.Critical: "9.5", finding.High: "8.0", finding.Medium: "5.5", finding.Low: "3.0", finding.Info: "0.0"}
})

func sarifLevel(s finding.Severity) string {
	switch s {
	case finding.Critical, finding.High:
		return "error"
	case finding.Medium:
		return "warning"
	}
	return "note"
}

func (s *Server) sarif(fs []store.Finding) sarifLog {
	rules := map[string]sarifRule{}
	results := make([]sarifResult, 0, len(fs))
	for _, f := range fs {
		if _, ok := rules[f.Check]; !ok {
			r := sarifRule{ID: f.Check, ShortDescription: sarifText{f.Check}, FullDescription: sarifText{f.Check}, Help: sarifText{f.Check},
				Properties: map[string]any{"security-severity": securitySeverity()[f.Severity], "tags": []string{"security", f.Family}}}
			if k, ok := s.Catalog.Lookup(f.Check); ok {
				r.ShortDescription = sarifText{k.Title.EN}
				r.FullDescription = sarifText{k.Description.EN}
				r.Help = sarifText{k.Remediation.EN}
				if k.ID == f.Check { // a prefix kind's severity is only a default
					r.Properties["security-severity"] = securitySeverity()[k.Severity]
				}
			}
			rules[f.Check] = r
		}
		var loc sarifLocation
		loc.PhysicalLocation.ArtifactLocation.URI = f.Target
		results = append(results, sarifResult{RuleID: f.Check, Level: sarifLevel(f.Severity), Message: sarifText{f.Title},
			Locations: []sarifLocation{loc}, PartialFingerprints: map[string]string{"rampartFindingKey/v1": f.Key},
			Properties: map[string]any{"state": f.State, "kev": f.KEV, "cve": f.CVE, "org_id": f.OrgID, "asset_id": f.AssetID}})
	}
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	drv := sarifDriver{Name: "Rampart", Version: s.Version, Rules: make([]sarifRule, 0, len(ids))}
	for _, id := range ids {
		drv.Rules = append(drv.Rules, rules[id])
	}
	return sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0",
		Runs: []sarifRun{{Tool: sarifTool{Driver: drv}, Results: results}}}
}
