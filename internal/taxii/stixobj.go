package taxii

import (
	"crypto/sha1"
	"fmt"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/intel/stix"
)

// namespace of the collections' identifiers (UUIDv5): a collection keeps
// its id across restarts.
var namespace = [16]byte{0x6f, 0x1c, 0x5e, 0x2a, 0x4b, 0x93, 0x4d, 0x0e, 0x9a, 0x57, 0x31, 0xc8, 0x0b, 0x6e, 0x22, 0xd4}

// uuid5 returns the RFC 9562 version-5 UUID of name in namespace.
func uuid5(name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// indicatorObject is the STIX 2.1 indicator of in, as the hub exports it
// everywhere (internal/intel/stix): a deterministic id, so each update is
// a new version of the same object, whose version is its last-seen time.
func indicatorObject(in intel.Indicator) (Object, error) {
	body, err := stix.IndicatorObject(&in, stix.ExportOptions{})
	if err != nil {
		return Object{}, fmt.Errorf("taxii: %w", err)
	}
	first, last := in.FirstSeen, in.LastSeen
	if last.Before(first) {
		last = first
	}
	return Object{ID: stix.IndicatorID(in.Kind, in.Value), Type: "indicator",
		Version: last.UTC().Truncate(time.Millisecond), SpecVersion: "2.1", Body: body}, nil
}
