package fingerprint

import (
	"bytes"
	"encoding/json"
	"html"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Limits on what one HTTP reply may contribute.
const (
	maxHeaders   = 100
	maxJSONFacts = 200
	maxJSONDepth = 8
)

var titleRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })

// parseHTTPResponse reads an HTTP/1.x response. Facts: http.version,
// status, reason, header.<lower-case name> (repeated headers joined with
// ", "), body, title, and json.<path> for every scalar in a JSON body
// (arrays indexed: json.items.0.name).
func parseHTTPResponse(b []byte) (facts, error) {
	if len(b) < 12 {
		return nil, ErrShort
	}
	if !bytes.HasPrefix(b, []byte("HTTP/")) {
		return nil, malformed("http: no status line")
	}
	end := bytes.Index(b, []byte("\r\n\r\n"))
	sep := 4
	if e2 := bytes.Index(b, []byte("\n\n")); e2 >= 0 && (end < 0 || e2 < end) {
		end, sep = e2, 2
	}
	head := b
	var body []byte
	if end >= 0 {
		head, body = b[:end], b[end+sep:]
	}
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	status := strings.SplitN(lines[0], " ", 3)
	if len(status) < 2 || len(status[1]) != 3 {
		return nil, malformed("http: status line %q", clip(lines[0], 64))
	}
	code, err := strconv.Atoi(status[1])
	if err != nil || code < 100 || code > 999 {
		return nil, malformed("http: status code %q", clip(status[1], 8))
	}
	f := facts{}
	f.set("http.version", strings.TrimPrefix(status[0], "HTTP/"))
	f.set("status", status[1])
	if len(status) == 3 {
		f.set("reason", strings.TrimSpace(status[2]))
	}
	n := 0
	for _, ln := range lines[1:] {
		name, value, ok := strings.Cut(ln, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			continue
		}
		if n++; n > maxHeaders {
			break
		}
		k := "header." + strings.ToLower(name)
		value = strings.TrimSpace(value)
		if prev, dup := f[k]; dup {
			value = prev + ", " + value
		}
		f.set(k, value)
	}
	if strings.EqualFold(f["header.transfer-encoding"], "chunked") {
		body = dechunk(body)
	}
	f.set("body", string(body))
	if m := titleRE().FindSubmatch(body); m != nil {
		t := strings.Join(strings.Fields(html.UnescapeString(string(m[1]))), " ")
		f.set("title", clip(t, 256))
	}
	if ct := f["header.content-type"]; strings.Contains(ct, "json") || (len(body) > 0 && (body[0] == '{' || body[0] == '[')) {
		flattenJSON(body, "json", f)
	}
	return f, nil
}

// dechunk decodes as much of a chunked body as is present.
func dechunk(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			break
		}
		sz := strings.TrimSpace(string(b[:i]))
		if j := strings.IndexByte(sz, ';'); j >= 0 {
			sz = sz[:j]
		}
		n, err := strconv.ParseUint(sz, 16, 32)
		if err != nil || n == 0 {
			break
		}
		b = b[i+2:]
		if uint64(len(b)) < n {
			out = append(out, b...)
			break
		}
		out = append(out, b[:n]...)
		b = bytes.TrimPrefix(b[n:], []byte("\r\n"))
	}
	return out
}

// flattenJSON adds prefix.<path> facts for the scalars of a JSON document.
func flattenJSON(body []byte, prefix string, f facts) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return
	}
	n := 0
	var walk func(path string, v any, depth int)
	walk = func(path string, v any, depth int) {
		if n >= maxJSONFacts || depth > maxJSONDepth {
			return
		}
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e, depth+1)
			}
		case []any:
			for i, e := range x {
				if i >= 20 {
					break
				}
				walk(path+"."+strconv.Itoa(i), e, depth+1)
			}
		case string:
			n++
			f.set(path, x)
		case json.Number:
			n++
			f.set(path, x.String())
		case bool:
			n++
			f.set(path, strconv.FormatBool(x))
		case nil:
			n++
			f.set(path, "")
		}
	}
	walk(prefix, v, 0)
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// httpComplete reports whether b holds a whole HTTP response, so that the
// reader need not wait for the server to close.
func httpComplete(b []byte) bool {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	head := strings.ToLower(string(b[:end]))
	body := b[end+4:]
	if i := strings.Index(head, "\ncontent-length:"); i >= 0 {
		v := head[i+len("\ncontent-length:"):]
		if j := strings.IndexByte(v, '\n'); j >= 0 {
			v = v[:j]
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return err == nil && len(body) >= n
	}
	if strings.Contains(head, "\ntransfer-encoding: chunked") {
		return bytes.HasSuffix(body, []byte("0\r\n\r\n"))
	}
	if strings.HasPrefix(head, "http/1.1 304") || strings.HasPrefix(head, "http/1.1 204") || strings.HasPrefix(head, "http/1.0 304") {
		return true
	}
	return false
}
