package sqlstore

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/jsonw"
	"github.com/rampart-cert/rampart/internal/store"
)

// recordedEvents are the outbox messages of a recorded batch's changes,
// as enqueueChanges writes them. A report whose every row is a new
// finding spends more on encoding its events with encoding/json (which
// reflects over each change and re-validates and compacts each evidence)
// than on storing them, so each change is written by appendChangeJSON.
// valid holds the evidence the batch validated (Batch.Normalize): those
// need not be checked again.
func recordedEvents(changes []finding.Change, valid validEvidence) ([]store.OutboxMessage, error) {
	t := now()
	msgs := make([]store.OutboxMessage, len(changes))
	var buf []byte
	for i := range changes {
		c := &changes[i]
		start := len(buf)
		var ok bool
		buf, ok = appendChangeJSON(buf, c, valid)
		if !ok {
			buf = buf[:start]
			data, err := json.Marshal(c)
			if err != nil {
				return nil, fmt.Errorf("outbox: %w", err)
			}
			buf = append(buf, data...)
		}
		msgs[i] = store.OutboxMessage{Subject: FindingEventSubject(c.Kind), MsgID: c.EventID(), CreatedAt: t}
		msgs[i].Data = buf[start:len(buf):len(buf)]
		if cap(buf)-len(buf) < 4096 {
			// A new block: the messages keep the old one.
			buf = make([]byte, 0, max(64<<10, 2*(len(buf)-start)))
		}
	}
	return msgs, nil
}

// encodeInBackground is the number of changes from which savePlanValid
// encodes their events beside its other writes rather than before them.
const encodeInBackground = 256

// pendingEvents encodes the events of changes (in one bundle when there
// are many: outbox_bundle.go), in a goroutine of its own
// when there are many: the caller goes on writing the plan meanwhile
// (the machine's other core encodes while this one runs SQLite). wait
// returns them.
func pendingEvents(changes []finding.Change, valid validEvidence) (wait func() ([]store.OutboxMessage, error)) {
	type result struct {
		msgs []store.OutboxMessage
		err  error
	}
	if len(changes) < encodeInBackground {
		msgs, err := recordedEvents(changes, valid)
		return func() ([]store.OutboxMessage, error) { return bundleMessages(msgs), err }
	}
	done := make(chan result, 1) // the goroutine never blocks, even if nobody waits
	go func() {
		msgs, err := recordedEvents(changes, valid)
		done <- result{bundleMessages(msgs), err}
	}()
	return func() ([]store.OutboxMessage, error) {
		r := <-done
		return r.msgs, r.err
	}
}

// validEvidence names evidence known to be valid JSON by where its bytes
// are (their first byte and length): a batch's seen findings, validated by
// Batch.Normalize and shared, not copied, by the plan's changes. A
// negative length says the evidence is also written as json.Marshal
// writes it (compact, HTML-escaped: Batch.EncodedEvidence), so an event
// takes it as it is.
type validEvidence map[*byte]int

func validSeen(seen []finding.Finding, encoded bool) validEvidence {
	v := make(validEvidence, len(seen))
	for i := range seen {
		if e := seen[i].Evidence; len(e) > 0 {
			if encoded {
				v[&e[0]] = -len(e)
			} else {
				v[&e[0]] = len(e)
			}
		}
	}
	return v
}

func (v validEvidence) has(e json.RawMessage) bool {
	n, ok := v[&e[0]]
	return ok && (n == len(e) || n == -len(e))
}

func (v validEvidence) marshaled(e json.RawMessage) bool {
	n, ok := v[&e[0]]
	return ok && n == -len(e)
}

// appendChangeJSON appends c as json.Marshal writes it: the same fields in
// the same order, the same omissions, the same escaping. It reports false
// when c holds what it does not write itself the same way (a value
// encoding/json would refuse, such as evidence that is not JSON); the
// caller then uses json.Marshal. Values it writes only in their common
// forms (plain strings, compact evidence, a score in fixed notation) go
// through json.Marshal one at a time otherwise, which encodes a field
// inside a struct as it encodes it alone.
func appendChangeJSON(b []byte, c *finding.Change, valid validEvidence) ([]byte, bool) {
	ok := true
	b = append(b, `{"kind":`...)
	b = jsonw.AppendString(b, string(c.Kind))
	b = append(b, `,"finding":`...)
	if b, ok = appendFindingJSON(b, &c.Finding, valid); !ok {
		return b, false
	}
	if !c.At.IsZero() {
		b = append(b, `,"at":`...)
		if b, ok = appendJSONTime(b, c.At); !ok {
			return b, false
		}
	}
	b = jsonw.AppendOpt(b, `,"action":`, string(c.Action))
	b = jsonw.AppendOpt(b, `,"from":`, string(c.From))
	b = jsonw.AppendOpt(b, `,"to":`, string(c.To))
	b = jsonw.AppendOpt(b, `,"actor":`, c.Actor)
	return append(b, '}'), true
}

// appendFindingJSON appends f as json.Marshal writes a finding.Finding.
func appendFindingJSON(b []byte, f *finding.Finding, valid validEvidence) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, f.ID, 10)
	b = append(b, `,"key":`...)
	b = jsonw.AppendString(b, f.Key)
	b = append(b, `,"org_id":`...)
	b = strconv.AppendInt(b, f.OrgID, 10)
	b = append(b, `,"asset_id":`...)
	b = strconv.AppendInt(b, f.AssetID, 10)
	b = append(b, `,"source":`...)
	b = jsonw.AppendString(b, string(f.Source))
	b = jsonw.AppendOpt(b, `,"source_ref":`, f.SourceRef)
	b = append(b, `,"check":`...)
	b = jsonw.AppendString(b, f.Check)
	b = append(b, `,"family":`...)
	b = jsonw.AppendString(b, f.Family)
	b = append(b, `,"severity":`...)
	b = jsonw.AppendString(b, string(f.Severity))
	b = append(b, `,"target":`...)
	b = jsonw.AppendString(b, f.Target)
	b = jsonw.AppendOpt(b, `,"subject":`, f.Subject)
	b = append(b, `,"title":`...)
	b = jsonw.AppendString(b, f.Title)
	if len(f.Evidence) > 0 {
		switch {
		case valid.marshaled(f.Evidence):
			b = append(append(b, `,"evidence":`...), f.Evidence...)
		case valid.has(f.Evidence) || json.Valid(f.Evidence):
			b = appendCompactJSON(append(b, `,"evidence":`...), f.Evidence)
		default:
			return b, false
		}
	}
	b = append(b, `,"cve":`...)
	if f.CVE == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, c := range f.CVE {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"kev":`...)
	b = strconv.AppendBool(b, f.KEV)
	if f.EPSS != 0 {
		b = append(b, `,"epss":`...)
		if b, ok = appendJSONFloat(b, f.EPSS); !ok {
			return b, false
		}
	}
	b = append(b, `,"state":`...)
	b = jsonw.AppendString(b, string(f.State))
	b = append(b, `,"first_seen":`...)
	if b, ok = appendJSONTime(b, f.FirstSeen); !ok {
		return b, false
	}
	b = append(b, `,"last_seen":`...)
	if b, ok = appendJSONTime(b, f.LastSeen); !ok {
		return b, false
	}
	for _, t := range []struct {
		name string
		at   *time.Time
	}{{`,"due_at":`, f.DueAt}, {`,"fixed_at":`, f.FixedAt}, {`,"until":`, f.Until}} {
		if t.at != nil {
			b = append(b, t.name...)
			if b, ok = appendJSONTime(b, *t.at); !ok {
				return b, false
			}
		}
	}
	b = jsonw.AppendOpt(b, `,"reason":`, f.Reason)
	b = jsonw.AppendOpt(b, `,"approver":`, f.Approver)
	if f.Waiver != nil {
		w, err := json.Marshal(f.Waiver)
		if err != nil {
			return b, false
		}
		b = append(b, `,"waiver":`...)
		b = append(b, w...)
	}
	if f.VerifyRequestedAt != nil {
		b = append(b, `,"verify_requested_at":`...)
		if b, ok = appendJSONTime(b, *f.VerifyRequestedAt); !ok {
			return b, false
		}
	}
	b = jsonw.AppendOpt(b, `,"last_job_id":`, f.LastJobID)
	b = append(b, `,"updated_at":`...)
	if b, ok = appendJSONTime(b, f.UpdatedAt); !ok {
		return b, false
	}
	return append(b, '}'), true
}

// appendCompactJSON appends valid JSON as encoding/json writes a
// json.RawMessage: compacted, with <, >, &, U+2028 and U+2029 escaped.
// JSON already compact (no white space outside its strings) and free of
// those characters is written as it is; other JSON through json.Marshal.
func appendCompactJSON(b []byte, raw json.RawMessage) []byte {
	in := false // inside a string
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"':
			in = !in
		case c == '\\':
			i++ // the escaped byte is ASCII: a quote, a backslash, a letter
		case c == '<' || c == '>' || c == '&' || c == 0xe2: // 0xe2 leads U+2028 and U+2029
			return appendRaw(b, raw)
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return appendRaw(b, raw)
		}
	}
	return append(b, raw...)
}

// appendRaw appends valid JSON through json.Marshal.
func appendRaw(b []byte, raw json.RawMessage) []byte {
	q, _ := json.Marshal(raw) // valid JSON always encodes
	return append(b, q...)
}

// appendJSONTime appends t as its MarshalJSON does (RFC 3339 with
// nanoseconds); false for a time it refuses. UTC times in years 0-9999
// are formatted here, others by MarshalJSON.
func appendJSONTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y >= 0 && y <= 9999 && t.Location() == time.UTC {
		b = append(b, '"')
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), true
	}
	q, err := t.MarshalJSON()
	if err != nil {
		return b, false
	}
	return append(b, q...), true
}

// appendJSONFloat appends f in the fixed notation encoding/json uses for
// 1e-6 ≤ |f| < 1e21; other values through json.Marshal.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		return strconv.AppendFloat(b, f, 'f', -1, 64), true
	}
	q, err := json.Marshal(f)
	if err != nil {
		return b, false
	}
	return append(b, q...), true
}
