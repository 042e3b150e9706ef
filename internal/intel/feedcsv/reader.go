package feedcsv

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// ErrLineTooLong is returned by LineReader.Next for a line longer than the
// reader's bound. The line is skipped; the next call reads the one after.
var ErrLineTooLong = errors.New("feedcsv: line too long")

// ErrOpenQuote is returned by SplitFields when a quoted field is not closed
// on the line.
var ErrOpenQuote = errors.New("feedcsv: quoted field not closed at the end of the line")

// LineReader reads a stream line by line with a bound on the line length,
// so a hostile or broken file costs at most one buffer of memory.
type LineReader struct {
	br  *bufio.Reader
	max int
	n   int
}

// NewLineReader reads r in lines of at most max bytes (end of line not
// counted).
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{br: bufio.NewReaderSize(r, max+2), max: max}
}

// Next returns the next line without its end of line ("\n" or "\r\n") and
// its number, counting from 1. The slice is valid until the next call. At
// the end of the input it returns io.EOF; a line longer than the bound gives
// ErrLineTooLong and is skipped.
func (l *LineReader) Next() ([]byte, int, error) {
	line, err := l.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		l.n++
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, l.n, err
		}
		return nil, l.n, ErrLineTooLong
	}
	if err == io.EOF {
		if len(line) == 0 {
			return nil, l.n, io.EOF
		}
	} else if err != nil {
		return nil, l.n, err
	}
	l.n++
	line = trimEOL(line)
	if len(line) > l.max {
		return nil, l.n, ErrLineTooLong
	}
	return line, l.n, nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}

// SplitFields appends the fields of one delimited line to dst. Unquoted
// fields are substrings of line, as they are. A field that starts with a
// double quote (after blanks) runs to the next quote that is followed by
// the delimiter or the end of the line (blanks allowed between); inside it
// "" and \" each stand for one quote, as feeds and Shadowserver write them,
// and any other quote is kept. A quoted field still open at the end of the
// line gives ErrOpenQuote (with the fields before it).
func SplitFields(dst []string, line string, delim byte) ([]string, error) {
	i := 0
	for {
		j := i
		if delim != ' ' && delim != '\t' {
			for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
				j++
			}
		}
		if j < len(line) && line[j] == '"' {
			field, next, err := quoted(line, j+1, delim)
			if err != nil {
				return dst, err
			}
			dst = append(dst, field)
			if next >= len(line) {
				return dst, nil
			}
			i = next + 1
			continue
		}
		k := strings.IndexByte(line[i:], delim)
		if k < 0 {
			return append(dst, line[i:]), nil
		}
		dst = append(dst, line[i:i+k])
		i += k + 1
	}
}

// quoted reads a quoted field whose text starts at start. It returns the
// field and the index of the delimiter after it (len(line) at the end).
func quoted(line string, start int, delim byte) (string, int, error) {
	var b []byte // only when the field has escapes
	from := start
	for j := start; j < len(line); j++ {
		switch line[j] {
		case '"':
			if end, ok := closes(line, j+1, delim); ok {
				if b == nil {
					return line[from:j], end, nil
				}
				return string(append(b, line[from:j]...)), end, nil
			}
			if j+1 < len(line) && line[j+1] == '"' {
				b = append(b, line[from:j+1]...)
				j++
				from = j + 1
			}
		case '\\':
			if j+1 < len(line) && line[j+1] == '"' {
				if _, ok := closes(line, j+2, delim); !ok {
					b = append(b, line[from:j]...)
					b = append(b, '"')
					j++
					from = j + 1
				}
			}
		}
	}
	return "", 0, ErrOpenQuote
}

// closes reports whether a quote just before i closes the field: only
// blanks until the delimiter or the end of the line. It returns the
// delimiter's index.
func closes(line string, i int, delim byte) (int, bool) {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') && line[i] != delim {
		i++
	}
	if i == len(line) || line[i] == delim {
		return i, true
	}
	return 0, false
}

// splitBlanks appends the runs of non-blank text of line to dst.
func splitBlanks(dst []string, line string) []string {
	i := 0
	for i < len(line) {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		j := i
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		if j > i {
			dst = append(dst, line[i:j])
		}
		i = j
	}
	return dst
}
