package svc

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
)

// HTTP authentication challenges (RFC 7235) and the Digest client (RFC
// 7616, with RFC 2069's form without qop that old devices still speak),
// for the web logins of routers and cameras.

// Challenge is one challenge of a WWW-Authenticate header: the scheme in
// lower case ("basic", "digest") and its parameters, names in lower case.
type Challenge struct {
	Scheme string
	Params map[string]string
}

// maxChallenges bounds what ParseChallenges keeps of a hostile header.
const maxChallenges = 8

// ParseChallenges reads the challenges of WWW-Authenticate header values:
// each value may hold several challenges separated by commas, each a
// scheme followed by name=value parameters (values are tokens or quoted
// strings). Parameters it cannot read are skipped; a scheme without
// parameters (Negotiate) is kept with none.
func ParseChallenges(values []string) []Challenge {
	var out []Challenge
	for _, v := range values {
		if len(v) > 4096 {
			v = v[:4096]
		}
		s := &authScanner{s: v}
		for len(out) < maxChallenges {
			s.skip(" \t,")
			scheme := s.token()
			if scheme == "" {
				if s.i >= len(s.s) {
					break
				}
				s.i++ // a byte no grammar allows: step over it
				continue
			}
			ch := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
			for {
				save := s.i
				s.skip(" \t,")
				name := s.token()
				s.skip(" \t")
				if name == "" || !s.eat('=') {
					s.i = save // the next challenge's scheme, or the end
					break
				}
				s.skip(" \t")
				var val string
				if s.i < len(s.s) && s.s[s.i] == '"' {
					val = s.quoted()
				} else {
					val = s.token68()
				}
				if len(ch.Params) < 16 {
					ch.Params[strings.ToLower(name)] = val
				}
			}
			out = append(out, ch)
		}
	}
	return out
}

type authScanner struct {
	s string
	i int
}

func (a *authScanner) skip(set string) {
	for a.i < len(a.s) && strings.IndexByte(set, a.s[a.i]) >= 0 {
		a.i++
	}
}

func (a *authScanner) eat(c byte) bool {
	if a.i < len(a.s) && a.s[a.i] == c {
		a.i++
		return true
	}
	return false
}

func isTokenByte(c byte) bool {
	return c > 0x20 && c < 0x7f && !strings.ContainsRune("()<>@,;:\\\"/[]?={} \t", rune(c))
}

func (a *authScanner) token() string {
	start := a.i
	for a.i < len(a.s) && isTokenByte(a.s[a.i]) {
		a.i++
	}
	return a.s[start:a.i]
}

// token68 is a token that may also hold '/' and trailing '=' (base64).
func (a *authScanner) token68() string {
	start := a.i
	for a.i < len(a.s) && (isTokenByte(a.s[a.i]) || a.s[a.i] == '/' || a.s[a.i] == '=') {
		a.i++
	}
	return a.s[start:a.i]
}

func (a *authScanner) quoted() string {
	var sb strings.Builder
	a.i++ // opening quote
	for a.i < len(a.s) {
		c := a.s[a.i]
		a.i++
		switch c {
		case '"':
			return sb.String()
		case '\\':
			if a.i < len(a.s) {
				sb.WriteByte(a.s[a.i])
				a.i++
			}
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

// errDigestUnsupported is a Digest challenge the client cannot answer
// (auth-int only, an unknown algorithm).
var errDigestUnsupported = errors.New("svc: digest challenge not supported")

// digestAuthorization answers a Digest challenge for one request (RFC
// 7616 section 3.4: MD5, SHA-256 and their -sess forms, qop auth, or no
// qop as RFC 2069 devices ask). cnonce is random unless given (tests).
func digestAuthorization(ch Challenge, method, uri, user, password, cnonce string) (string, error) {
	realm, nonce := ch.Params["realm"], ch.Params["nonce"]
	if nonce == "" {
		return "", errDigestUnsupported
	}
	algo := ch.Params["algorithm"]
	var newHash func() hash.Hash
	switch strings.ToUpper(strings.TrimSuffix(strings.ToUpper(algo), "-SESS")) {
	case "", "MD5":
		newHash = md5.New
	case "SHA-256":
		newHash = sha256.New
	default:
		return "", errDigestUnsupported
	}
	h := func(s string) string {
		d := newHash()
		io.WriteString(d, s)
		return hex.EncodeToString(d.Sum(nil))
	}
	qop := ""
	if q, ok := ch.Params["qop"]; ok {
		for _, o := range strings.Split(q, ",") {
			if strings.TrimSpace(o) == "auth" {
				qop = "auth"
			}
		}
		if qop == "" {
			return "", errDigestUnsupported
		}
	}
	if cnonce == "" {
		var b [12]byte
		rand.Read(b[:])
		cnonce = hex.EncodeToString(b[:])
	}
	const nc = "00000001"
	ha1 := h(user + ":" + realm + ":" + password)
	if strings.HasSuffix(strings.ToUpper(algo), "-SESS") {
		ha1 = h(ha1 + ":" + nonce + ":" + cnonce)
	}
	ha2 := h(method + ":" + uri)
	var response string
	if qop == "" {
		response = h(ha1 + ":" + nonce + ":" + ha2)
	} else {
		response = h(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":" + qop + ":" + ha2)
	}
	q := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	var b strings.Builder
	fmt.Fprintf(&b, "Digest username=%s, realm=%s, nonce=%s, uri=%s, response=%s", q(user), q(realm), q(nonce), q(uri), q(response))
	if algo != "" {
		fmt.Fprintf(&b, ", algorithm=%s", algo)
	}
	if op, ok := ch.Params["opaque"]; ok {
		fmt.Fprintf(&b, ", opaque=%s", q(op))
	}
	if qop != "" {
		fmt.Fprintf(&b, ", qop=%s, nc=%s, cnonce=%s", qop, nc, q(cnonce))
	}
	return b.String(), nil
}

// send is one request to the web client's target with the given headers;
// it returns the status, headers and up to 64 KiB of body.
func (w *webClient) send(ctx context.Context, method, path string, hdr http.Header, body []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.base+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Host = w.host
	for k, v := range hdr {
		req.Header[k] = v
	}
	if w.ua != "" {
		req.Header.Set("User-Agent", w.ua)
	}
	resp, err := w.c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, resp.Header, b, nil
}
