package vulndb

// CompareVersion compares two version strings the way NVD version ranges
// need them compared and returns -1, 0 or +1.
//
// The rules, in order:
//
//   - A version is a sequence of tokens: runs of digits (numeric) and runs
//     of letters (alphabetic), compared case-insensitively. Every other
//     character ('.', '-', '_', '+', '~', ' ', ...) only separates tokens,
//     so "1.0-rc1", "1.0.rc1" and "1.0rc1" are the same version.
//   - Numeric tokens compare as numbers of any length: 1.2.10 > 1.2.9,
//     2.4.49 > 2.4.9; leading zeros do not count.
//   - The pre-release words dev, snapshot, alpha, beta, milestone, pre,
//     preview and rc (in that order) sort below the release they lead to:
//     1.0-beta2 < 1.0-rc1 < 1.0. Every other alphabetic token is a
//     post-release suffix that sorts above the bare version: OpenSSL
//     1.0.1 < 1.0.1f < 1.0.1g, OpenSSH 7.4 < 7.4p1 < 7.4p2 < 7.5. Two
//     such suffixes compare as text.
//   - When one version runs out, missing numeric tokens count as zero
//     (1.20 == 1.20.0 and 1.2 < 1.2.1); a remaining pre-release word makes
//     the longer version lower, any other remaining word makes it higher.
//   - At the same position a positive number outranks a suffix word and a
//     suffix word outranks zero: 1.0.1.1 > 1.0.1f > 1.0.1.0 (= 1.0.1).
//
// Limits: single letters are always post-release, so Python-style "1.0a1"
// (an alpha) sorts above 1.0; date versions and vendor build strings only
// compare well when they share one shape; epochs ("1:2.3") are not
// understood (the epoch is just the first number).
func CompareVersion(a, b string) int {
	i, j := 0, 0
	for {
		ka, sa, na := nextToken(a, i)
		kb, sb, nb := nextToken(b, j)
		i, j = na, nb
		switch {
		case ka == tokEnd && kb == tokEnd:
			return 0
		case ka == tokEnd:
			if c := tailSign(kb, sb); c != 0 {
				return -c
			}
			continue
		case kb == tokEnd:
			if c := tailSign(ka, sa); c != 0 {
				return c
			}
			continue
		}
		if c := compareTokens(ka, sa, kb, sb); c != 0 {
			return c
		}
	}
}

const (
	tokEnd = iota
	tokNum
	tokAlpha
)

// nextToken returns the kind and text of the token at or after i, and the
// index just past it.
func nextToken(s string, i int) (kind int, tok string, next int) {
	for i < len(s) && !isDigit(s[i]) && !isLetter(s[i]) {
		i++
	}
	if i >= len(s) {
		return tokEnd, "", i
	}
	start := i
	if isDigit(s[i]) {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return tokNum, s[start:i], i
	}
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	return tokAlpha, s[start:i], i
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// tailSign says how a token left over after the other version ended
// compares with "nothing": +1 above, -1 below, 0 the same (a zero).
func tailSign(kind int, tok string) int {
	if kind == tokNum {
		if trimZeros(tok) == "" {
			return 0
		}
		return 1
	}
	if preRank(tok) > 0 {
		return -1
	}
	return 1
}

func compareTokens(ka int, a string, kb int, b string) int {
	switch {
	case ka == tokNum && kb == tokNum:
		a, b = trimZeros(a), trimZeros(b)
		if len(a) != len(b) {
			return sign(len(a) - len(b))
		}
		return compareFold(a, b)
	case ka == tokNum:
		return -numVsWord(b, a)
	case kb == tokNum:
		return numVsWord(a, b)
	}
	ra, rb := preRank(a), preRank(b)
	switch {
	case ra > 0 && rb > 0:
		return sign(ra - rb)
	case ra > 0:
		return -1
	case rb > 0:
		return 1
	}
	return compareFold(a, b)
}

// numVsWord compares a word with a number at the same position. Tokens
// are ordered pre-release words < zero (= nothing) < other words <
// positive numbers, so padding with zeros never changes an order and the
// comparison stays transitive.
func numVsWord(word, num string) int {
	if preRank(word) > 0 || trimZeros(num) != "" {
		return -1
	}
	return 1
}

// preWords are the pre-release words, lowest first; equal ranks are
// synonyms.
var preWords = [...]struct {
	word string
	rank int
}{
	{"dev", 1}, {"snapshot", 1}, {"alpha", 2}, {"beta", 3},
	{"milestone", 4}, {"pre", 5}, {"preview", 5}, {"rc", 6},
}

// preRank ranks pre-release words; 0 means "not a pre-release word".
func preRank(w string) int {
	for _, p := range preWords {
		if len(w) == len(p.word) && compareFold(w, p.word) == 0 {
			return p.rank
		}
	}
	return 0
}

func trimZeros(s string) string {
	for len(s) > 0 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// compareFold compares ASCII strings case-insensitively.
func compareFold(a, b string) int {
	for k := 0; k < len(a) && k < len(b); k++ {
		ca, cb := toLower(a[k]), toLower(b[k])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	return sign(len(a) - len(b))
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
