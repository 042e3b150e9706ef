package stix

import (
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
)

// graph is what the first pass keeps: the named objects indicators point
// to, the marking definitions, the identities, and the relationships that
// label indicators. Its size grows with those objects and with the
// indicates relationships (about 40 bytes each), never with the
// indicators themselves.
type graph struct {
	entities   map[string]entity    // malware, actors, campaigns, tools, … by ID
	markings   map[string]intel.TLP // marking definitions of the bundle
	identities map[string]string    // identity ID → name
	// indicates: indicator → the objects it indicates (or is attributed
	// to), as indexes into targets. Canonical indicator IDs are keyed by
	// their 16 UUID bytes.
	first   map[[16]byte]int32
	more    map[[16]byte][]int32
	byName  map[string][]int32 // indicator IDs that are not canonical
	targets []string
	index   map[string]int32
	// attributed: object → the objects it is attributed to (campaign →
	// intrusion set → threat actor).
	attributed map[string][]string
}

// entity is a named object an indicator can point to.
type entity struct {
	label string // "malware:poison ivy", "actor:apt1"; "" when it gives none
	hint  hint
}

type hint uint8

const (
	hintMalware hint = 1 << iota
	hintC2
	hintPhishing
)

func newGraph() *graph {
	return &graph{
		entities:   map[string]entity{},
		markings:   map[string]intel.TLP{},
		identities: map[string]string{},
		first:      map[[16]byte]int32{},
		more:       map[[16]byte][]int32{},
		byName:     map[string][]int32{},
		index:      map[string]int32{},
		attributed: map[string][]string{},
	}
}

// labelPrefix is the label prefix of the objects that name indicators.
func labelPrefix(typ string) string {
	switch typ {
	case "malware":
		return "malware"
	case "threat-actor", "intrusion-set":
		return "actor"
	case "campaign":
		return "campaign"
	case "tool":
		return "tool"
	}
	return ""
}

// pointed reports whether an indicator pointing to an object of this type
// tells something: a label or a category hint.
func pointed(id string) bool {
	typ, _, _ := strings.Cut(id, "--")
	return labelPrefix(typ) != "" || typ == "infrastructure" || typ == "attack-pattern"
}

// add keeps what a non-indicator object contributes.
func (g *graph) add(typ string, obj []byte) {
	switch typ {
	case "relationship":
		g.addRelationship(obj)
	case "marking-definition":
		if t, ok := markingTLP(obj); ok {
			if id := stringMember(obj, "id"); id != "" {
				g.markings[id] = t
			}
		}
	case "identity":
		var id, name string
		m := newMembers(obj)
		for k, v, ok := m.next(); ok; k, v, ok = m.next() {
			switch string(k) {
			case "id":
				id, _ = str(v)
			case "name":
				name, _ = str(v)
			}
		}
		if id != "" && name != "" {
			g.identities[id] = cut(name, 200)
		}
	case "malware", "threat-actor", "intrusion-set", "campaign", "tool", "infrastructure", "attack-pattern":
		g.addEntity(typ, obj)
	}
}

func stringMember(obj []byte, key string) string {
	m := newMembers(obj)
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		if string(k) == key {
			s, _ := str(v)
			return s
		}
	}
	return ""
}

func (g *graph) addEntity(typ string, obj []byte) {
	var id, name string
	var e entity
	revoked := false
	m := newMembers(obj)
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		switch string(k) {
		case "id":
			id, _ = str(v)
		case "name":
			name, _ = str(v)
		case "revoked":
			revoked = boolean(v)
		case "infrastructure_types":
			eachString(v, func(s string) {
				if isC2Text(s) {
					e.hint |= hintC2
				}
			})
		case "external_references":
			// CAPEC-98 and ATT&CK T1566 are phishing.
			eachObject(v, func(ref []byte) {
				switch x := strings.ToUpper(stringMember(ref, "external_id")); {
				case x == "CAPEC-98", x == "T1566", strings.HasPrefix(x, "T1566."):
					e.hint |= hintPhishing
				}
			})
		}
	}
	if id == "" || revoked {
		return
	}
	switch typ {
	case "malware":
		e.hint |= hintMalware
	case "infrastructure":
		if isC2Text(name) {
			e.hint |= hintC2
		}
	case "attack-pattern":
		if strings.Contains(strings.ToLower(name), "phishing") {
			e.hint |= hintPhishing
		}
	}
	if p := labelPrefix(typ); p != "" && name != "" {
		e.label = p + ":" + cut(name, 200)
	}
	if e.label != "" || e.hint != 0 {
		g.entities[id] = e
	}
}

func (g *graph) addRelationship(obj []byte) {
	var rel, src, dst string
	m := newMembers(obj)
	for k, v, ok := m.next(); ok; k, v, ok = m.next() {
		switch string(k) {
		case "relationship_type":
			rel, _ = str(v)
		case "source_ref":
			src, _ = str(v)
		case "target_ref":
			dst, _ = str(v)
		case "revoked":
			if boolean(v) {
				return
			}
		}
	}
	if (rel != "indicates" && rel != "attributed-to") || src == "" || !pointed(dst) {
		return
	}
	if strings.HasPrefix(src, "indicator--") {
		g.addEdge(src, dst)
		return
	}
	if rel == "attributed-to" && pointed(src) && len(g.attributed[src]) < 64 {
		g.attributed[src] = append(g.attributed[src], dst)
	}
}

func (g *graph) addEdge(src, dst string) {
	t, ok := g.index[dst]
	if !ok {
		t = int32(len(g.targets))
		g.targets = append(g.targets, dst)
		g.index[dst] = t
	}
	key, canonical := uuidKey(src)
	if !canonical {
		if l := g.byName[src]; len(l) < 64 {
			g.byName[src] = append(l, t)
		}
		return
	}
	if f, ok := g.first[key]; !ok {
		g.first[key] = t
	} else if f != t && len(g.more[key]) < 64 {
		g.more[key] = append(g.more[key], t)
	}
}

// uuidKey reads "indicator--xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into
// its 16 bytes.
func uuidKey(id string) (k [16]byte, ok bool) {
	const prefix = "indicator--"
	if len(id) != len(prefix)+36 || id[:len(prefix)] != prefix {
		return k, false
	}
	u := id[len(prefix):]
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if u[i] != '-' {
				return k, false
			}
			i++
			continue
		}
		hi, lo := unhex(u[i]), unhex(u[i+1])
		if hi < 0 || lo < 0 {
			return k, false
		}
		k[j] = byte(hi<<4 | lo)
		j++
		i += 2
	}
	return k, true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	}
	return -1
}

// about returns the labels and hints of what an indicator points to,
// following attributed-to a few steps (campaign → intrusion set → actor).
func (g *graph) about(id string) (labels []string, h hint) {
	var direct []int32
	if key, ok := uuidKey(id); ok {
		if f, ok := g.first[key]; ok {
			direct = append(direct, f)
			direct = append(direct, g.more[key]...)
		}
	} else {
		direct = g.byName[id]
	}
	if len(direct) == 0 {
		return nil, 0
	}
	seen := map[string]bool{}
	var visit func(target string, depth int)
	visit = func(target string, depth int) {
		if seen[target] || depth > 3 {
			return
		}
		seen[target] = true
		if e, ok := g.entities[target]; ok {
			if e.label != "" {
				labels = append(labels, e.label)
			}
			h |= e.hint
		}
		for _, next := range g.attributed[target] {
			visit(next, depth+1)
		}
	}
	for _, t := range direct {
		visit(g.targets[t], 0)
	}
	return labels, h
}
