package monitor

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/rampart-cert/rampart/internal/asset"
)

// Technique names how a look-alike imitates a name.
type Technique string

// The techniques.
const (
	TechOmission      Technique = "omission"      // a letter left out: dichvucog
	TechRepetition    Technique = "repetition"    // a letter doubled: dichvuccong
	TechInsertion     Technique = "insertion"     // a letter added: dichvucomng
	TechTransposition Technique = "transposition" // two neighbours swapped: dichvucnog
	TechSubstitution  Technique = "substitution"  // a letter replaced (a typo): dichvucomg
	TechHomoglyph     Technique = "homoglyph"     // a letter that looks alike: dichvuc0ng, Cyrillic о
	TechDiacritic     Technique = "diacritic"     // Vietnamese accents added or dropped: bộ / bo
	TechHyphenation   Technique = "hyphenation"   // hyphens added or removed: dich-vu-cong
	TechAddedWord     Technique = "added-word"    // dichvucong-login, secure-dichvucong
	TechTLD           Technique = "tld"           // the same name under another suffix: dichvucong.com
	TechFlattened     Technique = "flattened"     // the whole name as one label: dichvucong-gov-vn.com
	TechSubdomain     Technique = "subdomain"     // the whole name inside another: dichvucong.gov.vn.example.com
)

// Variant is one generated look-alike of a name.
type Variant struct {
	Name      string    `json:"name"` // an A-label DNS name
	Technique Technique `json:"technique"`
}

// DefaultWords are the words phishers add to a name.
var defaultWords = []string{"login", "secure", "gov", "portal", "online", "vn", "verify", "account", "support",
	"update", "auth", "sso", "mail", "webmail", "my", "egov", "dichvucong", "xacthuc", "dangnhap"}

// DefaultSuffixes are the suffixes tried for another-TLD look-alikes.
var defaultSuffixes = []string{"com", "net", "org", "info", "vn", "com.vn", "net.vn", "org.vn", "gov.vn", "edu.vn",
	"info.vn", "biz.vn", "io", "xyz", "top", "site", "online"}

// asciiLookalikes are replacements that look alike in most fonts, both
// ways where they go both ways.
var asciiLookalikes = map[string][]string{
	"o": {"0"}, "0": {"o"}, "l": {"1", "i"}, "1": {"l", "i"}, "i": {"1", "l"}, "e": {"3"}, "s": {"5"},
	"a": {"4"}, "g": {"q", "9"}, "q": {"g"}, "m": {"rn"}, "w": {"vv"}, "b": {"6"}, "z": {"2"},
}

// cyrillic are Cyrillic and Greek letters drawn like Latin ones (and so
// mapped to them by skeleton).
var cyrillic = map[rune]rune{
	'а': 'a', 'е': 'e', 'о': 'o', 'р': 'p', 'с': 'c', 'х': 'x', 'у': 'y', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'һ': 'h',
	'ԁ': 'd', 'ӏ': 'l', 'ο': 'o', 'α': 'a', 'ν': 'v', 'τ': 't', 'κ': 'k', 'ι': 'i', 'ρ': 'p',
}

// latinToCyrillic is the generator's side of cyrillic: one Cyrillic
// look-alike per Latin letter.
var latinToCyrillic = map[rune]rune{'a': 'а', 'e': 'е', 'o': 'о', 'p': 'р', 'c': 'с', 'x': 'х', 'y': 'у', 'i': 'і', 'j': 'ј', 's': 'ѕ', 'h': 'һ'}

// vietnameseMarks lists, for each base letter, its accented forms in
// Vietnamese (tones over a, ă, â, e, ê, i, o, ô, ơ, u, ư, y; đ).
var vietnameseMarks = map[rune][]rune{
	'a': []rune("àáảãạăằắẳẵặâầấẩẫậ"),
	'e': []rune("èéẻẽẹêềếểễệ"),
	'i': []rune("ìíỉĩị"),
	'o': []rune("òóỏõọôồốổỗộơờớởỡợ"),
	'u': []rune("ùúủũụưừứửữự"),
	'y': []rune("ỳýỷỹỵ"),
	'd': []rune("đ"),
}

// foldRune drops a letter's accents: 'ộ' → 'o', 'đ' → 'd'.
func foldRune(r rune) rune {
	if r == 'đ' || r == 'Đ' {
		return 'd'
	}
	d := norm.NFD.String(string(r))
	b, _ := utf8.DecodeRuneInString(d)
	return unicode.ToLower(b)
}

// fold drops every accent of s ("bộ y tế" → "bo y te").
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// skeleton maps a label to what it looks like: lower case, accents
// dropped, Cyrillic and Greek look-alikes and digits read as the Latin
// letters they imitate, "rn" read as "m", "vv" as "w", 'i' and '1' as
// 'l', and hyphens dropped. Two labels with one skeleton are confusable.
func skeleton(label string) string {
	var b strings.Builder
	b.Grow(len(label))
	for _, r := range label {
		if c, ok := cyrillic[unicode.ToLower(r)]; ok {
			r = c
		}
		r = foldRune(r)
		switch r {
		case '-':
			continue
		case '0':
			r = 'o'
		case '1', 'i':
			r = 'l'
		case '3':
			r = 'e'
		case '4':
			r = 'a'
		case '5':
			r = 's'
		case '6':
			r = 'b'
		case '9', 'q':
			r = 'g'
		case '2':
			r = 'z'
		}
		b.WriteRune(r)
	}
	s := b.String()
	if strings.Contains(s, "rn") {
		s = strings.ReplaceAll(s, "rn", "m")
	}
	if strings.Contains(s, "vv") {
		s = strings.ReplaceAll(s, "vv", "w")
	}
	return s
}

// splitDomain returns a registrable domain's first label, as Unicode,
// and its public suffix: "xn--b-4jt.vn" → "bộ", "vn".
func splitDomain(name string) (label, suffix string, ok bool) {
	suffix = asset.PublicSuffixes().PublicSuffix(name)
	if suffix == name || !strings.HasSuffix(name, "."+suffix) {
		return "", "", false
	}
	label = strings.TrimSuffix(name, "."+suffix)
	if strings.Contains(label, ".") {
		return "", "", false
	}
	if strings.HasPrefix(label, "xn--") {
		u, err := idna.Lookup.ToUnicode(label)
		if err != nil {
			return "", "", false
		}
		label = u
	}
	return label, suffix, true
}

// toALabel converts a Unicode label to its A-label, or "" when IDNA
// refuses it.
func toALabel(label string) string {
	a, err := idna.Lookup.ToASCII(label)
	if err != nil || a == "" || strings.Contains(a, ".") || len(a) > 63 || strings.HasPrefix(a, "-") || strings.HasSuffix(a, "-") {
		return ""
	}
	return a
}

// GenOptions tunes Generate; zero values use the defaults.
type GenOptions struct {
	Words    []string // words added before or after the label (default: login, secure, gov …)
	Suffixes []string // other suffixes (default: com, net, vn, com.vn, gov.vn …)
}

// Generate returns look-alikes of domain, a registrable domain
// ("dichvucong.gov.vn" or an internationalized one), each as an A-label
// name with its technique, without repeats and without domain itself:
// letters left out, doubled and swapped, look-alike letters (digits,
// Cyrillic), Vietnamese accents added to each vowel and to d (and
// dropped, for a name that has them), hyphens added and removed, words
// added, other suffixes, and the whole name flattened into one label.
// It is what the matcher (Lookalikes) recognizes, for analysts who want
// to check or register the variants.
func Generate(domain string, o GenOptions) []Variant {
	label, suffix, ok := splitDomain(domain)
	if !ok || label == "" {
		return nil
	}
	words, suffixes := o.Words, o.Suffixes
	if words == nil {
		words = defaultWords
	}
	if suffixes == nil {
		suffixes = defaultSuffixes
	}
	seen := map[string]bool{domain: true}
	var out []Variant
	add := func(l, suf string, t Technique) {
		a := toALabel(l)
		if a == "" {
			return
		}
		n := a + "." + suf
		if len(n) > 253 || seen[n] {
			return
		}
		seen[n] = true
		out = append(out, Variant{Name: n, Technique: t})
	}
	rs := []rune(label)
	for i := range rs {
		if len(rs) > 1 {
			add(string(slices.Delete(slices.Clone(rs), i, i+1)), suffix, TechOmission)
		}
		add(string(slices.Insert(slices.Clone(rs), i, rs[i])), suffix, TechRepetition)
		if i+1 < len(rs) && rs[i] != rs[i+1] {
			t := slices.Clone(rs)
			t[i], t[i+1] = t[i+1], t[i]
			add(string(t), suffix, TechTransposition)
		}
	}
	for i, r := range rs {
		for _, rep := range asciiLookalikes[string(r)] {
			add(string(rs[:i])+rep+string(rs[i+1:]), suffix, TechHomoglyph)
		}
		if c, ok := latinToCyrillic[r]; ok {
			add(string(rs[:i])+string(c)+string(rs[i+1:]), suffix, TechHomoglyph)
		}
		for _, m := range vietnameseMarks[r] {
			add(string(rs[:i])+string(m)+string(rs[i+1:]), suffix, TechDiacritic)
		}
		if i+1 < len(rs) && r != '-' && rs[i+1] != '-' {
			add(string(rs[:i+1])+"-"+string(rs[i+1:]), suffix, TechHyphenation)
		}
	}
	for i := 0; i+1 < len(rs); i++ {
		switch {
		case rs[i] == 'r' && rs[i+1] == 'n':
			add(string(rs[:i])+"m"+string(rs[i+2:]), suffix, TechHomoglyph)
		case rs[i] == 'v' && rs[i+1] == 'v':
			add(string(rs[:i])+"w"+string(rs[i+2:]), suffix, TechHomoglyph)
		}
	}
	if f := fold(label); f != label {
		add(f, suffix, TechDiacritic)
	}
	if strings.Contains(label, "-") {
		add(strings.ReplaceAll(label, "-", ""), suffix, TechHyphenation)
	}
	for _, w := range words {
		add(label+"-"+w, suffix, TechAddedWord)
		add(label+w, suffix, TechAddedWord)
		add(w+"-"+label, suffix, TechAddedWord)
		add(w+label, suffix, TechAddedWord)
	}
	for _, suf := range suffixes {
		if suf != suffix {
			add(label, suf, TechTLD)
		}
	}
	flat := label + "-" + strings.ReplaceAll(suffix, ".", "-")
	for _, suf := range []string{"com", "net", "vn", "com.vn"} {
		add(flat, suf, TechFlattened)
		add(strings.ReplaceAll(flat, "-", ""), suf, TechFlattened)
	}
	return out
}
