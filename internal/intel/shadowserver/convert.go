package shadowserver

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/feedcsv"
)

// conv converts one column's text. ok false means "no value" (empty, zero,
// or not valid for a validator); an error means the text is not what the
// converter reads (a required field's error rejects the row).
type conv func(v string, row *row) (out string, ok bool, err error)

// converter returns the converter a schema names. The names and their
// meaning follow the IntelMQ schema format; the code is ours.
func converter(name string) (conv, bool) {
	switch name {
	case "":
		return keep, true
	case "add_UTC_to_timestamp", "convert_date_utc":
		return checkTime, true
	case "convert_date":
		return convertDate, true
	case "validate_to_none":
		return toNone, true
	case "convert_int":
		return convInt, true
	case "invalidate_zero":
		return nonZero, true
	case "convert_float":
		return convFloat, true
	case "convert_bool":
		return convBool, true
	case "validate_ip":
		return validIP, true
	case "validate_network":
		return validNetwork, true
	case "validate_fqdn":
		return validFQDN, true
	case "convert_http_host_and_url":
		return hostAndURL, true
	case "extract_cve_from_tag":
		return cves, true
	case "category_or_detail":
		return categoryOrDetail, true
	case "force_base64":
		// IntelMQ stores binary banners base64-encoded; detail is for
		// people, so the text stays as the report has it.
		return keep, true
	case "scan_exchange_taxonomy":
		return exchange("intrusions", "vulnerable"), true
	case "scan_exchange_type":
		// A server with a web shell is compromised; one merely
		// vulnerable is an exposed service, not an infected system.
		return exchange("system-compromise", "vulnerable-system"), true
	case "scan_exchange_identifier":
		return exchange("exchange-server-webshell", "vulnerable-exchange-server"), true
	}
	return nil, false
}

func keep(v string, _ *row) (string, bool, error) { return v, v != "", nil }

func toNone(v string, _ *row) (string, bool, error) {
	if v == "" || v == "0" || strings.EqualFold(v, "unknown") {
		return "", false, nil
	}
	return v, true, nil
}

func checkTime(v string, _ *row) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if _, err := parseTime(v); err != nil {
		return "", false, err
	}
	return v, true, nil
}

// convertDate reads the dates reports carry in extra columns (HTTP dates
// among them) and writes them as RFC 3339.
func convertDate(v string, _ *row) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return "", false, err
	}
	return t.Format(time.RFC3339), true, nil
}

// parseTime reads a report's time: "2010-02-10 00:00:00" (UTC, as
// Shadowserver writes it), RFC 3339, or an HTTP date.
func parseTime(v string) (time.Time, error) {
	if t, err := feedcsv.ParseTime(v, ""); err == nil {
		return t, nil
	}
	for _, l := range []string{time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05Z07"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time", v)
}

func convInt(v string, _ *row) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return "", false, fmt.Errorf("%q is not a whole number", v)
	}
	return v, true, nil
}

func nonZero(v string, r *row) (string, bool, error) {
	out, ok, err := convInt(v, r)
	if !ok || err != nil {
		return out, ok, err
	}
	if n, _ := strconv.ParseInt(v, 10, 64); n == 0 {
		return "", false, nil
	}
	return out, true, nil
}

func convFloat(v string, _ *row) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if _, err := strconv.ParseFloat(v, 64); err != nil {
		return "", false, fmt.Errorf("%q is not a number", v)
	}
	return v, true, nil
}

func convBool(v string, _ *row) (string, bool, error) {
	switch strings.ToLower(v) {
	case "y", "yes", "true", "enabled", "1":
		return "true", true, nil
	case "n", "no", "false", "disabled", "0":
		return "false", true, nil
	}
	return "", false, nil
}

// validIP keeps an address; a network, 0.0.0.0 or anything else is no
// value (a blocklist's ip column holds networks too: validate_network
// reads those).
func validIP(v string, _ *row) (string, bool, error) {
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" || a.IsUnspecified() {
		return "", false, nil
	}
	return v, true, nil
}

func validNetwork(v string, _ *row) (string, bool, error) {
	if strings.IndexByte(v, '/') < 0 {
		return "", false, nil
	}
	if _, err := netip.ParsePrefix(v); err != nil {
		return "", false, nil
	}
	return v, true, nil
}

func validFQDN(v string, _ *row) (string, bool, error) {
	if v == "" {
		return "", false, nil
	}
	if _, err := intel.NormalizeValue(intel.KindDomain, v); err != nil {
		return "", false, nil
	}
	return v, true, nil
}

// hostAndURL joins the host column (cc_dns or http_host) and the path
// column (url or http_url) into a URL; a path column that holds a whole
// request line ("GET /x HTTP/1.1") gives its path. The scheme is the
// row's application when it is http or https.
func hostAndURL(v string, r *row) (string, bool, error) {
	host := r.get("cc_dns")
	if host == "" {
		host = r.get("http_host")
	}
	p := r.get("url")
	if p == "" {
		p = r.get("http_url")
	}
	if host != "" && p != "" {
		if i := strings.IndexByte(p, '/'); i >= 0 {
			p = p[i:]
		} else {
			p = "/"
		}
		if i := strings.IndexAny(p, " \t"); i >= 0 {
			p = p[:i]
		}
		scheme := "http"
		if a := strings.ToLower(r.get("application")); a == "https" {
			scheme = a
		}
		return scheme + "://" + host + p, true, nil
	}
	if strings.Contains(v, "://") {
		return v, true, nil
	}
	return "", false, nil
}

// cves lists the CVE IDs in a tag ("cve-2021-26855;exchange"), upper case,
// comma-separated.
func cves(v string, _ *row) (string, bool, error) {
	var out []string
	for part := range strings.FieldsFuncSeq(v, func(c rune) bool { return c == ',' || c == ';' || c == ' ' }) {
		if len(part) > 8 && strings.EqualFold(part[:4], "cve-") && isCVE(part[4:]) {
			out = append(out, strings.ToUpper(part))
		}
	}
	if out == nil {
		return "", false, nil
	}
	return strings.Join(out, ","), true, nil
}

func isCVE(s string) bool {
	y, n, ok := strings.Cut(s, "-")
	if !ok || len(y) != 4 || len(n) < 4 {
		return false
	}
	for _, c := range []byte(y + n) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func categoryOrDetail(v string, r *row) (string, bool, error) {
	if v != "" {
		return v, true, nil
	}
	d := r.get("detail")
	return d, d != "", nil
}

// exchange classifies a row of the Exchange scan by its tag.
func exchange(webshell, other string) conv {
	return func(_ string, r *row) (string, bool, error) {
		if strings.EqualFold(r.get("tag"), "exchange;webshell") {
			return webshell, true, nil
		}
		return other, true, nil
	}
}
