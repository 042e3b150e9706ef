package finding

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// epssKey is how a check's evidence carries the score: "fields": {"epss": "0.97"}.
var epssKey = []byte(`"epss"`)

// EPSSOf returns the EPSS probability a finding's evidence records (the
// vulnerability checks put it in the evidence fields as "epss"), clamped
// to [0, 1]; 0 when there is none or it does not parse. Evidence without
// the key costs one byte search, so stores call it on every write.
func EPSSOf(evidence json.RawMessage) float64 {
	if len(evidence) == 0 || !bytes.Contains(evidence, epssKey) {
		return 0
	}
	var ev struct {
		Fields map[string]string `json:"fields"`
	}
	if json.Unmarshal(evidence, &ev) != nil {
		return 0
	}
	v, err := strconv.ParseFloat(ev.Fields["epss"], 64)
	if err != nil || v != v || v <= 0 {
		return 0
	}
	return min(v, 1)
}

// Likelihood orders findings by how likely they are to be exploited:
// KEV-listed first, then by EPSS, then by severity. It is the order of
// the "likelihood" sort of the findings list and the scorecard.
func Likelihood(a, b *Finding) int {
	if a.KEV != b.KEV {
		if a.KEV {
			return -1
		}
		return 1
	}
	if a.EPSS != b.EPSS {
		if a.EPSS > b.EPSS {
			return -1
		}
		return 1
	}
	return b.Severity.Rank() - a.Severity.Rank()
}
