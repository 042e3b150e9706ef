package taxii

import (
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/intel"
)

// This file turns an intel.Indicator into a STIX 2.1 indicator object.
// It is the minimal serialization the server needs until the hub's STIX
// exporter (internal/intel/stix) serves every caller; indicatorObject is
// the one function to swap.

// namespace of Rampart's deterministic STIX identifiers (UUIDv5): the same
// indicator always has the same id, so versions line up across restarts.
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

// IndicatorID is the STIX id of the indicator for kind and value.
func IndicatorID(k intel.Kind, value string) string {
	return "indicator--" + uuid5("indicator:"+string(k)+":"+value)
}

// TLPMarking returns the id of the TLP 2.0 marking-definition object of t
// (the identifiers the STIX TLP 2.0 extension fixed).
func TLPMarking(t intel.TLP) string {
	switch t {
	case intel.TLPClear:
		return "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	case intel.TLPGreen:
		return "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	case intel.TLPAmber:
		return "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	case intel.TLPAmberStrict:
		return "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	}
	return "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
}

// Pattern returns the STIX pattern that matches an indicator's value.
func Pattern(k intel.Kind, value string) (string, error) {
	quote := func(s string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
	}
	switch k {
	case intel.KindIPv4:
		return "[ipv4-addr:value = " + quote(value) + "]", nil
	case intel.KindIPv6:
		return "[ipv6-addr:value = " + quote(value) + "]", nil
	case intel.KindCIDR:
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return "", fmt.Errorf("taxii: cidr %q: %w", value, err)
		}
		if p.Addr().Is4() {
			return "[ipv4-addr:value = " + quote(value) + "]", nil
		}
		return "[ipv6-addr:value = " + quote(value) + "]", nil
	case intel.KindDomain:
		return "[domain-name:value = " + quote(value) + "]", nil
	case intel.KindURL:
		return "[url:value = " + quote(value) + "]", nil
	case intel.KindEmail:
		return "[email-addr:value = " + quote(value) + "]", nil
	case intel.KindMD5:
		return "[file:hashes.MD5 = " + quote(value) + "]", nil
	case intel.KindSHA1:
		return "[file:hashes.'SHA-1' = " + quote(value) + "]", nil
	case intel.KindSHA256:
		return "[file:hashes.'SHA-256' = " + quote(value) + "]", nil
	case intel.KindASN:
		n := strings.TrimPrefix(value, "AS")
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return "", fmt.Errorf("taxii: %q is not an AS number", value)
		}
		return "[autonomous-system:number = " + n + "]", nil
	}
	return "", fmt.Errorf("taxii: no STIX pattern for kind %q", k)
}

// indicatorType maps a category to STIX's indicator-type vocabulary.
func indicatorType(c intel.Category) string {
	switch c {
	case intel.CategoryCompromised, intel.CategoryLeak:
		return "compromised"
	case intel.CategoryScanner, intel.CategorySpam:
		return "anomalous-activity"
	case intel.CategoryExposed:
		return "unknown"
	}
	return "malicious-activity"
}

type stixIndicator struct {
	Type           string   `json:"type"`
	SpecVersion    string   `json:"spec_version"`
	ID             string   `json:"id"`
	Created        string   `json:"created"`
	Modified       string   `json:"modified"`
	Name           string   `json:"name"`
	IndicatorTypes []string `json:"indicator_types"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until,omitempty"`
	Confidence     int      `json:"confidence"`
	Labels         []string `json:"labels,omitempty"`
	Markings       []string `json:"object_marking_refs"`
}

// indicatorObject is the STIX 2.1 indicator for in: its version is the
// last time it was seen.
func indicatorObject(in intel.Indicator) (Object, error) {
	pattern, err := Pattern(in.Kind, in.Value)
	if err != nil {
		return Object{}, err
	}
	created := in.FirstSeen.UTC().Truncate(time.Millisecond)
	modified := in.LastSeen.UTC().Truncate(time.Millisecond)
	if modified.Before(created) {
		modified = created
	}
	labels := append([]string{"category:" + string(in.Category)}, in.Labels...)
	si := stixIndicator{
		Type: "indicator", SpecVersion: "2.1", ID: IndicatorID(in.Kind, in.Value),
		Created: created.Format(layoutMilli), Modified: modified.Format(layoutMilli),
		Name: string(in.Kind) + " " + in.Value, IndicatorTypes: []string{indicatorType(in.Category)},
		Pattern: pattern, PatternType: "stix", ValidFrom: created.Format(layoutMilli),
		Confidence: min(max(in.Confidence, 0), 100), Labels: labels, Markings: []string{TLPMarking(in.TLP)},
	}
	if !in.ValidUntil.IsZero() && in.ValidUntil.After(created) {
		si.ValidUntil = in.ValidUntil.UTC().Truncate(time.Millisecond).Format(layoutMilli)
	}
	body, err := json.Marshal(si)
	if err != nil {
		return Object{}, fmt.Errorf("taxii: encode indicator %s: %w", si.ID, err)
	}
	return Object{ID: si.ID, Type: si.Type, Version: modified, SpecVersion: "2.1", Body: body}, nil
}
