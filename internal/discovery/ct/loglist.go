package ct

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrFile wraps errors of log lists and imported CT files.
var ErrFile = errors.New("discovery: ct: bad file")

// MaxLogList caps a log list file.
const MaxLogList = 8 << 20

// Log is one log of a log list.
type Log struct {
	Description string `json:"description"`
	LogID       string `json:"log_id"`
	Key         string `json:"key"` // base64 DER SubjectPublicKeyInfo
	URL         string `json:"url"`
	MMD         int    `json:"mmd"`
	Operator    string `json:"-"`
	// State is the log's state in the list: "usable", "qualified",
	// "readonly", "retired", "pending", "rejected", or "" when unset.
	State string `json:"-"`
	// FinalTreeSize is a read-only log's final tree size, 0 when unset.
	FinalTreeSize uint64 `json:"-"`
}

// Readable reports whether a log still serves entries worth reading:
// every state but pending and rejected.
func (l Log) Readable() bool { return l.State != "pending" && l.State != "rejected" }

type logListJSON struct {
	Operators []struct {
		Name string `json:"name"`
		Logs []struct {
			Log
			State map[string]struct {
				FinalTreeHead *struct {
					TreeSize uint64 `json:"tree_size"`
				} `json:"final_tree_head"`
			} `json:"state"`
		} `json:"logs"`
	} `json:"operators"`
}

// ParseLogList reads a log list in the v3 format (loglist3.json): the
// operators and their logs, with each log's URL, key and state.
func ParseLogList(r io.Reader) ([]Log, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxLogList+1))
	if err != nil {
		return nil, fmt.Errorf("%w: log list: %w", ErrFile, err)
	}
	if len(b) > MaxLogList {
		return nil, fmt.Errorf("%w: log list larger than %d bytes", ErrFile, MaxLogList)
	}
	var ll logListJSON
	if err := json.Unmarshal(b, &ll); err != nil {
		return nil, fmt.Errorf("%w: log list: %w", ErrFile, err)
	}
	var out []Log
	for _, op := range ll.Operators {
		for _, l := range op.Logs {
			lg := l.Log
			lg.Operator = op.Name
			for st, v := range l.State {
				lg.State = st
				if v.FinalTreeHead != nil {
					lg.FinalTreeSize = v.FinalTreeHead.TreeSize
				}
			}
			if lg.URL == "" {
				return nil, fmt.Errorf("%w: log list: log %q has no URL", ErrFile, lg.Description)
			}
			out = append(out, lg)
		}
	}
	return out, nil
}

// MaxFileLine caps one line of an imported JSON-lines file, and a
// get-entries response saved over several lines.
const MaxFileLine = 64 << 20

// ReadFile reads CT entries saved to a file, for sites without access to
// the logs: either one get-entries response ({"entries": [...]}, on one
// line or pretty-printed) or JSON lines, each one entry ({"leaf_input":
// ..., "extra_data": ...}, optionally with "index") or a get-entries
// response. It calls fn for each entry with its index (the line's
// "index", else its position in the file). A line that does not parse
// stops the read with its line number; entries already passed to fn stay
// passed.
func ReadFile(r io.Reader, fn func(index uint64, e RawEntry) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var pos uint64
	emit := func(es []RawEntry) error {
		for _, e := range es {
			if err := fn(pos, e); err != nil {
				return err
			}
			pos++
		}
		return nil
	}
	for line := 1; ; line++ {
		b, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: line %d: %w", ErrFile, line, err)
		}
		eof := errors.Is(err, io.EOF)
		t := bytes.TrimSpace(b)
		switch {
		case len(t) == 0:
		case !json.Valid(t):
			if line != 1 || t[0] != '{' {
				return fmt.Errorf("%w: line %d: not a JSON value", ErrFile, line)
			}
			// A pretty-printed get-entries response: the whole file.
			rest, err := io.ReadAll(io.LimitReader(br, MaxFileLine+1-int64(len(b))))
			if err != nil {
				return fmt.Errorf("%w: %w", ErrFile, err)
			}
			if len(b)+len(rest) > MaxFileLine {
				return fmt.Errorf("%w: a multi-line JSON document larger than %d bytes (save entries as JSON lines)", ErrFile, MaxFileLine)
			}
			var er EntriesResponse
			if err := json.Unmarshal(append(b, rest...), &er); err != nil {
				return fmt.Errorf("%w: %w", ErrFile, err)
			}
			return emit(er.Entries)
		default:
			var e struct {
				RawEntry
				Index   *uint64         `json:"index"`
				Entries json.RawMessage `json:"entries"`
			}
			if err := json.Unmarshal(t, &e); err != nil {
				return fmt.Errorf("%w: line %d: %w", ErrFile, line, err)
			}
			if e.Entries != nil {
				var er EntriesResponse
				if err := json.Unmarshal(t, &er); err != nil {
					return fmt.Errorf("%w: line %d: %w", ErrFile, line, err)
				}
				if err := emit(er.Entries); err != nil {
					return err
				}
				break
			}
			if len(e.LeafInput) == 0 {
				return fmt.Errorf("%w: line %d: no leaf_input", ErrFile, line)
			}
			idx := pos
			if e.Index != nil {
				idx = *e.Index
			}
			if err := fn(idx, e.RawEntry); err != nil {
				return err
			}
			pos++
		}
		if eof {
			return nil
		}
	}
}

// readLine reads one line of at most MaxFileLine bytes; io.EOF comes with
// the last line.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > MaxFileLine {
			return nil, fmt.Errorf("line longer than %d bytes", MaxFileLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return out, err
	}
}
