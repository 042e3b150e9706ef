package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/miekg/dns"
)

// ErrNames wraps every problem of a zone file or name list.
var ErrNames = errors.New("monitor: names")

// Limits of name files.
const (
	maxNameLine = 4096       // one line of a name list
	maxNames    = 50_000_000 // names in one file (a large ccTLD zone holds a few million)
)

// ReadNames streams the domain names of a zone file (RFC 1035 master
// format: the owner names of its records, as a ccTLD zone dump lists its
// delegations) or of a plain list (one name per line; '#' starts a
// comment), calling fn once per name in order, lower-case, without the
// trailing dot; a name repeated on consecutive records is given once.
// The format is told from the first lines: a list has one field per
// line. $INCLUDE is refused. A malformed file is an error naming the
// line; names given before it stay given.
func ReadNames(r io.Reader, fn func(name string) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(32 << 10)
	if isZoneFile(head) {
		return readZone(br, fn)
	}
	return readList(br, fn)
}

// isZoneFile reports whether the first lines of a file look like a zone
// file: a $ directive, or a line of several fields.
func isZoneFile(head []byte) bool {
	for line := range bytes.SplitSeq(head, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if i := bytes.IndexAny(t, "#;"); i >= 0 {
			t = bytes.TrimSpace(t[:i])
		}
		if len(t) == 0 {
			continue
		}
		if t[0] == '$' || len(bytes.Fields(t)) > 1 {
			return true
		}
	}
	return false
}

func readZone(r io.Reader, fn func(string) error) error {
	zp := dns.NewZoneParser(r, ".", "")
	zp.SetIncludeAllowed(false)
	last, n := "", 0
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		name := strings.ToLower(strings.TrimSuffix(rr.Header().Name, "."))
		if name == last || name == "" {
			continue
		}
		last = name
		if n++; n > maxNames {
			return fmt.Errorf("%w: more than %d names", ErrNames, maxNames)
		}
		if err := fn(name); err != nil {
			return err
		}
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("%w: zone file: %w", ErrNames, err)
	}
	return nil
}

func readList(r io.Reader, fn func(string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxNameLine), maxNameLine)
	line, n := 0, 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if i := strings.IndexByte(t, '#'); i >= 0 {
			t = t[:i]
		}
		t = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(t), "."))
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, " \t") || !validName(t) {
			return fmt.Errorf("%w: line %d: %q is not a domain name", ErrNames, line, printableText(t))
		}
		if n++; n > maxNames {
			return fmt.Errorf("%w: more than %d names", ErrNames, maxNames)
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%w: line %d: %w", ErrNames, line+1, err)
	}
	return nil
}

// validName is a loose check of a DNS name as lists give them: labels of
// 1-63 bytes of letters, digits, '-', '_' and '*' (a wildcard), at most
// 253 bytes. Internationalized names come as A-labels.
func validName(s string) bool {
	if len(s) > 253 {
		return false
	}
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '*') {
				return false
			}
		}
	}
	return true
}
