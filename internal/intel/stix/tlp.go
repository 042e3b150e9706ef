package stix

import (
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
)

// The TLP marking definitions every STIX 2.1 producer refers to by ID,
// usually without including them in the bundle.
//
// TLP 1.0: the four predefined objects of STIX 2.1 section 7.2.1.4.
// TLP 2.0: the five objects published with the OASIS "TLP 2.0" marking
// extension (extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d).
const (
	markingTLP1White = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	markingTLP1Green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	markingTLP1Amber = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	markingTLP1Red   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"

	markingTLP2Clear       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	markingTLP2Green       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	markingTLP2Amber       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	markingTLP2AmberStrict = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	markingTLP2Red         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"

	// TLP2Extension is the extension-definition a TLP 2.0 marking
	// definition carries its level in (property "tlp_2_0").
	TLP2Extension = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
)

// wellKnownTLP maps the published marking-definition IDs to markings.
func wellKnownTLP[T string | []byte](id T) (intel.TLP, bool) {
	switch string(id) {
	case markingTLP1White, markingTLP2Clear:
		return intel.TLPClear, true
	case markingTLP1Green, markingTLP2Green:
		return intel.TLPGreen, true
	case markingTLP1Amber, markingTLP2Amber:
		return intel.TLPAmber, true
	case markingTLP2AmberStrict:
		return intel.TLPAmberStrict, true
	case markingTLP1Red, markingTLP2Red:
		return intel.TLPRed, true
	}
	return "", false
}

// MarkingID returns the ID of the TLP 2.0 marking definition for t.
func MarkingID(t intel.TLP) string {
	switch t {
	case intel.TLPClear:
		return markingTLP2Clear
	case intel.TLPGreen:
		return markingTLP2Green
	case intel.TLPAmber:
		return markingTLP2Amber
	case intel.TLPAmberStrict:
		return markingTLP2AmberStrict
	}
	return markingTLP2Red // RED, and anything unknown: the safe side
}

// markingTLP reads a marking-definition object of the bundle: TLP 1.0
// (definition_type "tlp", definition {"tlp": "green"}) or TLP 2.0 (the
// extension's "tlp_2_0" property, or a name "TLP:AMBER+STRICT" under
// that extension). Anything else (statements, other schemes) is not TLP.
func markingTLP(obj []byte) (intel.TLP, bool) {
	var defType, name, level string
	tlp2 := false
	m := newMembers(obj)
	for {
		k, v, ok := m.next()
		if !ok {
			break
		}
		switch string(k) {
		case "definition_type":
			defType, _ = str(v)
		case "name":
			name, _ = str(v)
		case "definition":
			if len(v) > 0 && v[0] == '{' {
				d := newMembers(v)
				for {
					dk, dv, ok := d.next()
					if !ok {
						break
					}
					if string(dk) == "tlp" && (defType == "" || strings.EqualFold(defType, "tlp")) {
						level, _ = str(dv)
					}
				}
			}
		case "extensions":
			if len(v) > 0 && v[0] == '{' {
				e := newMembers(v)
				for {
					ek, ev, ok := e.next()
					if !ok {
						break
					}
					if string(ek) != TLP2Extension || len(ev) == 0 || ev[0] != '{' {
						continue
					}
					tlp2 = true
					x := newMembers(ev)
					for {
						xk, xv, ok := x.next()
						if !ok {
							break
						}
						if string(xk) == "tlp_2_0" {
							level, _ = str(xv)
						}
					}
				}
			}
		}
	}
	if level == "" && (tlp2 || strings.EqualFold(defType, "tlp")) {
		level = name
	}
	if level == "" {
		return "", false
	}
	t, err := intel.ParseTLP(level)
	return t, err == nil
}
