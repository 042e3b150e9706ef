package web

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold normalizes text for matching: lower case, Vietnamese diacritics
// removed ("NHÀ CÁI" and "nha cai" both become "nha cai", "đề" becomes
// "de"), every run of non-letters and non-digits one space, trimmed.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ' || r == 'Ð' || r == 'ð': // Eth is a common typo for Đ
			r = 'd'
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSuffix(b.String(), " ")
}

// countWord counts occurrences of the folded phrase term in the folded
// text, on word boundaries.
func countWord(folded, term string) int {
	if folded == "" || term == "" {
		return 0
	}
	n, from := 0, 0
	for {
		i := strings.Index(folded[from:], term)
		if i < 0 {
			return n
		}
		i += from
		end := i + len(term)
		if (i == 0 || folded[i-1] == ' ') && (end == len(folded) || folded[end] == ' ') {
			n++
		}
		from = i + 1
	}
}
