package dns

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashName is the table hash of a normalized name: FNV-1a over its bytes
// from last to first, so that lookup can hash every label suffix of a query
// name in one right-to-left pass.
func hashName(n []byte) uint64 {
	h := uint64(fnvOffset)
	for i := len(n) - 1; i >= 0; i-- {
		h = (h ^ uint64(n[i])) * fnvPrime
	}
	return mix(h)
}

// mix spreads the FNV state over all bits (the splitmix64 finalizer); 0 is
// kept for empty slots.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	if h == 0 {
		h = 1
	}
	return h
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// escaped reports whether name[i] follows an odd number of backslashes
// (presentation format: "a\.b" is one label).
func escaped[T ~string | ~[]byte](name T, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// equalFold compares a normalized (lower-case) name with a name in any case.
func equalFold[T ~string | ~[]byte](norm []byte, name T) bool {
	if len(norm) != len(name) {
		return false
	}
	for i := range norm {
		if norm[i] != lower(name[i]) {
			return false
		}
	}
	return true
}

// NormalizeName returns the form in which a policy holds a name: lower
// case, no trailing dot, no leading "*." (any number), surrounding spaces removed; ok is
// false for a name a policy skips (empty, the root, longer than 253 bytes,
// an empty label or one over 63 bytes, a space, control character or
// backslash).
func NormalizeName(raw string) (string, bool) {
	b, ok := normalizeInto(nil, raw)
	return string(b), ok
}

// normalizeInto appends the normalized raw to dst; on failure it returns
// dst unchanged and false.
func normalizeInto(dst []byte, raw string) ([]byte, bool) {
	start, end := 0, len(raw)
	for start < end && (raw[start] == ' ' || raw[start] == '\t') {
		start++
	}
	for end > start && (raw[end-1] == ' ' || raw[end-1] == '\t' || raw[end-1] == '\r' || raw[end-1] == '\n') {
		end--
	}
	if end > start && raw[end-1] == '.' {
		end--
	}
	for end-start >= 2 && raw[start] == '*' && raw[start+1] == '.' {
		start += 2
	}
	if end <= start || end-start > 253 {
		return dst, false
	}
	orig := len(dst)
	label := 0
	for i := start; i < end; i++ {
		c := raw[i]
		switch {
		case c == '.':
			if label == 0 {
				return dst[:orig], false
			}
			label = 0
		case c <= ' ' || c == 0x7f || c == '\\':
			return dst[:orig], false
		default:
			label++
			if label > 63 {
				return dst[:orig], false
			}
		}
		dst = append(dst, lower(c))
	}
	if label == 0 {
		return dst[:orig], false
	}
	return dst, true
}
