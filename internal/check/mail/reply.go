// Package mail holds Rampart's mail-server checks: today
// mail.starttls-missing (RFC 3207) on SMTP services.
//
// It speaks just enough SMTP itself (greeting, EHLO, STARTTLS, QUIT) over
// connections from env.Dial, with a deadline on every step and a cap on
// all bytes read from the server, which may be hostile. It sends no mail.
package mail

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors.
var (
	// ErrReplySyntax is a server reply that is not an SMTP reply.
	ErrReplySyntax = errors.New("mail: malformed SMTP reply")
	// ErrTooLarge is a server that sent more than we read.
	ErrTooLarge = errors.New("mail: server reply too large")
)

// maxReplyLines bounds the lines of one reply; real EHLO replies have ~15.
const maxReplyLines = 100

// Reply is one SMTP reply (RFC 5321 4.2): a code and its text lines.
type Reply struct {
	Code  int
	Lines []string // the text after "250-" / "250 ", one per line
}

// ParseReply parses one complete reply: lines "ddd-text" continue it, the
// last is "ddd text" or "ddd"; every line carries the same code. Line
// ends may be CRLF or LF; a final line end is optional.
func ParseReply(raw string) (Reply, error) {
	raw = strings.TrimSuffix(strings.TrimSuffix(raw, "\n"), "\r")
	if raw == "" {
		return Reply{}, fmt.Errorf("%w: empty", ErrReplySyntax)
	}
	lines := strings.Split(raw, "\n")
	if len(lines) > maxReplyLines {
		return Reply{}, fmt.Errorf("%w: more than %d lines", ErrReplySyntax, maxReplyLines)
	}
	var r Reply
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		code, more, text, err := parseReplyLine(line)
		if err != nil {
			return Reply{}, err
		}
		if i == 0 {
			r.Code = code
		} else if code != r.Code {
			return Reply{}, fmt.Errorf("%w: code %d after %d", ErrReplySyntax, code, r.Code)
		}
		last := i == len(lines)-1
		if more == last {
			return Reply{}, fmt.Errorf("%w: line %d: continuation marker", ErrReplySyntax, i+1)
		}
		r.Lines = append(r.Lines, text)
	}
	return r, nil
}

// parseReplyLine splits "250-text" into 250, true, "text".
func parseReplyLine(line string) (code int, more bool, text string, err error) {
	if len(line) < 3 {
		return 0, false, "", fmt.Errorf("%w: short line %q", ErrReplySyntax, line)
	}
	for i := range 3 {
		c := line[i]
		if c < '0' || c > '9' {
			return 0, false, "", fmt.Errorf("%w: code %q", ErrReplySyntax, line[:3])
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 || code > 599 {
		return 0, false, "", fmt.Errorf("%w: code %d", ErrReplySyntax, code)
	}
	if len(line) == 3 {
		return code, false, "", nil
	}
	switch line[3] {
	case '-':
		more = true
	case ' ':
	default:
		return 0, false, "", fmt.Errorf("%w: separator %q", ErrReplySyntax, line[3])
	}
	return code, more, line[4:], nil
}

// EHLO is a parsed positive EHLO reply (RFC 5321 4.1.1.1).
type EHLO struct {
	Domain   string // the server's name from the first line
	Greeting string
	// Extensions maps upper-case keywords to their parameters.
	Extensions map[string]string
}

// Has reports whether the server advertised the extension keyword.
func (e EHLO) Has(keyword string) bool {
	_, ok := e.Extensions[strings.ToUpper(keyword)]
	return ok
}

// ParseEHLO parses the reply to EHLO; it must be a 250 reply. Lines whose
// keyword is not ALPHA/DIGIT *(ALPHA/DIGIT/"-") are ignored, as clients do.
func ParseEHLO(raw string) (EHLO, error) {
	r, err := ParseReply(raw)
	if err != nil {
		return EHLO{}, err
	}
	return ehloFrom(r)
}

func ehloFrom(r Reply) (EHLO, error) {
	if r.Code != 250 {
		return EHLO{}, fmt.Errorf("%w: EHLO answered %d", ErrReplySyntax, r.Code)
	}
	e := EHLO{Extensions: map[string]string{}}
	e.Domain, e.Greeting, _ = strings.Cut(strings.TrimSpace(r.Lines[0]), " ")
	for _, l := range r.Lines[1:] {
		kw, params, _ := strings.Cut(strings.TrimSpace(l), " ")
		if !validKeyword(kw) {
			continue
		}
		kw = strings.ToUpper(kw)
		if _, dup := e.Extensions[kw]; !dup {
			e.Extensions[kw] = strings.TrimSpace(params)
		}
	}
	return e, nil
}

func validKeyword(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !(c|0x20 >= 'a' && c|0x20 <= 'z') && c != '-' {
			return false
		}
	}
	return true
}
