package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

const obsCols = "id, org_id, asset_id, ip, port, proto, host, state, service, product, version, cpe, tls, banner, cert, first_seen, last_seen, closed_at, job_id"

// The observation states.
const (
	obsOpen   = "open"
	obsClosed = "closed"
)

func scanObservation(sc scanner) (store.Observation, error) {
	var (
		o      store.Observation
		cert   []byte
		closed sql.NullTime
	)
	err := sc.Scan(&o.ID, &o.OrgID, &o.AssetID, &o.IP, &o.Port, &o.Proto, &o.Host, &o.State, &o.Service, &o.Product,
		&o.Version, &o.CPE, &o.TLS, &o.Banner, &cert, &o.FirstSeen, &o.LastSeen, &closed, &o.JobID)
	o.Cert = rawJSON(cert)
	o.FirstSeen, o.LastSeen = o.FirstSeen.UTC(), o.LastSeen.UTC()
	o.ClosedAt = timePtr(closed)
	return o, err
}

// canonicalIP parses an address as a report or a filter gives it and
// returns the form observations store: netip's, IPv4-mapped IPv6 unmapped,
// zones refused.
func canonicalIP(s string) (string, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return "", invalid("%q is not an IP address", s)
	}
	return a.Unmap().String(), nil
}

func checkPort(p int) error {
	if p < 1 || p > 65535 {
		return invalid("port %d is not in 1-65535", p)
	}
	return nil
}

// obsKey is the identity of an observation within one asset.
type obsKey struct {
	ip    string
	port  int
	proto string
}

// preparedReport is a checked ScanReport: canonical addresses, open
// observations deduplicated (the last of a key wins) with their cert as a
// column value.
type preparedReport struct {
	at       time.Time
	hosts    map[string]bool
	ports    map[int]bool
	udpHosts map[string]bool
	udpPorts map[int]bool
	open     []store.Observation
	certs    []any
	keys     map[obsKey]bool
}

func prepareReport(r store.ScanReport) (preparedReport, error) {
	pr := preparedReport{at: r.At.UTC().Truncate(time.Microsecond), hosts: map[string]bool{}, ports: map[int]bool{},
		udpHosts: map[string]bool{}, udpPorts: map[int]bool{}, keys: map[obsKey]bool{}}
	switch {
	case r.JobID == "":
		return pr, invalid("scan report job id is required")
	case r.AssetID <= 0:
		return pr, invalid("scan report asset is required")
	case r.At.IsZero():
		return pr, invalid("scan report time is required")
	}
	for _, h := range r.Hosts {
		ip, err := canonicalIP(h)
		if err != nil {
			return pr, err
		}
		pr.hosts[ip] = true
	}
	for _, p := range r.Ports {
		if err := checkPort(p); err != nil {
			return pr, err
		}
		pr.ports[p] = true
	}
	for _, h := range r.UDPHosts {
		ip, err := canonicalIP(h)
		if err != nil {
			return pr, err
		}
		pr.udpHosts[ip] = true
	}
	for _, p := range r.UDPPorts {
		if err := checkPort(p); err != nil {
			return pr, err
		}
		pr.udpPorts[p] = true
	}
	idx := map[obsKey]int{}
	for _, o := range r.Open {
		ip, err := canonicalIP(o.IP)
		if err != nil {
			return pr, err
		}
		if err := checkPort(o.Port); err != nil {
			return pr, err
		}
		o.IP = ip
		o.Proto = strings.ToLower(strings.TrimSpace(o.Proto))
		if o.Proto == "" {
			o.Proto = "tcp"
		}
		if o.Proto != "tcp" && o.Proto != "udp" {
			return pr, invalid("protocol %q is not tcp or udp", o.Proto)
		}
		cert, err := jsonArg("certificate", o.Cert)
		if err != nil {
			return pr, err
		}
		k := obsKey{o.IP, o.Port, o.Proto}
		if i, dup := idx[k]; dup {
			pr.open[i], pr.certs[i] = o, cert
			continue
		}
		idx[k] = len(pr.open)
		pr.keys[k] = true
		pr.open = append(pr.open, o)
		pr.certs = append(pr.certs, cert)
	}
	return pr, nil
}

// RecordScan stores what one job saw, in one transaction.
//
//   - The report is checked first (job id, asset, time, addresses, ports
//     1-65535, protocol tcp or udp, certificates JSON); a bad one is
//     ErrInvalid and nothing is stored. An Open observation's protocol
//     defaults to tcp; its OrgID, AssetID, State, times and JobID come from
//     the report. The same (ip, port, proto) twice in Open: the last wins.
//   - The asset must exist (ErrNotFound: results for a deleted asset are
//     out of scope) and belong to r.OrgID when that is set (ErrInvalid);
//     observations are filed under the asset's organization.
//   - Each open observation is upserted on (asset, ip, port, proto):
//     FirstSeen stays, LastSeen becomes r.At, a closed one reopens, and
//     Host, Service, Product, Version, CPE, Banner and Cert are replaced
//     only by non-empty values (TLS by the new flag when it is set or the
//     service was identified). JobID names the job.
//   - Ports are TCP ports: open tcp observations of the reported Hosts on
//     Ports that the report does not list become closed at r.At. UDPPorts
//     are UDP ports, and close the open udp observations of UDPHosts on
//     them the same way; a report without UDPPorts (no UDP scan ran)
//     closes no udp observation. Observations of other addresses are
//     left alone.
//   - Reports apply in time order, not arrival order: a row last changed
//     after r.At (seen later, or closed later) is left as it is, so a
//     redelivered old report never reopens or closes what a newer one
//     decided, and replaying a report changes nothing.
//
// Statements go in batches, so a full 65535-port report costs a few
// hundred round trips, not one per port.
func (s *Store) RecordScan(ctx context.Context, r store.ScanReport) error {
	const op = "record scan"
	pr, err := prepareReport(r)
	if err != nil {
		return s.fail(op, err)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		var orgID int64
		// Locking the asset serializes reports of one asset on PostgreSQL,
		// whose upserts and closes would otherwise lock rows in different
		// orders and could deadlock.
		err := tx.QueryRowContext(ctx, s.q("SELECT org_id FROM assets WHERE id = ?"+s.d.forUpdate()), r.AssetID).Scan(&orgID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("asset", r.AssetID)
		}
		if err != nil {
			return err
		}
		if r.OrgID != 0 && r.OrgID != orgID {
			return invalid("asset %d belongs to organization %d, not %d", r.AssetID, orgID, r.OrgID)
		}
		if err := s.upsertObservations(ctx, tx, orgID, r, pr); err != nil {
			return err
		}
		return s.closeObservations(ctx, tx, orgID, r, pr)
	})
}

const obsUpsertCols = 18

// upsertObservations writes the open observations in multi-row upserts.
func (s *Store) upsertObservations(ctx context.Context, tx *sql.Tx, orgID int64, r store.ScanReport, pr preparedReport) error {
	if len(pr.open) == 0 {
		return nil
	}
	const keep = "CASE WHEN excluded.%[1]s <> '' THEN excluded.%[1]s ELSE observations.%[1]s END"
	var set []string
	for _, c := range []string{"host", "service", "product", "version", "cpe", "banner"} {
		set = append(set, c+" = "+strings.ReplaceAll(keep, "%[1]s", c))
	}
	stmt := func(n int) string {
		return s.q(`INSERT INTO observations (org_id, asset_id, ip, port, proto, host, state, service, product, version, cpe, tls, banner, cert, first_seen, last_seen, closed_at, job_id)
			VALUES ` + placeholders(n, obsUpsertCols) + `
			ON CONFLICT (asset_id, ip, port, proto) DO UPDATE SET
				org_id = excluded.org_id, state = excluded.state, closed_at = NULL,
				last_seen = excluded.last_seen, job_id = excluded.job_id,
				` + strings.Join(set, ", ") + `,
				tls = CASE WHEN excluded.tls OR excluded.service <> '' THEN excluded.tls ELSE observations.tls END,
				cert = COALESCE(excluded.cert, observations.cert)
			WHERE observations.last_seen <= excluded.last_seen
				AND (observations.closed_at IS NULL OR observations.closed_at <= excluded.last_seen)`)
	}
	idx := make([]int, len(pr.open))
	for i := range idx {
		idx[i] = i
	}
	return batches(ctx, tx, idx, stmt, func(st *sql.Stmt, chunk []int) error {
		args := make([]any, 0, len(chunk)*obsUpsertCols)
		for _, i := range chunk {
			o := pr.open[i]
			args = append(args, orgID, r.AssetID, o.IP, o.Port, o.Proto, strings.TrimSpace(o.Host), obsOpen,
				o.Service, o.Product, o.Version, o.CPE, o.TLS, o.Banner, pr.certs[i], pr.at, pr.at, nil, r.JobID)
		}
		_, err := st.ExecContext(ctx, args...)
		return err
	})
}

// closeObservations closes the open observations of the reported hosts
// on probed ports that the report did not list, tcp and udp each by its
// own hosts and ports. The candidates are read (and locked) first, the few
// rows of one asset that are open, so the statement never carries the
// whole port set.
func (s *Store) closeObservations(ctx context.Context, tx *sql.Tx, orgID int64, r store.ScanReport, pr preparedReport) error {
	tcp := len(pr.hosts) > 0 && len(pr.ports) > 0
	udp := len(pr.udpHosts) > 0 && len(pr.udpPorts) > 0
	if !tcp && !udp {
		return nil
	}
	rows, err := tx.QueryContext(ctx, s.q("SELECT id, ip, port, proto FROM observations WHERE asset_id = ? AND state = ? AND proto IN ('tcp', 'udp') AND last_seen < ?"+s.d.forUpdate()),
		r.AssetID, obsOpen, pr.at)
	if err != nil {
		return err
	}
	var ids []any
	for rows.Next() {
		var (
			id    int64
			ip    string
			port  int
			proto string
		)
		if err := rows.Scan(&id, &ip, &port, &proto); err != nil {
			rows.Close()
			return err
		}
		hosts, ports := pr.hosts, pr.ports
		if proto == "udp" {
			hosts, ports = pr.udpHosts, pr.udpPorts
		}
		if hosts[ip] && ports[port] && !pr.keys[obsKey{ip, port, proto}] {
			ids = append(ids, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	stmt := func(n int) string {
		return s.q("UPDATE observations SET state = ?, closed_at = ?, job_id = ?, org_id = ? WHERE id IN (" + placeholders(n, 1) + ")")
	}
	return batches(ctx, tx, ids, stmt, func(st *sql.Stmt, chunk []any) error {
		_, err := st.ExecContext(ctx, append([]any{obsClosed, pr.at, r.JobID, orgID}, chunk...)...)
		return err
	})
}

// ListObservations lists observations in the principal's subtree in ID
// order, open and closed alike unless State says which. IP is compared in
// canonical form; Service exactly.
func (s *Store) ListObservations(ctx context.Context, p auth.Principal, f store.ObservationFilter) (store.Page[store.Observation], error) {
	const op = "list observations"
	var page store.Page[store.Observation]
	if err := needRead(p); err != nil {
		return page, s.fail(op, err)
	}
	limit, after, err := pageStart(f.PageRequest)
	if err != nil {
		return page, s.fail(op, err)
	}
	var w where
	if f.IP != "" {
		ip, err := canonicalIP(f.IP)
		if err != nil {
			return page, s.fail(op, err)
		}
		w.add("ip = ?", ip)
	}
	if f.Port != 0 {
		if err := checkPort(f.Port); err != nil {
			return page, s.fail(op, err)
		}
		w.add("port = ?", f.Port)
	}
	switch st := strings.ToLower(strings.TrimSpace(f.State)); st {
	case "":
	case obsOpen, obsClosed:
		w.add("state = ?", st)
	default:
		return page, s.fail(op, invalid("observation state %q is not open or closed", f.State))
	}
	if f.AssetID != 0 {
		w.add("asset_id = ?", f.AssetID)
	}
	if f.Service != "" {
		w.add("service = ?", f.Service)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return page, s.fail(op, err)
	}
	if err := s.orgScopeWhere(ctx, &w, sc, "org_id", f.OrgID); err != nil {
		return page, s.fail(op, err)
	}
	if after > 0 {
		w.add("id > ?", after)
	}
	items, err := queryAll(ctx, s.r, scanObservation, s.q("SELECT "+obsCols+" FROM observations"+w.String()+" ORDER BY id LIMIT ?"), append(w.args, limit+1)...)
	if err != nil {
		return page, s.fail(op, err)
	}
	return finishPage(items, limit, func(o store.Observation) int64 { return o.ID }), nil
}
