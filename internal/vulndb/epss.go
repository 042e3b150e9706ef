package vulndb

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// EPSSInfo is what the leading comment of an EPSS file says.
type EPSSInfo struct {
	Model string    // "v2025.03.14"
	Date  time.Time // score_date
}

// ReadEPSS reads a FIRST EPSS CSV (plain or gzip'd): an optional leading
// comment "#model_version:v2025.03.14,score_date:2025-08-25T00:00:00+0000",
// a header naming the columns cve, epss and percentile (in any order;
// percentile may be missing in old files), then one row per CVE. Each
// valid row goes to fn with the model and date of the comment; a bad row
// (bad CVE ID, a score outside 0..1, too few fields) goes to bad, or ends
// the read when bad is nil. Errors name the line.
func ReadEPSS(r io.Reader, name string, fn func(EPSSScore) error, bad func(*RecordError)) (EPSSInfo, error) {
	var info EPSSInfo
	br, capr, err := decompress(r, name)
	if err != nil {
		return info, err
	}
	line := 0
	if b, err := br.Peek(1); err == nil && b[0] == '#' {
		s, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return info, fmt.Errorf("vulndb: %s:1: %w", name, err)
		}
		line = 1
		if info, err = parseEPSSComment(strings.TrimSpace(s)); err != nil {
			return info, fmt.Errorf("%w: %s:1: %v", ErrFormat, name, err)
		}
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.Comment = '#'
	head, err := cr.Read()
	if err != nil {
		return info, csvErr(name, line, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	ci, okC := col["cve"]
	ei, okE := col["epss"]
	pi, okP := col["percentile"]
	if !okC || !okE {
		return info, fmt.Errorf("%w: %s:%d: header %q lacks the cve and epss columns", ErrFormat, name, line+1, strings.Join(head, ","))
	}
	for {
		capr.startRecord()
		rec, err := cr.Read()
		if err == io.EOF {
			return info, nil
		}
		if err != nil {
			return info, csvErr(name, line, err)
		}
		ln, _ := cr.FieldPos(0)
		ln += line
		s, err := epssRow(rec, ci, ei, pi, okP)
		if err != nil {
			id := ""
			if ci < len(rec) {
				id = clip(rec[ci])
			}
			if err := reject(bad, &RecordError{File: name, Line: ln, ID: id, Err: err}); err != nil {
				return info, err
			}
			continue
		}
		s.Model, s.Date = info.Model, info.Date
		if fn != nil {
			if err := fn(s); err != nil {
				return info, err
			}
		}
	}
}

func csvErr(name string, offset int, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s:%d:%d: %v", ErrFormat, name, pe.Line+offset, pe.Column, pe.Err)
	}
	if errors.Is(err, ErrTooLarge) {
		return err
	}
	if err == io.EOF {
		return fmt.Errorf("%w: %s: no header line", ErrFormat, name)
	}
	return fmt.Errorf("vulndb: %s: %w", name, err)
}

func epssRow(rec []string, ci, ei, pi int, hasP bool) (EPSSScore, error) {
	need := max(ci, ei)
	if hasP {
		need = max(need, pi)
	}
	if len(rec) <= need {
		return EPSSScore{}, fmt.Errorf("%d fields, want at least %d", len(rec), need+1)
	}
	s := EPSSScore{CVE: strings.TrimSpace(rec[ci])}
	if !ValidCVEID(s.CVE) {
		return EPSSScore{}, fmt.Errorf("cve %q is not a CVE ID", clip(s.CVE))
	}
	var err error
	if s.EPSS, err = prob(rec[ei]); err != nil {
		return EPSSScore{}, fmt.Errorf("epss: %v", err)
	}
	if hasP {
		if s.Percentile, err = prob(rec[pi]); err != nil {
			return EPSSScore{}, fmt.Errorf("percentile: %v", err)
		}
	}
	return s, nil
}

func prob(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > 1 {
		return 0, fmt.Errorf("%q is not a probability within 0..1", clip(v))
	}
	return f, nil
}

func parseEPSSComment(s string) (EPSSInfo, error) {
	var info EPSSInfo
	for _, kv := range strings.Split(strings.TrimPrefix(s, "#"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), ":")
		switch k {
		case "model_version":
			info.Model = v
		case "score_date":
			t, err := parseEPSSDate(v)
			if err != nil {
				return info, err
			}
			info.Date = t
		}
	}
	return info, nil
}

func parseEPSSDate(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339, "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("score_date %q is not a date", clip(v))
}
