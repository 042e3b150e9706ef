package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/feedcsv"
)

// Bounds on hostile input: a line, a record over several lines (a quoted
// field with line breaks), the header's columns, a detail value and the
// detail keys of one record.
const (
	maxLine        = 256 << 10
	maxRecordLines = 16
	maxColumns     = 1024
	maxDetailValue = 512
	maxDetailKeys  = 40
)

// Parse reads one Shadowserver report (CSV with a header line) and emits
// one normalized record per row about the constituent-side address,
// network, name or URL, in file order, as feed "shadowserver:<type>".
// report is the report type ("scan_snmp"), the schema's key or feed name,
// or the report file's name ("2026-12-01-scan_snmp-vietnam-geo.csv"); s
// nil means DefaultSchema.
//
// The parse streams with bounded memory. A header without a required
// column stops it with an error (the format has changed: update the
// schema). A row is rejected, with "line N" and the reason, when a
// required field does not convert (a time that is not a time, a port that
// is not a number) or when no constituent-side value is valid; an
// optional field that does not convert is dropped and its column named in
// Detail["invalid"]. emit's error stops the parse and is returned as is.
func Parse(ctx context.Context, r io.Reader, s *Schema, report string, emit intel.Emit) (*intel.Rejections, error) {
	rej := &intel.Rejections{}
	if s == nil {
		var err error
		if s, err = DefaultSchema(); err != nil {
			return rej, err
		}
	}
	rep, err := s.Report(report)
	if err != nil {
		return rej, err
	}
	p, err := newPlan(rep)
	if err != nil {
		return rej, err
	}
	lr := feedcsv.NewLineReader(r, maxLine)
	now := time.Now().UTC()
	var fields []string
	for {
		b, n, err := lr.Next()
		if err == io.EOF {
			break
		}
		if errors.Is(err, feedcsv.ErrLineTooLong) {
			rej.Add(where(n, n), fmt.Sprintf("the line is longer than %d bytes", maxLine))
			continue
		}
		if err != nil {
			return rej, fmt.Errorf("shadowserver: %s line %d: %w", rep.FileName, n, err)
		}
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return rej, fmt.Errorf("shadowserver: %s line %d: %w", rep.FileName, n, err)
			}
		}
		if n == 1 && len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
			b = b[3:]
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		line := string(b)
		first := n
		fields, err = feedcsv.SplitFields(fields[:0], line, ',')
		for errors.Is(err, feedcsv.ErrOpenQuote) && n-first < maxRecordLines-1 && len(line) < maxLine {
			// A quoted field with a line break: the record goes on.
			var more []byte
			more, n, err = lr.Next()
			if err != nil {
				break
			}
			line += "\n" + string(more)
			fields, err = feedcsv.SplitFields(fields[:0], line, ',')
		}
		if err == io.EOF || errors.Is(err, feedcsv.ErrOpenQuote) || errors.Is(err, feedcsv.ErrLineTooLong) {
			rej.Add(where(first, n), "a quoted field is not closed")
			continue
		}
		if err != nil {
			return rej, fmt.Errorf("shadowserver: %s line %d: %w", rep.FileName, n, err)
		}
		if p.header == nil {
			if err := p.readHeader(fields); err != nil {
				return rej, err
			}
			continue
		}
		rec, reason := p.record(fields, now)
		if reason != "" {
			rej.Add(where(first, n), reason)
			continue
		}
		if err := emit(rec); err != nil {
			return rej, err
		}
	}
	if p.header == nil {
		return rej, fmt.Errorf("shadowserver: %s: empty report, no header line", rep.FileName)
	}
	return rej, nil
}

func where(first, last int) string {
	if first == last {
		return "line " + strconv.Itoa(first)
	}
	return "lines " + strconv.Itoa(first) + "-" + strconv.Itoa(last)
}

// row is one CSV row with its header, for converters that read other
// columns.
type row struct {
	index  map[string]int
	fields []string
}

func (r *row) get(col string) string {
	if i, ok := r.index[col]; ok && i < len(r.fields) {
		return strings.TrimSpace(r.fields[i])
	}
	return ""
}

// What a field sets.
type target uint8

const (
	tIgnore target = iota
	tTime
	tIP
	tNetwork
	tURL
	tFQDN
	tAccount
	tMalware
	tCVE
	tTaxonomy
	tType
	tDetail // Detail[key]; extras and fixed keys alike
)

// targetOf maps an IntelMQ key to what it sets in a record and, for
// detail, under which key. Keys this table does not name (geolocation
// below the country, for instance) are not kept: Raw has them.
func targetOf(key, column string) (target, string) {
	if key == "extra." {
		return tDetail, column
	}
	if k, ok := strings.CutPrefix(key, "extra."); ok {
		return tDetail, k
	}
	switch key {
	case "":
		return tIgnore, ""
	case "time.source":
		return tTime, ""
	case "source.ip":
		return tIP, ""
	case "source.network":
		return tNetwork, ""
	case "source.url":
		return tURL, ""
	case "source.fqdn":
		return tFQDN, ""
	case "source.account":
		return tAccount, "account"
	case "malware.name":
		return tMalware, "infection"
	case "product.vulnerabilities":
		return tCVE, "cves"
	case "classification.taxonomy":
		return tTaxonomy, ""
	case "classification.type":
		return tType, ""
	}
	if k := fixedDetail(key); k != "" {
		return tDetail, k
	}
	return tIgnore, ""
}

// fixedDetail names the detail key of the IntelMQ keys worth keeping.
func fixedDetail(key string) string {
	switch key {
	case "source.port":
		return "port"
	case "protocol.transport":
		return "protocol"
	case "protocol.application":
		return "service"
	case "classification.identifier":
		return "identifier"
	case "source.reverse_dns":
		return "hostname"
	case "source.asn":
		return "asn"
	case "source.geolocation.cc":
		return "country"
	case "destination.ip":
		return "dst_ip"
	case "destination.port":
		return "dst_port"
	case "destination.asn":
		return "dst_asn"
	case "destination.fqdn":
		return "dst_host"
	case "destination.url":
		return "dst_url"
	case "destination.reverse_dns":
		return "dst_hostname"
	case "destination.geolocation.cc":
		return "dst_country"
	case "product.vendor":
		return "product_vendor"
	case "product.name":
		return "product"
	case "product.version":
		return "product_version"
	case "severity":
		return "severity"
	case "event_description.text":
		return "description"
	case "status":
		return "status"
	case "user_agent":
		return "user_agent"
	case "os.name":
		return "os"
	case "malware.hash.md5":
		return "md5"
	case "malware.hash.sha1":
		return "sha1"
	case "malware.hash.sha256":
		return "sha256"
	}
	return ""
}

func cutValue(s string) string {
	if len(s) <= maxDetailValue {
		return s
	}
	i := maxDetailValue
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}
