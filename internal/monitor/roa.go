package monitor

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/gaissmai/bart"
)

// ErrROA wraps every problem of a ROA file.
var ErrROA = errors.New("monitor: roa file")

// maxROAFile bounds a ROA file: the whole RPKI is about 600,000 VRPs,
// some 60 MB of rpki-client JSON.
const maxROAFile = 256 << 20

// VRP is a validated ROA payload: ASN may originate Prefix and its more
// specifics up to MaxLength.
type VRP struct {
	Prefix    netip.Prefix `json:"prefix"`
	MaxLength int          `json:"max_length"`
	ASN       uint32       `json:"asn"`
	TA        string       `json:"ta,omitempty"`
}

// RPKIState is the route origin validation state of an announcement
// (RFC 6811).
type RPKIState string

// The states.
const (
	RPKIValid    RPKIState = "valid"
	RPKIInvalid  RPKIState = "invalid"
	RPKINotFound RPKIState = "not-found"
)

// ROASet is a set of VRPs indexed by prefix. The zero value and nil are
// empty sets (every announcement not-found).
type ROASet struct {
	t *bart.Table[[]VRP]
	n int
}

// Len is how many VRPs the set holds.
func (s *ROASet) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// roaFile is rpki-client's JSON output (also Routinator's "json"
// format): the roas array is read, everything else ignored.
type roaFile struct {
	ROAs []struct {
		ASN       json.RawMessage `json:"asn"` // 13335 or "AS13335"
		Prefix    string          `json:"prefix"`
		MaxLength int             `json:"maxLength"`
		TA        string          `json:"ta"`
	} `json:"roas"`
}

// ReadROAs reads the VRPs of a ROA file in rpki-client's JSON format
// ({"roas": [{"asn": 13335, "prefix": "1.0.0.0/24", "maxLength": 24,
// "ta": "apnic"}, …]}; an ASN may also be written "AS13335"). A VRP with
// a bad prefix, a maximum length outside the prefix's length and the
// address size, or a bad ASN fails the file, naming its index: a partial
// set would make valid routes look invalid.
func ReadROAs(r io.Reader) (*ROASet, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxROAFile+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrROA, err)
	}
	if len(b) > maxROAFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrROA, maxROAFile)
	}
	var f roaFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrROA, err)
	}
	if f.ROAs == nil {
		return nil, fmt.Errorf("%w: no \"roas\" array", ErrROA)
	}
	s := &ROASet{t: new(bart.Table[[]VRP])}
	for i, r := range f.ROAs {
		asn, err := parseASN(r.ASN)
		if err != nil {
			return nil, fmt.Errorf("%w: roas[%d]: %w", ErrROA, i, err)
		}
		p, err := netip.ParsePrefix(strings.TrimSpace(r.Prefix))
		if err != nil || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("%w: roas[%d]: prefix %q", ErrROA, i, printableText(r.Prefix))
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("%w: roas[%d]: prefix %s has host bits set", ErrROA, i, p)
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits())
		if r.MaxLength == 0 {
			r.MaxLength = p.Bits()
		}
		if r.MaxLength < p.Bits() || r.MaxLength > p.Addr().BitLen() {
			return nil, fmt.Errorf("%w: roas[%d]: maxLength %d for %s", ErrROA, i, r.MaxLength, p)
		}
		v := VRP{Prefix: p, MaxLength: r.MaxLength, ASN: asn, TA: printableText(r.TA)}
		cur, _ := s.t.Get(p)
		s.t.Insert(p, append(cur, v))
		s.n++
	}
	return s, nil
}

// parseASN reads 13335, "13335" or "AS13335".
func parseASN(raw json.RawMessage) (uint32, error) {
	t := strings.TrimSpace(string(raw))
	if uq, err := strconv.Unquote(t); err == nil {
		t = uq
	}
	t = strings.TrimPrefix(strings.TrimPrefix(t, "AS"), "as")
	n, err := strconv.ParseUint(t, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("asn %s is not a number of 32 bits", printableText(string(raw)))
	}
	return uint32(n), nil
}

// Validate returns the origin validation state of an announcement of p
// by origin (RFC 6811): not-found when no VRP covers p; valid when a
// covering VRP names origin with a maximum length at least p's; invalid
// otherwise (origin 0, as for an AS_SET origin, never matches). It also
// returns the covering VRPs, for the evidence.
func (s *ROASet) Validate(p netip.Prefix, origin uint32) (RPKIState, []VRP) {
	if s == nil || s.t == nil {
		return RPKINotFound, nil
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
	var covering []VRP
	for _, vs := range s.t.Supernets(p) {
		covering = append(covering, vs...)
	}
	if len(covering) == 0 {
		return RPKINotFound, nil
	}
	slices.SortFunc(covering, func(a, b VRP) int {
		return cmp.Or(cmp.Compare(b.Prefix.Bits(), a.Prefix.Bits()), cmp.Compare(a.ASN, b.ASN))
	})
	for _, v := range covering {
		if origin != 0 && v.ASN == origin && p.Bits() <= v.MaxLength {
			return RPKIValid, covering
		}
	}
	return RPKIInvalid, covering
}
