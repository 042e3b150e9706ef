package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/store"
)

var _ store.DNS = (*Store)(nil)

// maxDNSReportItems bounds the items of one blocked-query report the
// store takes (the ingester's decoder allows as many).
const maxDNSReportItems = 2000

// CreateDNSClientNetwork stores a member's resolver-facing range.
func (s *Store) CreateDNSClientNetwork(ctx context.Context, p auth.Principal, n *store.DNSClientNetwork) error {
	const op = "create dns client network"
	pfx, err := netip.ParsePrefix(strings.TrimSpace(n.Prefix))
	if err != nil {
		a, aerr := netip.ParseAddr(strings.TrimSpace(n.Prefix))
		if aerr != nil {
			return s.fail(op, invalid("client network %q is not a CIDR or an address", n.Prefix))
		}
		pfx = netip.PrefixFrom(a, a.BitLen())
	}
	pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-(pfx.Addr().BitLen()-pfx.Addr().Unmap().BitLen())).Masked()
	if !pfx.IsValid() {
		return s.fail(op, invalid("client network %q is not a valid range", n.Prefix))
	}
	if len(n.Note) > 500 {
		return s.fail(op, invalid("a note of at most 500 bytes"))
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, n.OrgID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("registering client networks needs " + string(auth.PermWriteAssets))
		}
		assetID, err := s.coveringAsset(ctx, tx, o.ID, pfx)
		if err != nil {
			return err
		}
		t := now()
		n.Prefix, n.OrgCode, n.AssetID, n.CreatedAt = pfx.String(), o.Code, assetID, t
		err = tx.QueryRowContext(ctx, s.q(`INSERT INTO dns_client_networks (org_id, prefix, asset_id, note, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			o.ID, n.Prefix, assetID, n.Note, t).Scan(&n.ID)
		if err != nil {
			if s.d.classify(err) == store.ErrConflict {
				return fmt.Errorf("%w: client network %s is already registered", store.ErrConflict, n.Prefix)
			}
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "dns_client_network.create", objType: "dns_client_network", objID: n.ID, after: n})
	})
}

// coveringAsset finds the narrowest address asset of org holding pfx.
func (s *Store) coveringAsset(ctx context.Context, tx *sql.Tx, orgID int64, pfx netip.Prefix) (int64, error) {
	rows, err := tx.QueryContext(ctx, s.q(`SELECT id, value FROM assets WHERE org_id = ? AND kind IN (?, ?, ?) AND state <> ?`),
		orgID, string(asset.KindIPv4), string(asset.KindIPv6), string(asset.KindCIDR), string(asset.StateRejected))
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	best, bestBits := int64(0), -1
	for rows.Next() {
		var (
			id int64
			v  string
		)
		if err := rows.Scan(&id, &v); err != nil {
			return 0, err
		}
		ap, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			if aerr != nil {
				continue
			}
			ap = netip.PrefixFrom(a, a.BitLen())
		}
		if ap.Bits() <= pfx.Bits() && ap.Contains(pfx.Addr()) && ap.Bits() > bestBits {
			best, bestBits = id, ap.Bits()
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if best == 0 {
		return 0, invalid("client network %s is not inside an address asset of the organization: register the range first", pfx)
	}
	return best, nil
}

// DeleteDNSClientNetwork removes one client network.
func (s *Store) DeleteDNSClientNetwork(ctx context.Context, p auth.Principal, id int64) error {
	const op = "delete dns client network"
	return s.write(ctx, op, func(tx *sql.Tx) error {
		sc, err := s.scopeOf(ctx, tx, p)
		if err != nil {
			return err
		}
		n, err := scanClientNetwork(tx.QueryRowContext(ctx, s.q("SELECT "+clientNetworkCols+" FROM dns_client_networks n JOIN orgs o ON o.id = n.org_id WHERE n.id = ?"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("client network", id)
		}
		if err != nil {
			return err
		}
		o, err := s.loadOrg(ctx, tx, sc, n.OrgID, false)
		if err != nil {
			return err
		}
		if !p.Can(auth.PermWriteAssets) {
			return forbidden("removing client networks needs " + string(auth.PermWriteAssets))
		}
		if _, err := tx.ExecContext(ctx, s.q("DELETE FROM dns_client_networks WHERE id = ?"), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, change{orgID: o.ID, orgPath: o.Path, action: "dns_client_network.delete", objType: "dns_client_network", objID: id, before: n})
	})
}

const clientNetworkCols = `n.id, n.org_id, o.code, n.prefix, n.asset_id, n.note, n.created_at`

func scanClientNetwork(sc scanner) (store.DNSClientNetwork, error) {
	var n store.DNSClientNetwork
	err := sc.Scan(&n.ID, &n.OrgID, &n.OrgCode, &n.Prefix, &n.AssetID, &n.Note, &n.CreatedAt)
	n.CreatedAt = n.CreatedAt.UTC()
	return n, err
}

// ListDNSClientNetworks lists the client networks p sees.
func (s *Store) ListDNSClientNetworks(ctx context.Context, p auth.Principal) ([]store.DNSClientNetwork, error) {
	const op = "list dns client networks"
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	cond, args := sc.cond("o.path")
	out, err := queryAll(ctx, s.r, scanClientNetwork, s.q("SELECT "+clientNetworkCols+" FROM dns_client_networks n JOIN orgs o ON o.id = n.org_id WHERE "+cond+" ORDER BY n.prefix"), args...)
	if out == nil {
		out = []store.DNSClientNetwork{}
	}
	return out, s.fail(op, err)
}

// RecordDNSBlocked applies one resolver report.
func (s *Store) RecordDNSBlocked(ctx context.Context, r store.DNSBlockedReport) ([]store.DNSBlocked, bool, error) {
	const op = "record dns blocked"
	switch {
	case r.Resolver == "" || len(r.Resolver) > 64:
		return nil, false, s.fail(op, invalid("a report needs a resolver name of 1-64 bytes"))
	case r.ReportID == "" || len(r.ReportID) > 64:
		return nil, false, s.fail(op, invalid("a report needs an ID of 1-64 bytes"))
	case len(r.Items) > maxDNSReportItems:
		return nil, false, s.fail(op, invalid("%d items in one report, more than %d", len(r.Items), maxDNSReportItems))
	}
	for i, it := range r.Items {
		if it.OrgID <= 0 || it.AssetID <= 0 || it.Client == "" || it.Name == "" || it.Count <= 0 {
			return nil, false, s.fail(op, invalid("item %d needs an organization, an asset, a client, a name and a count", i))
		}
	}
	at := r.At.UTC().Truncate(time.Microsecond)
	if r.At.IsZero() {
		at = now()
	}
	var (
		out []store.DNSBlocked
		dup bool
	)
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO dns_reports (resolver, report_id, received_at) VALUES (?, ?, ?)
			ON CONFLICT (resolver, report_id) DO NOTHING`), r.Resolver, r.ReportID, at)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			dup = true
		}
		codes := map[int64]string{}
		out = make([]store.DNSBlocked, 0, len(r.Items))
		for _, it := range r.Items {
			code, ok := codes[it.OrgID]
			if !ok {
				if err := tx.QueryRowContext(ctx, s.q("SELECT code FROM orgs WHERE id = ?"), it.OrgID).Scan(&code); errors.Is(err, sql.ErrNoRows) {
					continue // the organization went since the report was mapped
				} else if err != nil {
					return err
				}
				codes[it.OrgID] = code
			}
			if dup {
				got, err := scanDNSBlocked(tx.QueryRowContext(ctx, s.q("SELECT "+dnsBlockedCols+` FROM dns_blocked b JOIN orgs o ON o.id = b.org_id
					WHERE b.org_id = ? AND b.client = ? AND b.name = ?`), it.OrgID, it.Client, it.Name))
				if errors.Is(err, sql.ErrNoRows) {
					continue
				}
				if err != nil {
					return err
				}
				out = append(out, got)
				continue
			}
			b := it
			b.OrgCode, b.Resolver = code, r.Resolver
			b.First, b.Last = b.First.UTC().Truncate(time.Microsecond), b.Last.UTC().Truncate(time.Microsecond)
			if b.Last.Before(b.First) {
				b.Last = b.First
			}
			err := tx.QueryRowContext(ctx, s.q(`INSERT INTO dns_blocked (org_id, asset_id, client, name, list, resolver, count, reports, first_seen, last_seen)
				VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
				ON CONFLICT (org_id, client, name) DO UPDATE SET
					count = dns_blocked.count + excluded.count,
					reports = dns_blocked.reports + 1,
					first_seen = CASE WHEN excluded.first_seen < dns_blocked.first_seen THEN excluded.first_seen ELSE dns_blocked.first_seen END,
					last_seen = CASE WHEN excluded.last_seen > dns_blocked.last_seen THEN excluded.last_seen ELSE dns_blocked.last_seen END,
					asset_id = excluded.asset_id, list = excluded.list, resolver = excluded.resolver
				RETURNING id, count, reports, first_seen, last_seen`),
				b.OrgID, b.AssetID, b.Client, b.Name, b.List, b.Resolver, min(b.Count, 1<<62), b.First, b.Last).
				Scan(&b.ID, &b.Count, &b.Reports, &b.First, &b.Last)
			if err != nil {
				return err
			}
			b.First, b.Last = b.First.UTC(), b.Last.UTC()
			out = append(out, b)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, dup, nil
}

const dnsBlockedCols = `b.id, b.org_id, o.code, b.asset_id, b.client, b.name, b.list, b.resolver, b.count, b.reports, b.first_seen, b.last_seen`

func scanDNSBlocked(sc scanner) (store.DNSBlocked, error) {
	var b store.DNSBlocked
	err := sc.Scan(&b.ID, &b.OrgID, &b.OrgCode, &b.AssetID, &b.Client, &b.Name, &b.List, &b.Resolver, &b.Count, &b.Reports, &b.First, &b.Last)
	b.First, b.Last = b.First.UTC(), b.Last.UTC()
	return b, err
}

// ListDNSBlocked lists the blocked queries p sees, last seen first.
func (s *Store) ListDNSBlocked(ctx context.Context, p auth.Principal, f store.DNSBlockedFilter) ([]store.DNSBlocked, error) {
	const op = "list dns blocked"
	limit, err := pageLimit(store.PageRequest{Limit: f.Limit})
	if err != nil {
		return nil, s.fail(op, err)
	}
	sc, err := s.scopeOf(ctx, s.r, p)
	if err != nil {
		return nil, s.fail(op, err)
	}
	cond, args := sc.cond("o.path")
	q := "SELECT " + dnsBlockedCols + " FROM dns_blocked b JOIN orgs o ON o.id = b.org_id WHERE " + cond
	if f.OrgID > 0 {
		q += " AND b.org_id = ?"
		args = append(args, f.OrgID)
	}
	if f.Client != "" {
		q += " AND b.client = ?"
		args = append(args, f.Client)
	}
	if !f.Since.IsZero() {
		q += " AND b.last_seen >= ?"
		args = append(args, f.Since.UTC())
	}
	q += " ORDER BY b.last_seen DESC, b.id DESC LIMIT ?"
	args = append(args, limit)
	out, err := queryAll(ctx, s.r, scanDNSBlocked, s.q(q), args...)
	if out == nil {
		out = []store.DNSBlocked{}
	}
	return out, s.fail(op, err)
}
