package auth

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// commonPasswordsGz is the 30,000 most common passwords of the Xato corpus
// of ten million leaked passwords, one a line, most common first, as the
// zxcvbn project (MIT licence, Dropbox) ships them in its frequency lists
// (npm zxcvbn 4.4.2, lib/frequency_lists.js, key "passwords"). NIST SP
// 800-63B asks verifiers to refuse passwords found in such breach corpora.
//
//go:embed common_passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords is the list as a set, built on first use: package
// initialisation does no work.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		panic("auth: embedded common password list: " + err.Error()) // a broken build
	}
	set := make(map[string]struct{}, 30_000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if w := strings.TrimSpace(sc.Text()); w != "" {
			set[w] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		panic("auth: embedded common password list: " + err.Error())
	}
	return set
})

// IsCommonPassword reports whether pw, ignoring case, is on the shipped
// list of common and breached passwords, or is one of them with digits,
// punctuation or spaces before or after it ("Password1234!").
func IsCommonPassword(pw string) bool {
	set := commonPasswords()
	low := strings.ToLower(pw)
	if _, ok := set[low]; ok {
		return true
	}
	if base := corePassword(low); base != "" && base != low {
		_, ok := set[base]
		return ok
	}
	return false
}

// corePassword strips digits, punctuation, symbols and spaces from both
// ends of pw: what people pad a short word with to pass a length rule.
func corePassword(pw string) string {
	return strings.TrimFunc(pw, func(r rune) bool {
		return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
	})
}

// keyboardRuns are rows and columns of common keyboards and the digits;
// a password that is a stretch of one of them (either way) is a pattern.
var keyboardRuns = []string{
	"qwertyuiopasdfghjklzxcvbnm",
	"qwertzuiopasdfghjklyxcvbnm",
	"azertyuiopqsdfghjklmwxcvbn",
	"1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
	"qazwsxedcrfvtgbyhnujmikolp",
	"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
	"0123456789012345678901234567890123456789",
	"!@#$%^&*()_+",
}

// trivialPassword says why pw (lower case) is a trivial pattern — too few
// different characters, a repetition or a sequence — or "".
func trivialPassword(pw string) string {
	rs := []rune(pw)
	distinct := map[rune]bool{}
	for _, r := range rs {
		distinct[r] = true
	}
	switch {
	case len(rs) == 0:
		return ""
	case len(distinct) < 5:
		return "uses fewer than 5 different characters"
	case repeats(rs):
		return "repeats a shorter sequence"
	case sequence(rs):
		return "is a sequence of neighbouring characters"
	}
	return ""
}

// repeats reports whether rs is a shorter unit repeated at least twice,
// the last time perhaps in part ("abcabcabcab").
func repeats(rs []rune) bool {
	n := len(rs)
	for p := 1; p <= n/2; p++ {
		ok := true
		for i := p; i < n && ok; i++ {
			ok = rs[i] == rs[i-p]
		}
		if ok {
			return true
		}
	}
	return false
}

// sequence reports whether rs walks the alphabet or the digits by a fixed
// step of one ("abcdefghijkl", "987654321098"), or a keyboard row or
// column either way ("qwertyuiop[]", "1qaz2wsx3edc").
func sequence(rs []rune) bool {
	s := string(rs)
	rev := []rune(s)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for _, run := range keyboardRuns {
		if strings.Contains(run, s) || strings.Contains(run, string(rev)) {
			return true
		}
	}
	for _, step := range []rune{1, -1} {
		ok := true
		for i := 1; i < len(rs) && ok; i++ {
			d := rs[i] - rs[i-1]
			ok = d == step || (unicode.IsDigit(rs[i]) && unicode.IsDigit(rs[i-1]) && (d == 9*-step))
		}
		if ok {
			return true
		}
	}
	return false
}

// passwordPolicy checks what ValidatePassword adds to the length rule.
func passwordPolicy(pw string, personal []string) error {
	low := strings.ToLower(pw)
	if why := trivialPassword(low); why != "" {
		return fmt.Errorf("%w: password %s", ErrInvalid, why)
	}
	if base := corePassword(low); base != low && len([]rune(base)) >= 3 {
		if rs := []rune(base); len(distinctRunes(base)) < 4 || repeats(rs) || sequence(rs) {
			return fmt.Errorf("%w: password is a trivial pattern with digits or symbols around it", ErrInvalid)
		}
	}
	if IsCommonPassword(pw) {
		return fmt.Errorf("%w: password is on the list of common or breached passwords", ErrInvalid)
	}
	for _, p := range personal {
		p = strings.ToLower(strings.TrimSpace(p))
		if len([]rune(p)) >= 3 && strings.Contains(low, p) {
			return fmt.Errorf("%w: password contains the user's name", ErrInvalid)
		}
	}
	return nil
}

func distinctRunes(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}
