package finding

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Coverage says what a source examined: these finding kinds (checks) on
// this target of this asset. With All, every kind the batch's source and
// reference report (an import of a tool over a host covers everything that
// tool finds there).
type Coverage struct {
	AssetID int64
	OrgID   int64 // informational: the asset identifies what was covered
	Target  string
	Checks  []string
	All     bool
	// Reason says why, for the history of what Batch.Ended fixes.
	Reason string
}

// Batch is what one report of a source saw: a scan job's results, one
// imported file, one pull of a feed.
type Batch struct {
	Source Source // default SourceScan
	Ref    string // the tool or feed: "nuclei", "urlhaus"; "" for scans
	JobID  string // the scan job or import that reported it
	At     time.Time
	Policy Policy // due dates for new findings
	// Tiers gives the tier of each asset of the batch (see TierOf), for
	// the policy's tiered rows; an asset missing here gets the base row.
	// The findings service fills it from the registry.
	Tiers map[int64]Tier
	// Covered is what the report examined, for sources closed by
	// coverage; it is ignored for the others.
	Covered []Coverage
	// Ended is what the source itself reports over (a discovered asset
	// its owner confirmed or rejected): an active finding of the batch's
	// own source and reference on that asset and target, of one of
	// Checks (any with All), that the batch does not see and that was
	// last seen before At, is fixed at once, whatever the source's
	// closure. It lets a source closed by expiry close a finding the
	// moment it knows, instead of waiting for expiry.
	Ended []Coverage
	// Seen are the problems found; OrgID, AssetID, Check, Severity,
	// Target are required; Family, Subject, Title, Evidence, CVE, KEV
	// optional. Source, SourceRef and Key are filled from the batch.
	Seen []Finding
	// EncodedEvidence says that the caller wrote every evidence of Seen
	// with an encoder of its own that writes exactly what json.Marshal
	// writes (valid, compact, HTML-escaped JSON: the hub's): Normalize
	// does not parse it again, and a store may copy it into an event as
	// it is. Evidence from outside the process never has it.
	EncodedEvidence bool
}

// KeyOf derives the stable identity of a finding reported by a source. A
// scan finding's key is Key(asset, check, target, subject); every other
// source's keys are its own, so two sources reporting the same thing keep
// two findings, each closed the way its source closes.
func KeyOf(src Source, ref string, assetID int64, checkID, target, subject string) string {
	if src == SourceScan || src == "" {
		return Key(assetID, checkID, target, subject)
	}
	h := sha256.New()
	for _, s := range []string{string(src), ref, strconv.FormatInt(assetID, 10), checkID, strings.ToLower(target)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write([]byte(subject))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ActorOf names a source in history entries: "scanner" for scans,
// "importer:nuclei", "intel:urlhaus" …
func ActorOf(src Source, ref string) string {
	switch {
	case src == SourceScan || src == "":
		return "scanner"
	case src == SourceImport && ref != "":
		return "importer:" + ref
	case ref != "":
		return string(src) + ":" + ref
	}
	return string(src)
}

// Normalize checks a batch and brings it to its stored form: times in UTC
// to the microsecond, severities parsed, families, sources and keys filled
// in, CVE lists never nil. It returns the seen findings with the same key
// reported twice kept once (the later report wins: a job may report one
// problem twice, and refusing would fail it forever on redelivery). Errors
// wrap ErrInvalid.
func (b *Batch) Normalize() ([]Finding, error) {
	if b.Source == "" {
		b.Source = SourceScan
	}
	if !b.Source.Valid() {
		return nil, fmt.Errorf("%w: unknown source %q", ErrInvalid, b.Source)
	}
	if b.At.IsZero() {
		b.At = time.Now()
	}
	b.At = b.At.UTC().Truncate(time.Microsecond)
	if err := b.Policy.Validate(); err != nil {
		return nil, err
	}
	for i, c := range b.Covered {
		if c.AssetID <= 0 || strings.TrimSpace(c.Target) == "" {
			return nil, fmt.Errorf("%w: covered[%d]: an asset and a target are required", ErrInvalid, i)
		}
	}
	for i, c := range b.Ended {
		if c.AssetID <= 0 || strings.TrimSpace(c.Target) == "" || (len(c.Checks) == 0 && !c.All) {
			return nil, fmt.Errorf("%w: ended[%d]: an asset, a target and checks are required", ErrInvalid, i)
		}
	}
	seen := make([]Finding, 0, len(b.Seen))
	at := make(map[string]int, len(b.Seen))
	for i, f := range b.Seen {
		if f.AssetID <= 0 || f.OrgID <= 0 {
			return nil, fmt.Errorf("%w: seen[%d]: an asset and an organization are required", ErrInvalid, i)
		}
		f.Check, f.Target = strings.TrimSpace(f.Check), strings.TrimSpace(f.Target)
		if f.Check == "" || f.Target == "" {
			return nil, fmt.Errorf("%w: seen[%d]: a check and a target are required", ErrInvalid, i)
		}
		sev, err := ParseSeverity(string(f.Severity))
		if err != nil {
			return nil, fmt.Errorf("%w: seen[%d]: %w", ErrInvalid, i, err)
		}
		f.Severity = sev
		if f.Family == "" {
			f.Family, _, _ = strings.Cut(f.Check, ".")
		}
		if f.Source != "" && (f.Source != b.Source || f.SourceRef != b.Ref) {
			return nil, fmt.Errorf("%w: seen[%d]: source %s/%s in a batch of %s/%s", ErrInvalid, i, f.Source, f.SourceRef, b.Source, b.Ref)
		}
		f.Source, f.SourceRef = b.Source, b.Ref
		key := KeyOf(b.Source, b.Ref, f.AssetID, f.Check, f.Target, f.Subject)
		if f.Key == "" {
			f.Key = key
		} else if f.Key != key {
			return nil, fmt.Errorf("%w: seen[%d]: key %s is not the key of its source, asset, check, target and subject", ErrInvalid, i, f.Key)
		}
		if len(f.Evidence) > 0 && !b.EncodedEvidence && !json.Valid(f.Evidence) {
			return nil, fmt.Errorf("%w: seen[%d]: evidence is not JSON", ErrInvalid, i)
		}
		if f.CVE == nil {
			f.CVE = []string{}
		}
		if j, dup := at[f.Key]; dup {
			seen[j] = f
			continue
		}
		at[f.Key] = len(seen)
		seen = append(seen, f)
	}
	return seen, nil
}

// Plan is what a store must write to apply a batch: whole rows to insert
// and rewrite, rows whose last sighting only moves, rows now fixed, the
// history entries and the changes to publish. Entries and changes of
// inserted findings name them by key (FindingKey, Finding.Key) until the
// store gives them IDs.
type Plan struct {
	Insert  []Finding
	Update  []Finding
	Touch   []Finding // only LastSeen, LastJobID and UpdatedAt differ
	Refresh []Finding // as Touch, and the evidence, title or CVE list: nothing a store indexes
	Fixed   []Finding // now fixed: State, FixedAt, VerifyRequestedAt, LastJobID, UpdatedAt differ
	History []HistoryEntry
	Changes []Change
}

// Empty reports whether the plan writes nothing.
func (p Plan) Empty() bool {
	return len(p.Insert)+len(p.Update)+len(p.Touch)+len(p.Refresh)+len(p.Fixed)+len(p.History) == 0
}

type coverKey struct {
	asset  int64
	target string
	check  string // "" with Coverage.All
}

// ReopenGrace is how long after its fix a finding that comes back keeps
// its original due date (as CISA's CyHy does): 90 days.
const ReopenGrace = 90 * 24 * time.Hour

// Reconcile decides what a normalized batch (b after Normalize, with its
// seen findings) does to the stored findings in existing (by key: at least
// every finding of the covered assets and every seen key that exists).
// now stamps UpdatedAt.
//
//   - A seen key that is new opens, due by b.Policy from b.At, in the row
//     of its asset's tier (b.Tiers).
//   - A seen key that exists moves LastSeen and takes the new evidence,
//     severity, title, organization, CVE list and KEV flag; a fixed one
//     reopens, keeping its original due date when it was fixed less than
//     ReopenGrace before (a restart from b.At otherwise); an accepted or false
//     positive one stays so until it expires. When its severity or KEV
//     listing changes, its due date is recomputed from when it counts
//     (DueFrom); the policy alone changing moves no due date.
//   - Old news changes nothing: a seen finding last seen after b.At, or
//     fixed at or after b.At, is left alone; a finding is fixed only if
//     it was last seen before b.At. Nor does the same report twice: a
//     finding whose last report is b.JobID (a re-imported file, another
//     part of the same job's results) is left alone.
//   - A seen finding whose verification was requested at or before b.At
//     has the request cleared (the rescan answered); if it is still seen
//     the history says so, with the evidence.
//   - For sources closed by coverage, an active finding of the same source
//     and reference inside Covered (same asset, target and check, or any
//     check with All) that was not seen is fixed. Every source fixes so
//     what it lists in Ended, with the entry's reason in the history. No
//     source fixes another source's finding; otherwise sources closed by
//     expiry or by a person fix nothing here (see Stale).
//
// Reconcile is pure: the same inputs give the same plan, so a replayed
// batch plans nothing.
func Reconcile(b Batch, seen []Finding, existing map[string]Finding, now time.Time) (Plan, error) {
	var p Plan
	actor := ActorOf(b.Source, b.Ref)
	// A report of thousands of new findings grows three slices of wide
	// structs: sized once, they are not copied over and over.
	fresh := 0
	for i := range seen {
		if _, ok := existing[seen[i].Key]; !ok {
			fresh++
		}
	}
	if fresh > 0 {
		p.Insert = make([]Finding, 0, fresh)
		p.History = make([]HistoryEntry, 0, fresh)
		p.Changes = make([]Change, 0, fresh)
	}
	for _, f := range seen {
		cur, ok := existing[f.Key]
		if !ok {
			n := f
			n.ID = 0
			n.State = StateOpen
			n.FirstSeen, n.LastSeen, n.DueFrom, n.UpdatedAt = b.At, b.At, b.At, now
			n.DueAt = dueAt(b.Policy, f.Severity, f.KEV, b.Tiers[f.AssetID], b.At)
			n.FixedAt, n.Until, n.VerifyRequestedAt = nil, nil, nil
			n.Reason, n.Approver, n.LastJobID = "", "", b.JobID
			p.Insert = append(p.Insert, n)
			// A feed's first report of a finding is the finding's own
			// evidence until the feed reports it again: the entry does not
			// repeat it (a report of a million new findings wrote each
			// twice). The store shows it there while the finding has not
			// been seen since (FindingHistory). A scan's entry keeps the
			// proof that opened the finding.
			var ev json.RawMessage
			if b.Source == SourceScan {
				ev = n.Evidence
			}
			p.History = append(p.History, HistoryEntry{FindingKey: n.Key, At: b.At, Actor: actor, Action: ActionSeen,
				To: n.State, JobID: b.JobID, Evidence: ev})
			p.Changes = append(p.Changes, Change{Kind: ChangeNew, Finding: n, At: b.At, To: n.State, Actor: actor})
			continue
		}
		if b.At.Before(cur.LastSeen) || (cur.State == StateFixed && cur.FixedAt != nil && !b.At.After(*cur.FixedAt)) {
			continue // older than what is stored
		}
		if b.JobID != "" && cur.LastJobID == b.JobID {
			continue // this very report was applied already (a re-import, another chunk of the job)
		}
		next, err := Next(cur.State, Transition{Action: ActionSeen, At: b.At, By: actor})
		if err != nil {
			return Plan{}, err
		}
		upd := cur
		upd.OrgID, upd.Family, upd.Severity, upd.Target, upd.Subject, upd.Title = f.OrgID, f.Family, f.Severity, f.Target, f.Subject, f.Title
		upd.Evidence, upd.CVE, upd.KEV = f.Evidence, f.CVE, f.KEV
		upd.LastSeen, upd.LastJobID = b.At, b.JobID
		var entry *HistoryEntry
		switch {
		case next != cur.State: // fixed → reopened
			// Back within ReopenGrace of its fix: the same problem, and its
			// original deadline stands (a scan that flaps, or a fix that did
			// not hold, never buys time). Later, a fresh deadline.
			if cur.FixedAt == nil || b.At.Sub(*cur.FixedAt) > ReopenGrace {
				upd.DueFrom = b.At
			}
			upd.DueAt = dueAt(b.Policy, upd.Severity, upd.KEV, b.Tiers[upd.AssetID], upd.DueFrom)
			upd.State, upd.FixedAt, upd.VerifyRequestedAt = next, nil, nil
			entry = &HistoryEntry{Action: ActionSeen, From: cur.State, To: next}
		default:
			if upd.Severity != cur.Severity || upd.KEV != cur.KEV {
				upd.DueAt = dueAt(b.Policy, upd.Severity, upd.KEV, b.Tiers[upd.AssetID], upd.DueFrom)
			}
			if cur.VerifyRequestedAt != nil && !b.At.Before(*cur.VerifyRequestedAt) {
				upd.VerifyRequestedAt = nil
				entry = &HistoryEntry{Action: ActionSeen, From: cur.State, To: cur.State,
					Reason: "a rescan after the verification request still sees it"}
			}
		}
		if entry != nil {
			entry.FindingID, entry.FindingKey, entry.At, entry.Actor, entry.JobID, entry.Evidence = cur.ID, cur.Key, b.At, actor, b.JobID, f.Evidence
			p.History = append(p.History, *entry)
		}
		upd.UpdatedAt = now
		switch diffOf(cur, upd) {
		case diffNone:
			continue
		case diffTouch:
			p.Touch = append(p.Touch, upd)
		case diffRefresh:
			p.Refresh = append(p.Refresh, upd)
		default:
			p.Update = append(p.Update, upd)
		}
		if next != cur.State {
			p.Changes = append(p.Changes, Change{Kind: ChangeReopened, Finding: upd, At: b.At, Action: ActionSeen, From: cur.State, To: next, Actor: actor})
		}
	}
	cover := b.Ended
	if b.Source.Closure() == ClosedByCoverage {
		cover = append(slices.Clip(b.Covered), b.Ended...)
	}
	if len(cover) == 0 {
		return p, nil
	}

	// covered maps what the batch covers (or ends) to the reason of the
	// history entry: "" for coverage.
	covered := map[coverKey]string{}
	for i, c := range cover {
		t := strings.ToLower(strings.TrimSpace(c.Target))
		why := ""
		if i >= len(cover)-len(b.Ended) {
			why = c.Reason
			if why == "" {
				why = "ended by " + actor
			}
		}
		if c.All {
			covered[coverKey{c.AssetID, t, ""}] = why
			continue
		}
		for _, check := range c.Checks {
			covered[coverKey{c.AssetID, t, strings.TrimSpace(check)}] = why
		}
	}
	seenKey := make(map[string]bool, len(seen))
	for _, f := range seen {
		seenKey[f.Key] = true
	}
	// Filter before sorting: most stored findings of a covered asset were
	// seen again, and sorting whole findings moves a lot of memory.
	var candidates []Finding
	for _, cur := range existing {
		if !cur.State.Active() || seenKey[cur.Key] || sourceOf(cur) != b.Source || cur.SourceRef != b.Ref || !b.At.After(cur.LastSeen) ||
			(b.JobID != "" && cur.LastJobID == b.JobID) {
			continue
		}
		t := strings.ToLower(cur.Target)
		_, byCheck := covered[coverKey{cur.AssetID, t, cur.Check}]
		_, byAll := covered[coverKey{cur.AssetID, t, ""}]
		if byCheck || byAll {
			candidates = append(candidates, cur)
		}
	}
	slices.SortFunc(candidates, func(x, y Finding) int { return cmp.Compare(x.ID, y.ID) })
	for _, cur := range candidates {
		next, err := Next(cur.State, Transition{Action: ActionNotSeen, At: b.At, By: actor})
		if err != nil {
			return Plan{}, err
		}
		if next == cur.State {
			continue
		}
		upd := cur
		at := b.At
		upd.State, upd.FixedAt, upd.VerifyRequestedAt, upd.LastJobID, upd.UpdatedAt = next, &at, nil, b.JobID, now
		p.Fixed = append(p.Fixed, upd)
		t := strings.ToLower(cur.Target)
		why, ok := covered[coverKey{cur.AssetID, t, cur.Check}]
		if !ok {
			why = covered[coverKey{cur.AssetID, t, ""}]
		}
		p.History = append(p.History, HistoryEntry{FindingID: cur.ID, FindingKey: cur.Key, At: b.At, Actor: actor, Action: ActionNotSeen,
			From: cur.State, To: next, JobID: b.JobID, Reason: why})
		p.Changes = append(p.Changes, Change{Kind: ChangeFixed, Finding: upd, At: b.At, Action: ActionNotSeen, From: cur.State, To: next, Actor: actor})
	}
	return p, nil
}

// sourceOf reads a stored finding's source; findings stored before sources
// existed are scan findings.
func sourceOf(f Finding) Source {
	if f.Source == "" {
		return SourceScan
	}
	return f.Source
}

// Stale plans the expiry of feed findings: every active finding in
// findings whose source closes by expiry and that was last seen more than
// ttl(source) before now is fixed (actor "system", action expire-stale).
// A ttl of zero or less never expires that source.
func Stale(findings []Finding, ttl func(Source) time.Duration, now time.Time) Plan {
	var p Plan
	now = now.UTC().Truncate(time.Microsecond)
	for _, cur := range findings {
		src := sourceOf(cur)
		d := ttl(src)
		if !cur.State.Active() || src.Closure() != ClosedByExpiry || d <= 0 || now.Sub(cur.LastSeen) <= d {
			continue
		}
		upd := cur
		at := now
		upd.State, upd.FixedAt, upd.VerifyRequestedAt, upd.UpdatedAt = StateFixed, &at, nil, now
		reason := fmt.Sprintf("not reported by %s for %s", ActorOf(src, cur.SourceRef), d)
		p.Fixed = append(p.Fixed, upd)
		p.History = append(p.History, HistoryEntry{FindingID: cur.ID, FindingKey: cur.Key, At: now, Actor: "system", Action: ActionNotSeen,
			From: cur.State, To: StateFixed, Reason: reason})
		p.Changes = append(p.Changes, Change{Kind: ChangeFixed, Finding: upd, At: now, Action: ActionNotSeen, From: cur.State, To: StateFixed, Actor: "system"})
	}
	return p
}

func dueAt(p Policy, sev Severity, kev bool, tier Tier, from time.Time) *time.Time {
	d := p.DueAtFor(sev, kev, tier, from)
	if d.IsZero() {
		return nil
	}
	d = d.UTC().Truncate(time.Microsecond)
	return &d
}

type diff int

const (
	diffNone    diff = iota
	diffTouch        // only LastSeen and LastJobID differ
	diffRefresh      // and Evidence, Title or CVE
	diffFull
)

// diffOf compares a stored finding with its update, ignoring UpdatedAt.
func diffOf(a, b Finding) diff {
	same := a.OrgID == b.OrgID && a.Family == b.Family && a.Severity == b.Severity && a.Target == b.Target &&
		a.Subject == b.Subject && a.KEV == b.KEV && a.State == b.State && a.DueFrom.Equal(b.DueFrom) && timeEq(a.DueAt, b.DueAt) &&
		timeEq(a.FixedAt, b.FixedAt) && timeEq(a.Until, b.Until) && a.Reason == b.Reason && a.Approver == b.Approver &&
		timeEq(a.VerifyRequestedAt, b.VerifyRequestedAt) && a.FirstSeen.Equal(b.FirstSeen)
	switch {
	case !same:
		return diffFull
	case a.Title != b.Title || !bytes.Equal(a.Evidence, b.Evidence) || !slices.Equal(a.CVE, b.CVE):
		return diffRefresh
	case a.LastSeen.Equal(b.LastSeen) && a.LastJobID == b.LastJobID:
		return diffNone
	}
	return diffTouch
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
