package stix

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rampart-cert/rampart/internal/intel"
)

// Observable is one value a pattern names.
type Observable struct {
	Kind  intel.Kind
	Value string // as written in the pattern; intel.NormalizeValue checks it
}

// PatternError says why a pattern is refused. Unsupported is true for a
// well-formed pattern that uses more than equality and OR over the
// supported objects, false for a malformed one.
type PatternError struct {
	Reason      string
	Unsupported bool
}

func (e *PatternError) Error() string { return "stix: " + e.Reason }

// ErrPattern is wrapped by every *PatternError (errors.Is).
var ErrPattern = errors.New("stix: pattern refused")

func (e *PatternError) Is(target error) bool { return target == ErrPattern }

const onlyEqOr = "only = and OR are supported"

func unsupported(format string, args ...any) error {
	return &PatternError{Reason: fmt.Sprintf(format, args...), Unsupported: true}
}

func malformed(pos int, format string, args ...any) error {
	return &PatternError{Reason: fmt.Sprintf("pattern is malformed at offset %d: ", pos) + fmt.Sprintf(format, args...)}
}

// ParsePattern reads a STIX 2.1 pattern and returns the values it names.
// It accepts the subset a blocklist can honour: comparisons with = (or ==)
// of ipv4-addr:value and ipv6-addr:value (an address or a CIDR network),
// domain-name:value, url:value, email-addr:value,
// email-message:from_ref.value and sender_ref.value, file:hashes.MD5,
// 'SHA-1' and 'SHA-256' (any quoting or letter case of the hash name) and
// autonomous-system:number, joined by OR inside an observation ([...]) and
// between observations, with parentheses.
//
// One AND is accepted: inside one observation, comparisons of the same
// file joined by AND, at least one of them a hash, such as
// [file:hashes.MD5 = '…' AND file:hashes.'SHA-256' = '…' AND file:name = 'x'].
// Every hash names the same content, so each hash becomes an observable;
// the other file properties (name, size …) only narrow a match the hash
// already pins, and are dropped. Two different values of one hash
// algorithm cannot both hold, and refuse the pattern.
//
// Anything else — AND elsewhere, FOLLOWEDBY, NOT, !=, <, >, IN, LIKE,
// MATCHES, ISSUBSET, ISSUPERSET, EXISTS, the WITHIN, REPEATS and
// START/STOP qualifiers, other objects or properties — refuses the whole
// pattern with a *PatternError naming the construct: nothing of a refused
// pattern is returned.
func ParsePattern(pattern string) ([]Observable, error) {
	var p patternParser
	return p.parse(pattern)
}

// parse is ParsePattern reusing the parser's buffers: the observables are
// valid until the next call.
func (p *patternParser) parse(pattern string) ([]Observable, error) {
	*p = patternParser{s: pattern, cmps: p.cmps[:0], spans: p.spans[:0], out: p.out[:0]}
	if err := p.observations(0); err != nil {
		return nil, err
	}
	if t := p.next(); t.kind != tEOF {
		return nil, p.unexpected(t, "after the pattern")
	}
	return p.out, nil
}

// Lexer.

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tColon
	tDot
	tComma
	tStar
	tOp     // = == != <> < <= > >=
	tString // '...', text is the decoded value
	tIdent  // name or keyword; also a "double-quoted" name
	tNumber
	tTyped // t'...', h'...', b'...'
	tBad   // a lexical error; text says which
)

type token struct {
	kind tokKind
	text string
	pos  int
}

type patternParser struct {
	s     string
	i     int
	tok   *token // one token of look-ahead
	buf   token
	cmps  []comparison // the comparisons of the observation being read
	spans []span       // its alternatives
	out   []Observable
}

func (p *patternParser) peek() token {
	if p.tok == nil {
		p.buf = p.lex()
		p.tok = &p.buf
	}
	return *p.tok
}

func (p *patternParser) next() token {
	t := p.peek()
	p.tok = nil
	return t
}

func isIdentStart(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
}

func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '-' }

func (p *patternParser) lex() token {
	s := p.s
	for p.i < len(s) && (s[p.i] == ' ' || s[p.i] == '\t' || s[p.i] == '\n' || s[p.i] == '\r') {
		p.i++
	}
	start := p.i
	if p.i >= len(s) {
		return token{kind: tEOF, pos: start}
	}
	c := s[p.i]
	one := func(k tokKind) token { p.i++; return token{kind: k, text: s[start:p.i], pos: start} }
	switch c {
	case '[':
		return one(tLBrack)
	case ']':
		return one(tRBrack)
	case '(':
		return one(tLParen)
	case ')':
		return one(tRParen)
	case ':':
		return one(tColon)
	case '.':
		return one(tDot)
	case ',':
		return one(tComma)
	case '*':
		return one(tStar)
	case '\'':
		v, ok := p.quoted('\'')
		if !ok {
			return token{kind: tBad, text: "unterminated or badly escaped string", pos: start}
		}
		return token{kind: tString, text: v, pos: start}
	case '"':
		v, ok := p.quoted('"')
		if !ok {
			return token{kind: tBad, text: "unterminated quoted name", pos: start}
		}
		return token{kind: tIdent, text: v, pos: start}
	case '=', '!', '<', '>':
		p.i++
		if p.i < len(s) && (s[p.i] == '=' || (c == '<' && s[p.i] == '>')) {
			p.i++
		}
		op := s[start:p.i]
		if op == "!" {
			return token{kind: tBad, text: "'!' without '='", pos: start}
		}
		return token{kind: tOp, text: op, pos: start}
	}
	if c == '-' || c == '+' || isDigit(c) {
		p.i++
		for p.i < len(s) && (isDigit(s[p.i]) || s[p.i] == '.' || s[p.i] == 'e' || s[p.i] == 'E') {
			p.i++
		}
		return token{kind: tNumber, text: s[start:p.i], pos: start}
	}
	if isIdentStart(c) {
		// t'…', h'…', b'…' typed literals.
		if (c == 't' || c == 'h' || c == 'b') && p.i+1 < len(s) && s[p.i+1] == '\'' {
			p.i++
			if _, ok := p.quoted('\''); !ok {
				return token{kind: tBad, text: "unterminated string", pos: start}
			}
			return token{kind: tTyped, text: s[start:p.i], pos: start}
		}
		for p.i < len(s) && isIdentByte(s[p.i]) {
			p.i++
		}
		return token{kind: tIdent, text: s[start:p.i], pos: start}
	}
	p.i++
	return token{kind: tBad, text: fmt.Sprintf("unexpected character %q", c), pos: start}
}

// quoted reads a literal opened by q at p.i: the escapes are \q and \\.
func (p *patternParser) quoted(q byte) (string, bool) {
	s := p.s
	i := p.i + 1
	start := i
	plain := true
	for i < len(s) {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) || (s[i+1] != q && s[i+1] != '\\') {
				return "", false
			}
			plain = false
			i += 2
			continue
		case q:
			p.i = i + 1
			if plain {
				return s[start:i], true
			}
			var b strings.Builder
			for j := start; j < i; j++ {
				if s[j] == '\\' {
					j++
				}
				b.WriteByte(s[j])
			}
			return b.String(), true
		}
		i++
	}
	return "", false
}

func (p *patternParser) unexpected(t token, where string) error {
	switch t.kind {
	case tEOF:
		return malformed(t.pos, "pattern ends %s", where)
	case tBad:
		return malformed(t.pos, "%s", t.text)
	}
	if t.kind == tIdent {
		if k := keyword(t.text); k != "" {
			return keywordErr(k)
		}
	}
	return malformed(t.pos, "unexpected %q %s", t.text, where)
}

// keyword returns the upper-case keyword an identifier spells, or "".
func keyword(s string) string {
	if len(s) < 2 || len(s) > 10 {
		return ""
	}
	switch u := strings.ToUpper(s); u {
	case "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "IN", "ISSUBSET",
		"ISSUPERSET", "EXISTS", "WITHIN", "REPEATS", "START", "STOP":
		return u
	}
	return ""
}

func keywordErr(k string) error {
	switch k {
	case "WITHIN", "REPEATS", "START", "STOP":
		return unsupported("pattern uses %s: qualifiers are not supported, %s", k, onlyEqOr)
	}
	return unsupported("pattern uses %s: %s", k, onlyEqOr)
}

// Grammar (STIX 2.1 patterning, section 9), with the subset's limits
// checked as it is read:
//
//	observations := obsAnd { (OR | FOLLOWEDBY) obsAnd }
//	obsAnd       := obsUnit { AND obsUnit }            (AND refused)
//	obsUnit      := ('[' cmpOr ']' | '(' observations ')') [qualifier]
//	cmpOr        := cmpAnd { OR cmpAnd }
//	cmpAnd       := cmpUnit { AND cmpUnit }            (one file only)
//	cmpUnit      := '(' cmpOr ')' | [EXISTS] path [NOT] op literal

func (p *patternParser) observations(depth int) error {
	if depth > 32 {
		return malformed(p.i, "parentheses nested too deep")
	}
	for {
		if err := p.obsUnit(depth); err != nil {
			return err
		}
		t := p.peek()
		if t.kind != tIdent {
			return nil
		}
		switch keyword(t.text) {
		case "OR":
			p.next()
		case "":
			return p.unexpected(t, "after an observation")
		default: // AND, FOLLOWEDBY, qualifiers …
			return keywordErr(keyword(t.text))
		}
	}
}

func (p *patternParser) obsUnit(depth int) error {
	t := p.next()
	switch t.kind {
	case tLBrack:
		first := len(p.spans)
		if err := p.cmpOr(depth); err != nil {
			return err
		}
		if t := p.next(); t.kind != tRBrack {
			return p.unexpected(t, "where ']' closes the observation")
		}
		for _, sp := range p.spans[first:] {
			if err := p.accept(p.cmps[sp.start:sp.end]); err != nil {
				return err
			}
		}
		p.spans = p.spans[:first]
	case tLParen:
		if err := p.observations(depth + 1); err != nil {
			return err
		}
		if t := p.next(); t.kind != tRParen {
			return p.unexpected(t, "where ')' closes the observations")
		}
	default:
		return p.unexpected(t, "where an observation '[' should start")
	}
	if t := p.peek(); t.kind == tIdent {
		if k := keyword(t.text); k == "WITHIN" || k == "REPEATS" || k == "START" {
			return keywordErr(k)
		}
	}
	return nil
}

// comparison is one path = value of an observation.
type comparison struct {
	kind    intel.Kind // "" for a file property that is not a supported hash
	file    bool       // a property of a file
	hash    bool       // file:hashes.X
	typ     string     // the object type
	props   [2]string  // the first property names
	n       int        // how many property names
	indexed bool       // a list step [*] or [n]
	indexAt int        // after how many property names the first list step is
	val     string
}

// path writes the comparison's object path, for reasons.
func (c *comparison) path() string {
	var b strings.Builder
	b.WriteString(c.typ)
	b.WriteByte(':')
	for i := 0; i < min(c.n, len(c.props)); i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(c.props[i])
		if c.indexed && c.indexAt == i+1 {
			b.WriteString("[*]")
		}
	}
	if c.n > len(c.props) {
		b.WriteString(".…")
	}
	return b.String()
}

// span is one alternative of an observation: the conjunction
// p.cmps[start:end].
type span struct{ start, end int }

// cmpOr reads the alternatives of an observation onto p.spans.
func (p *patternParser) cmpOr(depth int) error {
	for {
		if err := p.cmpAnd(depth); err != nil {
			return err
		}
		t := p.peek()
		if t.kind == tIdent && keyword(t.text) == "OR" {
			p.next()
			continue
		}
		return nil
	}
}

// cmpAnd reads a conjunction: one span, or, for a lone parenthesized
// OR, several.
func (p *patternParser) cmpAnd(depth int) error {
	first := len(p.spans)
	parts, multi := 0, false
	for {
		before := len(p.spans)
		if err := p.cmpUnit(depth); err != nil {
			return err
		}
		multi = multi || len(p.spans)-before != 1
		parts++
		t := p.peek()
		if t.kind == tIdent && keyword(t.text) == "AND" {
			p.next()
			continue
		}
		break
	}
	if parts == 1 {
		return nil
	}
	if multi {
		return unsupported("pattern uses AND over OR: %s", onlyEqOr)
	}
	// Each part is one span; their comparisons follow each other.
	merged := span{p.spans[first].start, p.spans[len(p.spans)-1].end}
	p.spans = append(p.spans[:first], merged)
	return nil
}

func (p *patternParser) cmpUnit(depth int) error {
	t := p.peek()
	if t.kind == tLParen {
		if depth > 32 {
			return malformed(t.pos, "parentheses nested too deep")
		}
		p.next()
		if err := p.cmpOr(depth + 1); err != nil {
			return err
		}
		if t := p.next(); t.kind != tRParen {
			return p.unexpected(t, "where ')' closes the comparison")
		}
		return nil
	}
	if t.kind == tIdent && keyword(t.text) != "" {
		return keywordErr(keyword(t.text)) // EXISTS, NOT …
	}
	c, err := p.comparison()
	if err != nil {
		return err
	}
	p.cmps = append(p.cmps, c)
	p.spans = append(p.spans, span{len(p.cmps) - 1, len(p.cmps)})
	return nil
}

// comparison reads path op literal.
func (p *patternParser) comparison() (comparison, error) {
	typ := p.next()
	if typ.kind != tIdent {
		return comparison{}, p.unexpected(typ, "where an object type should be")
	}
	if t := p.next(); t.kind != tColon {
		return comparison{}, p.unexpected(t, "where ':' follows the object type")
	}
	c := comparison{typ: typ.text}
	first := p.next()
	if first.kind != tIdent && first.kind != tString {
		return comparison{}, p.unexpected(first, "where a property name should be")
	}
	c.props[0], c.n = first.text, 1
	for {
		t := p.peek()
		if t.kind == tDot {
			p.next()
			name := p.next()
			if name.kind != tIdent && name.kind != tString {
				return comparison{}, p.unexpected(name, "where a property name should follow '.'")
			}
			if c.n < len(c.props) {
				c.props[c.n] = name.text
			}
			c.n++
			continue
		}
		if t.kind == tLBrack {
			p.next()
			idx := p.next()
			if idx.kind != tStar && idx.kind != tNumber {
				return comparison{}, p.unexpected(idx, "where a list index should be")
			}
			if t := p.next(); t.kind != tRBrack {
				return comparison{}, p.unexpected(t, "where ']' closes the list index")
			}
			if !c.indexed {
				c.indexed, c.indexAt = true, c.n
			}
			continue
		}
		break
	}
	op := p.next()
	if op.kind == tIdent {
		if k := keyword(op.text); k != "" {
			return comparison{}, keywordErr(k)
		}
	}
	if op.kind != tOp {
		return comparison{}, p.unexpected(op, "where a comparison operator should be")
	}
	lit := p.next()
	switch lit.kind {
	case tString, tNumber, tTyped:
	case tIdent:
		if l := strings.ToLower(lit.text); l != "true" && l != "false" {
			return comparison{}, p.unexpected(lit, "where a value should be")
		}
	case tLParen:
		return comparison{}, unsupported("pattern compares %s with a set: %s", c.path(), onlyEqOr)
	default:
		return comparison{}, p.unexpected(lit, "where a value should be")
	}
	if op.text != "=" && op.text != "==" {
		return comparison{}, unsupported("pattern uses %s: %s", op.text, onlyEqOr)
	}
	c.val = lit.text
	if c.indexed || c.n > len(c.props) {
		return c, nil // not a supported path: accept says why
	}
	ty := strings.ToLower(c.typ)
	p0 := strings.ToLower(c.props[0])
	n := c.n
	switch {
	case n == 1 && p0 == "value" && (ty == "ipv4-addr" || ty == "ipv6-addr"):
		c.kind = intel.KindIPv4
		if ty == "ipv6-addr" {
			c.kind = intel.KindIPv6
		}
		if strings.Contains(lit.text, "/") {
			c.kind = intel.KindCIDR
			if v6 := strings.Contains(lit.text, ":"); v6 != (ty == "ipv6-addr") {
				return comparison{}, &PatternError{Reason: fmt.Sprintf("pattern compares %s with %q, a network of the other IP version", c.path(), lit.text)}
			}
		}
	case n == 1 && p0 == "value" && ty == "domain-name":
		c.kind = intel.KindDomain
	case n == 1 && p0 == "value" && ty == "url":
		c.kind = intel.KindURL
	case n == 1 && p0 == "value" && ty == "email-addr":
		c.kind = intel.KindEmail
	case n == 2 && ty == "email-message" && (p0 == "from_ref" || p0 == "sender_ref") && strings.EqualFold(c.props[1], "value"):
		c.kind = intel.KindEmail
	case n == 1 && p0 == "number" && ty == "autonomous-system":
		if lit.kind != tNumber && lit.kind != tString {
			return comparison{}, malformed(lit.pos, "AS number %q", lit.text)
		}
		c.kind = intel.KindASN
		return c, nil
	case n == 2 && ty == "file" && p0 == "hashes":
		c.file, c.hash = true, true
		switch hashName(c.props[1]) {
		case "md5":
			c.kind = intel.KindMD5
		case "sha1":
			c.kind = intel.KindSHA1
		case "sha256":
			c.kind = intel.KindSHA256
		default:
			// Another algorithm of the file: usable only beside a
			// supported hash (see accept).
			c.kind = ""
		}
	case ty == "file":
		// A file property: usable only beside a hash, and dropped there,
		// so its value may be of any type.
		c.file = true
		return c, nil
	default:
		return c, nil // not a supported path: accept says why
	}
	if lit.kind != tString {
		return comparison{}, unsupported("pattern compares %s with %s: the value must be a quoted string", c.path(), lit.text)
	}
	return c, nil
}

// hashName folds a hash name: "SHA-256", "sha_256" and "SHA256" are
// "sha256".
func hashName(s string) string {
	var b [16]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '-' || c == '_':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(b) {
			return ""
		}
		b[n] = c
		n++
	}
	switch string(b[:n]) {
	case "md5":
		return "md5"
	case "sha1":
		return "sha1"
	case "sha256":
		return "sha256"
	}
	return ""
}

func unsupportedPath(path string) error {
	return unsupported("pattern compares %s: only ipv4-addr:value, ipv6-addr:value, domain-name:value, url:value, "+
		"email-addr:value, email-message:from_ref.value, file:hashes (MD5, SHA-1, SHA-256) and autonomous-system:number are supported", path)
}

// accept checks one alternative (a conjunction) and adds its observables.
func (p *patternParser) accept(conj []comparison) error {
	if len(conj) == 1 {
		c := conj[0]
		if c.kind == "" {
			if !c.file {
				return unsupportedPath(c.path())
			}
			if c.hash {
				return unsupported("pattern compares %s: only the MD5, SHA-1 and SHA-256 hashes of a file are supported", c.path())
			}
			return unsupportedPath(c.path())
		}
		p.out = append(p.out, Observable{Kind: c.kind, Value: c.val})
		return nil
	}
	// AND: accepted between properties of one file, one at least a
	// supported hash; the hashes are kept.
	var seen [3]string // md5, sha1, sha256
	kept := 0
	for _, c := range conj {
		if !c.file {
			return unsupported("pattern uses AND: %s (AND is accepted only between the hashes and other properties of one file)", onlyEqOr)
		}
		if c.kind == "" {
			continue
		}
		i := 0
		switch c.kind {
		case intel.KindSHA1:
			i = 1
		case intel.KindSHA256:
			i = 2
		}
		v := strings.ToLower(c.val)
		if seen[i] != "" {
			if seen[i] != v {
				return unsupported("pattern ANDs two different %s hashes of one file, which no file has", c.kind)
			}
			continue
		}
		seen[i] = v
		kept++
		p.out = append(p.out, Observable{Kind: c.kind, Value: c.val})
	}
	if kept == 0 {
		return unsupported("pattern uses AND over file properties without an MD5, SHA-1 or SHA-256 hash: %s", onlyEqOr)
	}
	return nil
}
