package discovery

import "strings"

// Domains is a set of registered domains that answers "which registered
// domain is this name under?" with one map lookup per label of the name,
// without allocating. It is immutable once built and safe to share.
type Domains struct {
	set map[string]struct{}
}

// NewDomains builds the set from domain names (lower-cased, trailing dot
// dropped; names with fewer than two labels are ignored: a registry zone
// like "vn" is nobody's domain).
func NewDomains(names []string) *Domains {
	d := &Domains{set: make(map[string]struct{}, len(names))}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
		if strings.IndexByte(n, '.') <= 0 {
			continue
		}
		d.set[n] = struct{}{}
	}
	return d
}

// Len is the number of domains.
func (d *Domains) Len() int {
	if d == nil {
		return 0
	}
	return len(d.set)
}

// Match returns the longest registered domain that name is, or is under
// on a label boundary. name must be lower-case without a trailing dot (as
// ct.Names returns names).
func (d *Domains) Match(name string) (string, bool) {
	if d == nil || len(d.set) == 0 {
		return "", false
	}
	for i := 0; ; {
		rest := name[i:]
		if strings.IndexByte(rest, '.') < 0 {
			return "", false
		}
		if _, ok := d.set[rest]; ok {
			return rest, true
		}
		j := strings.IndexByte(rest, '.')
		i += j + 1
	}
}
