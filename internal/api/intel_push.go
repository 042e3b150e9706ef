package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/hub"
	"github.com/rampart-cert/rampart/internal/intel"
	"github.com/rampart-cert/rampart/internal/store"
)

// Limits of the push API.
const (
	maxPushBody    = 64 << 20 // bytes of one submission
	maxPushRecords = 100_000  // records of a JSON submission
	maxSightings   = 5_000    // sightings of one request
)

// pushRecord is one indicator a member or partner submits.
type pushRecord struct {
	Kind       intel.Kind     `json:"kind"`
	Value      string         `json:"value"`
	Category   intel.Category `json:"category,omitempty"`
	Confidence *int           `json:"confidence,omitempty"` // 0-100; default 50
	TLP        intel.TLP      `json:"tlp,omitempty"`        // default AMBER
	FirstSeen  time.Time      `json:"first_seen,omitzero"`
	LastSeen   time.Time      `json:"last_seen,omitzero"`
	ValidUntil time.Time      `json:"valid_until,omitzero"`
	Labels     []string       `json:"labels,omitempty"` // "malware:emotet", "actor:apt1", "campaign:x"
	// ExternalID is the submitter's own ID of the record (kept on the
	// indicator's source and in early warnings).
	ExternalID string `json:"external_id,omitempty"`
	// Detail is what the record says beyond the value: the port of an
	// exposed service, the infection name … (keys lower case; never a
	// password: a key that names a secret stays out of early warnings).
	Detail map[string]string `json:"detail,omitempty"`
	// Recipients name whom a TLP:RED record is for: platform
	// organization IDs and user IDs. Only with "tlp": "red".
	Recipients *intel.Recipients `json:"recipients,omitempty"`
}

// Bounds of a pushed record's detail and external ID.
const (
	maxPushDetail      = 32   // keys
	maxPushDetailValue = 1024 // bytes of a key or a value
	maxPushExternalID  = 200  // bytes
)

// pushRejection is one record or object refused, with why.
type pushRejection struct {
	Index  int    `json:"index"`           // the record's position in a JSON submission (0-based); -1 for STIX
	Where  string `json:"where,omitempty"` // the STIX object
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

// pushResult says what a submission did.
type pushResult struct {
	Feed     string          `json:"feed"`
	Accepted int             `json:"accepted"` // records read and applied
	Rejected []pushRejection `json:"rejected"`
	// RejectedCount counts every refusal; Rejected lists the first ones.
	RejectedCount int     `json:"rejected_count"`
	Run           hub.Run `json:"run"`
}

// pushIndicators takes a JSON array of records or a STIX bundle. Each
// record is checked on its own and a refused one is reported, never
// applied in part; the accepted ones reach the hub through its one door
// for inputs (hub.Import: matched against the registry for early
// warnings, merged into the indicators, recorded on the feed).
func (s *Server) pushIndicators(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can(auth.PermWriteFeeds) {
		return errf(CodeForbidden, "submitting indicators needs "+string(auth.PermWriteFeeds)+" (a feed-producer token, or the national level)")
	}
	ctx := r.Context()
	q := r.URL.Query()
	feed, err := s.pushFeed(ctx, p, q.Get("feed"))
	if err != nil {
		return err
	}
	mt := "application/json"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ = mime.ParseMediaType(ct)
	}
	done, err := s.enterImport(w, p)
	if err != nil {
		return err
	}
	defer done()
	body := http.MaxBytesReader(w, r.Body, maxPushBody)
	res := pushResult{Feed: feed, Rejected: []pushRejection{}}
	switch mt {
	case "application/stix+json", "application/vnd.oasis.stix+json":
		var tlp intel.TLP
		if v := q.Get("tlp"); v != "" {
			if tlp, err = intel.ParseTLP(v); err != nil {
				return errf(CodeBadRequest, err.Error())
			}
		}
		run, err := s.Hub.Import(ctx, hub.ImportRequest{Format: store.FeedSTIX, Feed: feed, Name: "push", TLP: tlp}, body)
		if err != nil {
			return importFailure(err)
		}
		res.Run, res.Accepted, res.RejectedCount = run, run.Records, run.Rejected
		for _, rj := range run.Rejections {
			res.Rejected = append(res.Rejected, pushRejection{Index: -1, Where: rj.Where, Reason: rj.Reason})
		}
	case "application/json":
		recs, rejected, err := readPushRecords(body, feed, s.Now(), s.recipientsExist(ctx))
		if err != nil {
			return err
		}
		res.Rejected, res.RejectedCount = rejected, len(rejected)
		if len(recs) == 0 && len(rejected) > 0 {
			return refusedAll("no record accepted", rejected)
		}
		if len(recs) > 0 {
			run, err := s.Hub.ImportRecords(ctx, hub.ImportRequest{Format: "json", Feed: feed, Name: "push.json"}, recs)
			if err != nil {
				return importFailure(err)
			}
			res.Run, res.Accepted = run, run.Records
			for _, rj := range run.Rejections {
				res.Rejected = append(res.Rejected, pushRejection{Index: -1, Where: rj.Where, Reason: rj.Reason})
				res.RejectedCount++
			}
		}
	default:
		return errf(CodeUnsupportedType, "submit a JSON array of records (application/json) or a STIX 2.1 bundle (application/stix+json), not "+mt)
	}
	writeJSON(w, 200, res)
	return nil
}

// readPushRecords reads a JSON array of records. A body that is not a
// JSON array is refused whole; a record that is not a valid record (an
// unknown field, a bad value, a recipient check refuses: nil checks
// none) is listed with its reason and left out.
func readPushRecords(r io.Reader, feed string, now time.Time, check func(intel.Recipients) string) ([]intel.Record, []pushRejection, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, jsonBodyError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, nil, errf(CodeBadRequest, "the body must be a JSON array of records")
	}
	rejected := []pushRejection{}
	var recs []intel.Record
	for i := 0; dec.More(); i++ {
		if i == maxPushRecords {
			return nil, nil, errf(CodeTooLarge, "more than "+strconv.Itoa(maxPushRecords)+" records in one submission; split it")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, jsonBodyError(err)
		}
		var pr pushRecord
		one := json.NewDecoder(bytes.NewReader(raw))
		one.DisallowUnknownFields()
		if err := one.Decode(&pr); err != nil {
			rejected = append(rejected, pushRejection{Index: i, Reason: "not a record: " + strings.TrimPrefix(err.Error(), "json: ")})
			continue
		}
		rec := intel.Record{Kind: pr.Kind, Value: pr.Value, Feed: feed, Category: pr.Category, Confidence: intel.DefaultConfidence,
			TLP: pr.TLP, FirstSeen: pr.FirstSeen, LastSeen: pr.LastSeen, ValidUntil: pr.ValidUntil, Labels: pr.Labels, ExternalID: pr.ExternalID}
		if pr.Confidence != nil {
			rec.Confidence = *pr.Confidence
		}
		if reason := pushExtras(&pr, &rec); reason != "" {
			rejected = append(rejected, pushRejection{Index: i, Value: cutString(pr.Value, 200), Reason: reason})
			continue
		}
		if err := rec.Normalize(now); err != nil {
			rejected = append(rejected, pushRejection{Index: i, Value: cutString(pr.Value, 200), Reason: err.Error()})
			continue
		}
		if !rec.ValidUntil.IsZero() && !rec.ValidUntil.After(rec.FirstSeen) {
			rejected = append(rejected, pushRejection{Index: i, Value: cutString(pr.Value, 200), Reason: "valid_until is not after first_seen"})
			continue
		}
		if check != nil && !rec.Recipients.Empty() {
			if reason := check(rec.Recipients); reason != "" {
				rejected = append(rejected, pushRejection{Index: i, Value: cutString(pr.Value, 200), Reason: reason})
				continue
			}
		}
		recs = append(recs, rec)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, jsonBodyError(err)
	}
	if dec.More() {
		return nil, nil, errf(CodeBadRequest, "bad JSON body: more than one value")
	}
	return recs, rejected, nil
}

// recipientsExist checks that the organizations and people a record
// names exist (the store would drop those that do not, and the submitter
// should know), each looked up once a submission.
func (s *Server) recipientsExist(ctx context.Context) func(intel.Recipients) string {
	known := map[[2]int64]bool{}
	exists := func(t, id int64) bool {
		k := [2]int64{t, id}
		if ok, seen := known[k]; seen {
			return ok
		}
		var err error
		if t == 0 {
			_, err = s.Store.GetOrg(ctx, auth.SystemPrincipal, id)
		} else {
			_, err = s.Store.GetUser(ctx, auth.SystemPrincipal, id)
		}
		known[k] = err == nil
		return err == nil
	}
	return func(r intel.Recipients) string {
		for _, id := range r.Orgs {
			if !exists(0, id) {
				return fmt.Sprintf("recipient organization %d does not exist", id)
			}
		}
		for _, id := range r.Users {
			if !exists(1, id) {
				return fmt.Sprintf("recipient user %d does not exist", id)
			}
		}
		return ""
	}
}

// pushExtras checks and copies a pushed record's external ID, detail
// and recipients; it returns why they are refused, or "".
func pushExtras(pr *pushRecord, rec *intel.Record) string {
	if len(pr.ExternalID) > maxPushExternalID {
		return fmt.Sprintf("external_id is longer than %d bytes", maxPushExternalID)
	}
	if len(pr.Detail) > maxPushDetail {
		return fmt.Sprintf("detail has more than %d keys", maxPushDetail)
	}
	if len(pr.Detail) > 0 {
		rec.Detail = make(map[string]string, len(pr.Detail))
		for k, v := range pr.Detail {
			k = strings.ToLower(strings.TrimSpace(k))
			if k == "" || len(k) > maxPushDetailValue || len(v) > maxPushDetailValue {
				return fmt.Sprintf("detail: keys must be non-empty and keys and values at most %d bytes", maxPushDetailValue)
			}
			rec.Detail[k] = strings.ToValidUTF8(v, "")
		}
	}
	if pr.Recipients != nil && !pr.Recipients.Empty() {
		if t, err := intel.ParseTLP(string(pr.TLP)); err != nil || t != intel.TLPRed {
			return `recipients are for TLP:RED records only ("tlp": "red")`
		}
		rec.Recipients = *pr.Recipients
	}
	return ""
}

// importFailure is what the client sees of a failed import: a bundle
// that does not parse is the client's to fix (422 with the parser's
// words); the rest is classified as usual.
func importFailure(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.HasPrefix(e.Error(), "stix:") || errors.Is(e, hub.ErrFormat) {
			return errf(CodeImportFailed, e.Error())
		}
	}
	return err
}

func jsonBodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	if errors.Is(err, io.EOF) {
		return errf(CodeBadRequest, "request body is empty")
	}
	return errf(CodeBadRequest, "bad JSON body: "+strings.TrimPrefix(err.Error(), "json: "))
}

func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// sightingRequest is one report of having seen an indicator.
type sightingRequest struct {
	Kind      intel.Kind `json:"kind"`
	Value     string     `json:"value"`
	OrgID     int64      `json:"org_id,omitempty"` // who saw it: yours, or one below it; default yours
	Count     int        `json:"count,omitempty"`  // default 1
	FirstSeen time.Time  `json:"first_seen,omitzero"`
	LastSeen  time.Time  `json:"last_seen,omitzero"`
}

// sightingResult lists what was recorded and what was refused.
type sightingResult struct {
	Recorded []store.Sighting `json:"recorded"`
	Rejected []pushRejection  `json:"rejected"`
}

// pushSightings records sightings one by one (each its own transaction):
// a refused one changes nothing and is listed with its reason.
func (s *Server) pushSightings(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var reqs []sightingRequest
	if err := decode(w, r, &reqs); err != nil {
		return err
	}
	if len(reqs) > maxSightings {
		return errf(CodeTooLarge, fmt.Sprintf("more than %d sightings in one request; split it", maxSightings))
	}
	res := sightingResult{Recorded: []store.Sighting{}, Rejected: []pushRejection{}}
	for i, sr := range reqs {
		org := sr.OrgID
		if org == 0 {
			org = p.OrgID
		}
		if org == 0 {
			res.Rejected = append(res.Rejected, pushRejection{Index: i, Value: cutString(sr.Value, 200), Reason: "org_id: say which organization saw it"})
			continue
		}
		sg, err := s.Hub.RecordSighting(r.Context(), p, hub.Sighting{Kind: sr.Kind, Value: sr.Value, OrgID: org, Count: sr.Count,
			FirstSeen: sr.FirstSeen, LastSeen: sr.LastSeen})
		switch {
		case err == nil:
			res.Recorded = append(res.Recorded, sg)
		case errors.Is(err, store.ErrForbidden):
			return err // the principal's rights: every item would fail alike
		case errors.Is(err, store.ErrNotFound):
			res.Rejected = append(res.Rejected, pushRejection{Index: i, Value: cutString(sr.Value, 200),
				Reason: "the hub holds no such indicator, or the organization is not in your subtree"})
		case errors.Is(err, store.ErrInvalid), errors.Is(err, intel.ErrInvalid):
			res.Rejected = append(res.Rejected, pushRejection{Index: i, Value: cutString(sr.Value, 200), Reason: err.Error()})
		default:
			return err
		}
	}
	if len(res.Recorded) == 0 && len(res.Rejected) > 0 {
		return refusedAll("no sighting recorded", res.Rejected)
	}
	writeJSON(w, 200, res)
	return nil
}

// refusedAll is the error of a submission of which nothing was applied:
// 422 with the first reasons.
func refusedAll(what string, rejected []pushRejection) error {
	var b strings.Builder
	b.WriteString(what)
	for i, r := range rejected {
		if i == 10 {
			fmt.Fprintf(&b, "; and %d more", len(rejected)-i)
			break
		}
		fmt.Fprintf(&b, "; item %d", r.Index)
		if r.Value != "" {
			fmt.Fprintf(&b, " (%s)", r.Value)
		}
		b.WriteString(": " + r.Reason)
	}
	return errf(CodeImportFailed, b.String())
}
