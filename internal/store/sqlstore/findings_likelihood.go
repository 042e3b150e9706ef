package sqlstore

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"

	"github.com/rampart-cert/rampart/internal/store"
)

// likelihoodKey is where a page sorted by likelihood ends: the sort
// columns of its last finding. Pages continue strictly after it, so a
// finding whose score changes between pages is neither lost nor shown
// twice unless it moves across the cut.
type likelihoodKey struct {
	kev  bool
	epss float64
	rank int
	id   int64
}

// encodeLikelihood is the cursor after f: "L" kev, epss bits, rank, id.
func encodeLikelihood(f *store.Finding) string {
	kev := "0"
	if f.KEV {
		kev = "1"
	}
	raw := "L" + kev + "." + strconv.FormatUint(math.Float64bits(f.EPSS), 16) + "." +
		strconv.Itoa(f.Severity.Rank()) + "." + strconv.FormatInt(f.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeLikelihood reads encodeLikelihood's cursor; "" is the first page.
func decodeLikelihood(s string) (likelihoodKey, error) {
	var k likelihoodKey
	if s == "" {
		return k, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2 || b[0] != 'L' {
		return k, invalid("bad page cursor")
	}
	parts := strings.Split(string(b[1:]), ".")
	if len(parts) != 4 || (parts[0] != "0" && parts[0] != "1") {
		return k, invalid("bad page cursor")
	}
	bits, err1 := strconv.ParseUint(parts[1], 16, 64)
	rank, err2 := strconv.Atoi(parts[2])
	id, err3 := strconv.ParseInt(parts[3], 10, 64)
	k.epss = math.Float64frombits(bits)
	if err1 != nil || err2 != nil || err3 != nil || id <= 0 || k.epss != k.epss || k.epss < 0 || k.epss > 1 {
		return k, invalid("bad page cursor")
	}
	k.kev, k.rank, k.id = parts[0] == "1", rank, id
	return k, nil
}
