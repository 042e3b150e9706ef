package taxii

import (
	"mime"
	"strconv"
	"strings"
	"time"
)

// Media types of TAXII 2.1 and of the STIX 2.1 content it carries.
const (
	MediaTAXII = "application/taxii+json;version=2.1"
	MediaSTIX  = "application/stix+json;version=2.1"
)

// Timestamp layouts: TAXII's date_added carries microseconds, STIX's
// created and modified milliseconds. Both are UTC with a "Z".
const (
	layoutMicro = "2006-01-02T15:04:05.000000Z"
	layoutMilli = "2006-01-02T15:04:05.000Z"
)

// FormatTimestamp writes t as TAXII writes date_added and its headers:
// UTC with microseconds.
func FormatTimestamp(t time.Time) string { return t.UTC().Format(layoutMicro) }

// ParseTimestamp reads a STIX/TAXII timestamp ("2016-11-01T03:04:05.000Z",
// any number of fractional digits, "Z" or an offset).
func ParseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// negotiate returns the media type to answer with given the request's
// Accept header, or "" when the client accepts nothing we serve. TAXII
// resources are always acceptable as application/taxii+json (no version
// means the newest, which is 2.1); stixOK adds application/stix+json for
// the object endpoints. An absent header, */* and application/* accept
// TAXII. A media range with q=0 is refused, as HTTP says.
func negotiate(accept string, stixOK bool) string {
	if strings.TrimSpace(accept) == "" {
		return MediaTAXII
	}
	if len(accept) > 4096 {
		return ""
	}
	best, bestQ := "", -1.0
	for part := range strings.SplitSeq(accept, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		if q == 0 {
			continue
		}
		version, hasVersion := params["version"]
		var got string
		switch mt {
		case "*/*", "application/*":
			got = MediaTAXII
		case "application/taxii+json":
			if !hasVersion || version == "2.1" {
				got = MediaTAXII
			}
		case "application/stix+json":
			if stixOK && (!hasVersion || version == "2.1") {
				got = MediaSTIX
			}
		}
		// Prefer the higher q; on a tie, the TAXII type.
		if got != "" && (q > bestQ || q == bestQ && got == MediaTAXII) {
			best, bestQ = got, q
		}
	}
	return best
}
