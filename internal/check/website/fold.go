package website

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldTable maps accented Latin letters (Latin-1, Extended-A/B and the
// Extended Additional block that holds Vietnamese ặ, ổ, ữ ...) to their
// lower-case base letter. Built from Unicode decompositions on first use,
// not at package init; read-only afterwards.
var foldTable = sync.OnceValue(func() map[rune]rune {
	m := map[rune]rune{'đ': 'd', 'Đ': 'd', 'Ð': 'd', 'ð': 'd'} // Eth is a common typo for Đ
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			if _, ok := m[r]; ok || !unicode.IsLetter(r) {
				continue
			}
			d := norm.NFD.String(string(r))
			base, _ := utf8.DecodeRuneInString(d)
			if base < utf8.RuneSelf {
				m[r] = unicode.ToLower(base)
			}
		}
	}
	add(0x00C0, 0x024F)
	add(0x1E00, 0x1EFF)
	return m
})

// Fold normalizes text for matching: lower case, Vietnamese diacritics
// removed ("NHÀ CÁI" and "nha cai" both become "nha cai", "đề" becomes
// "de"), combining marks dropped, every run of non-letters and non-digits
// one space, trimmed.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	var table map[rune]rune // built on the first non-ASCII letter
	space := true
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf:
			switch {
			case 'A' <= r && r <= 'Z':
				r += 'a' - 'A'
			case 'a' <= r && r <= 'z' || '0' <= r && r <= '9':
			default:
				if !space {
					b.WriteByte(' ')
					space = true
				}
				continue
			}
			b.WriteByte(byte(r))
			space = false
			continue
		case unicode.Is(unicode.Mn, r):
			continue
		}
		if table == nil {
			table = foldTable()
		}
		if f, ok := table[r]; ok {
			r = f
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
