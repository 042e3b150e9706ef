package monitor

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-cert/rampart/internal/asset"
)

// Sentinel errors of the expiry sources.
var (
	// ErrRDAP wraps every failure to read an RDAP answer.
	ErrRDAP = errors.New("monitor: rdap")
	// ErrExpiryFile wraps every problem of an imported expiry file.
	ErrExpiryFile = errors.New("monitor: expiry file")
)

// Limits on expiry sources.
const (
	maxRDAPBody    = 256 << 10 // one RDAP answer
	maxRDAPEvents  = 256
	maxExpiryFile  = 64 << 20 // an imported CSV
	maxExpiryLines = 1_000_000
)

// RDAPDomain is what the monitor reads from an RDAP domain object (RFC
// 9083 section 5.3).
type RDAPDomain struct {
	Name    string    // the LDH name, lower-case
	Expires time.Time // the "expiration" event; zero when the answer has none
	Status  []string
}

// rdapJSON is the part of an RDAP answer that is read.
type rdapJSON struct {
	ObjectClassName string   `json:"objectClassName"`
	LDHName         string   `json:"ldhName"`
	Status          []string `json:"status"`
	Events          []struct {
		Action string `json:"eventAction"`
		Date   string `json:"eventDate"`
	} `json:"events"`
	ErrorCode   *int     `json:"errorCode"`
	Title       string   `json:"title"`
	Description []string `json:"description"`
}

// ParseRDAP reads an RDAP domain object. An RDAP error object, another
// class of object, or an expiration date that is not RFC 3339 is an
// error wrapping ErrRDAP; an answer without an expiration event has a
// zero Expires (many registries publish none).
func ParseRDAP(b []byte) (RDAPDomain, error) {
	var d RDAPDomain
	if len(b) > maxRDAPBody {
		return d, fmt.Errorf("%w: answer larger than %d bytes", ErrRDAP, maxRDAPBody)
	}
	var j rdapJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return d, fmt.Errorf("%w: %w", ErrRDAP, err)
	}
	if j.ErrorCode != nil {
		return d, fmt.Errorf("%w: error %d: %s", ErrRDAP, *j.ErrorCode, printableText(j.Title+" "+strings.Join(j.Description, " ")))
	}
	if j.ObjectClassName != "domain" {
		return d, fmt.Errorf("%w: object class %q, want domain", ErrRDAP, printableText(j.ObjectClassName))
	}
	if len(j.Events) > maxRDAPEvents {
		return d, fmt.Errorf("%w: %d events", ErrRDAP, len(j.Events))
	}
	d.Name = strings.ToLower(strings.TrimSuffix(j.LDHName, "."))
	for _, s := range j.Status {
		d.Status = append(d.Status, printableText(s))
	}
	for _, e := range j.Events {
		if e.Action != "expiration" {
			continue
		}
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(e.Date))
		if err != nil {
			return d, fmt.Errorf("%w: expiration date %q: not RFC 3339", ErrRDAP, printableText(e.Date))
		}
		if d.Expires.IsZero() || t.Before(d.Expires) {
			d.Expires = t.UTC()
		}
	}
	return d, nil
}

// printableText keeps up to 200 bytes of s for a message, without
// control characters or invalid UTF-8.
func printableText(s string) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
	}
	return s
}

// rdapServers maps a top-level label ("vn", "com") to an RDAP base URL;
// the key "" is the server for every other name. Air-gapped sites point
// it at their registry's server, or at none.
type rdapServers map[string]string

// parseRDAPServers reads "https://rdap.example/" (one server for all) or
// "vn=https://a/,com=https://b/,https://default/".
func parseRDAPServers(s string) (rdapServers, error) {
	out := rdapServers{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		tld, u, ok := strings.Cut(part, "=")
		if !ok {
			tld, u = "", part
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("%w: rdap server %q is not an http(s) URL", ErrConfig, u)
		}
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		out[strings.ToLower(strings.Trim(tld, ". "))] = u
	}
	return out, nil
}

// forName returns the base URL for name, or "".
func (r rdapServers) forName(name string) string {
	tld := name[strings.LastIndexByte(name, '.')+1:]
	if u, ok := r[tld]; ok {
		return u
	}
	return r[""]
}

// rdapClient looks domains up over HTTP.
type rdapClient struct {
	servers rdapServers
	http    *http.Client
	ua      string
}

// errRDAPNotFound is a registry saying it has no such domain.
var errRDAPNotFound = fmt.Errorf("%w: domain not found", ErrRDAP)

// lookup asks name's RDAP server for the domain, reading at most
// maxRDAPBody bytes within the client's timeout.
func (c *rdapClient) lookup(ctx context.Context, name string) (RDAPDomain, string, error) {
	base := c.servers.forName(name)
	if base == "" {
		return RDAPDomain{}, "", fmt.Errorf("%w: no RDAP server for %s", ErrRDAP, name)
	}
	u := base + "domain/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return RDAPDomain{}, u, fmt.Errorf("%w: %s: %w", ErrRDAP, u, err)
	}
	req.Header.Set("Accept", "application/rdap+json, application/json")
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return RDAPDomain{}, u, fmt.Errorf("%w: %s: %w", ErrRDAP, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRDAPBody+1))
	if err != nil {
		return RDAPDomain{}, u, fmt.Errorf("%w: %s: read: %w", ErrRDAP, u, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return RDAPDomain{}, u, fmt.Errorf("%w: %s", errRDAPNotFound, u)
	case resp.StatusCode != http.StatusOK:
		return RDAPDomain{}, u, fmt.Errorf("%w: %s: HTTP %d", ErrRDAP, u, resp.StatusCode)
	}
	d, err := ParseRDAP(body)
	if err != nil {
		return d, u, fmt.Errorf("%s: %w", u, err)
	}
	if d.Name != "" && d.Name != name {
		return d, u, fmt.Errorf("%w: %s: answer is for %q", ErrRDAP, u, d.Name)
	}
	return d, u, nil
}

// ExpiryRow is one line of an imported expiry file.
type ExpiryRow struct {
	Line    int
	Domain  string
	Expires time.Time
}

// ParseExpiryCSV reads "domain,expiry" lines: a date (2006-01-02, read
// as the end of that day in UTC+7) or an RFC 3339 time. A first line
// whose second field is not a date is a header; blank lines and lines
// starting with '#' are skipped. Names are normalized as domain assets
// are. Any bad line fails the whole file, naming the line: an import
// stores all its rows or none.
func ParseExpiryCSV(r io.Reader) ([]ExpiryRow, error) {
	br := bufio.NewReader(io.LimitReader(r, maxExpiryFile+1))
	var (
		out     []ExpiryRow
		line    int
		read    int64
		started bool // a non-blank line was read: no header any more
	)
	for {
		raw, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%w: %w", ErrExpiryFile, err)
		}
		read += int64(len(raw))
		if read > maxExpiryFile {
			return nil, fmt.Errorf("%w: larger than %d bytes", ErrExpiryFile, maxExpiryFile)
		}
		if raw == "" && err == io.EOF {
			break
		}
		line++
		if line > maxExpiryLines {
			return nil, fmt.Errorf("%w: more than %d lines", ErrExpiryFile, maxExpiryLines)
		}
		text := strings.TrimSpace(strings.TrimPrefix(raw, "\ufeff"))
		if text == "" || strings.HasPrefix(text, "#") {
			if err == io.EOF {
				break
			}
			continue
		}
		rec, cerr := csv.NewReader(strings.NewReader(text)).Read()
		if cerr != nil || len(rec) < 2 {
			return nil, fmt.Errorf("%w: line %d: want domain,expiry", ErrExpiryFile, line)
		}
		first := !started
		started = true
		when, terr := parseExpiry(rec[1])
		if terr != nil {
			if first {
				if err == io.EOF {
					break
				}
				continue // a header
			}
			return nil, fmt.Errorf("%w: line %d: %q is not a date (2006-01-02) or an RFC 3339 time", ErrExpiryFile, line, printableText(rec[1]))
		}
		name, nerr := asset.Normalize(asset.KindDomain, rec[0])
		if nerr != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrExpiryFile, line, nerr)
		}
		out = append(out, ExpiryRow{Line: line, Domain: name, Expires: when})
		if err == io.EOF {
			break
		}
	}
	return out, nil
}

// vietnam is UTC+7 (no daylight saving), where a bare date ends.
var vietnam = time.FixedZone("ICT", 7*3600)

func parseExpiry(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.ParseInLocation("2006-01-02", s, vietnam)
	if err != nil {
		return time.Time{}, err
	}
	return t.Add(24*time.Hour - time.Second).UTC(), nil
}
