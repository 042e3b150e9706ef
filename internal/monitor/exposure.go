package monitor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
)

// ExposureConfig sets the exposure-change detector, which compares each
// new open port the scans record with the asset's history.
type ExposureConfig struct {
	// Interval between rounds (default 1 minute).
	Interval time.Duration
	// Hold is how long a new exposure is reported while the port stays
	// open (default 14 days): after that it is the asset's normal state,
	// and the scanner's own checks judge it.
	Hold time.Duration
	// Off turns the detector off.
	Off bool
}

func (c *ExposureConfig) enabled() bool { return !c.Off }

func (c *ExposureConfig) validate() error {
	c.Interval = positive(c.Interval, time.Minute)
	c.Hold = positive(c.Hold, 14*24*time.Hour)
	return nil
}

// sensitive names the services whose exposure is a finding: remote
// administration and databases, by fingerprinted service name and by
// port (a service the fingerprint did not name is judged by its port).
type sensitiveService struct {
	name     string
	class    string // "remote-admin" or "database"
	severity finding.Severity
}

var sensitiveByService = map[string]sensitiveService{
	"rdp":           {"RDP", "remote-admin", finding.High},
	"ms-wbt-server": {"RDP", "remote-admin", finding.High},
	"vnc":           {"VNC", "remote-admin", finding.High},
	"telnet":        {"telnet", "remote-admin", finding.High},
	"winrm":         {"WinRM", "remote-admin", finding.High},
	"ssh":           {"SSH", "remote-admin", finding.Medium},
	"smb":           {"SMB", "remote-admin", finding.High},
	"microsoft-ds":  {"SMB", "remote-admin", finding.High},
	"mysql":         {"MySQL", "database", finding.High},
	"postgresql":    {"PostgreSQL", "database", finding.High},
	"mssql":         {"SQL Server", "database", finding.High},
	"ms-sql-s":      {"SQL Server", "database", finding.High},
	"oracle":        {"Oracle", "database", finding.High},
	"redis":         {"Redis", "database", finding.High},
	"mongodb":       {"MongoDB", "database", finding.High},
	"elasticsearch": {"Elasticsearch", "database", finding.High},
	"memcached":     {"memcached", "database", finding.High},
	"couchdb":       {"CouchDB", "database", finding.High},
	"cassandra":     {"Cassandra", "database", finding.High},
}

var sensitiveByPort = map[int]string{
	3389: "rdp", 5900: "vnc", 5901: "vnc", 5902: "vnc", 23: "telnet", 5985: "winrm", 5986: "winrm", 22: "ssh", 445: "smb",
	3306: "mysql", 5432: "postgresql", 1433: "mssql", 1521: "oracle", 6379: "redis", 27017: "mongodb", 9200: "elasticsearch",
	11211: "memcached", 5984: "couchdb", 9042: "cassandra",
}

// classify says whether an observation is a sensitive service: by its
// fingerprinted name, else (when the fingerprint named nothing) by its
// port.
func classify(o store.Observation) (sensitiveService, bool) {
	svc := strings.ToLower(strings.TrimSpace(o.Service))
	if s, ok := sensitiveByService[svc]; ok {
		return s, true
	}
	if svc == "" || svc == "unknown" {
		if name, ok := sensitiveByPort[o.Port]; ok {
			return sensitiveByService[name], true
		}
	}
	return sensitiveService{}, false
}

// ExposureEvidence is the evidence of a new-exposure or new-service
// finding.
type ExposureEvidence struct {
	IP        string    `json:"ip"`
	Port      int       `json:"port"`
	Proto     string    `json:"proto"`
	Service   string    `json:"service,omitempty"`
	Product   string    `json:"product,omitempty"`
	Version   string    `json:"version,omitempty"`
	Class     string    `json:"class,omitempty"` // remote-admin, database
	FirstSeen time.Time `json:"first_seen"`
	JobID     string    `json:"job_id"`
}

// exposureState is the detector's memory: the cursor over observations
// and the new exposures being reported, by observation ID.
type exposureState struct {
	mu     sync.Mutex
	loaded bool
	cursor exposureCursor
	open   map[string]exposureItem
}

type exposureCursor struct {
	After int64 `json:"after"`
	// Recent are the IDs within exposureWindow below After already read:
	// on PostgreSQL an ID is taken before its row commits, so a row with
	// a lower ID can appear after a higher one; each round reads the
	// window below the cursor again and skips these.
	Recent []int64 `json:"recent,omitempty"`
}

type exposureItem struct {
	Finding   finding.Finding `json:"finding"`
	FirstSeen time.Time       `json:"first_seen"`
}

// exposureWindow is how far below its cursor the detector reads again.
const exposureWindow = 256

// ObservationLister lists observations: the store's.
type ObservationLister interface {
	ListObservations(ctx context.Context, p auth.Principal, f store.ObservationFilter) (store.Page[store.Observation], error)
}

// ExposureRound reads the observations recorded since the last round. An
// open port on an asset that had a finished scan before the port
// appeared is new against the asset's history: a sensitive service is a
// monitor.new-exposure finding, any other a monitor.new-service event
// (severity info). Each is reported again while the port stays open, for
// Hold. The ports of an asset's first scan are its baseline.
func (s *Service) ExposureRound(ctx context.Context) error {
	st := &s.exposure
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.loaded {
		if err := s.loadExposure(ctx); err != nil {
			return err
		}
	}
	now := s.now()
	read := map[int64]bool{}
	for _, id := range st.cursor.Recent {
		read[id] = true
	}
	after := max(st.cursor.After-exposureWindow, 0)
	for {
		page, err := s.d.State.ObservationsAfter(ctx, after, store.MaxLimit)
		if err != nil {
			return fmt.Errorf("monitor: exposure: %w", err)
		}
		for _, o := range page {
			if read[o.ID] {
				continue
			}
			read[o.ID] = true
			st.cursor.After = max(st.cursor.After, o.ID)
			if o.PriorScan && now.Sub(o.FirstSeen) <= s.cfg.Exposure.Hold {
				st.open[strconv.FormatInt(o.ID, 10)] = exposureItem{Finding: exposureFinding(o.Observation), FirstSeen: o.FirstSeen}
			}
		}
		if len(page) < store.MaxLimit {
			break
		}
		after = page[len(page)-1].ID
	}
	st.cursor.Recent = st.cursor.Recent[:0]
	for id := range read {
		if id > st.cursor.After-exposureWindow {
			st.cursor.Recent = append(st.cursor.Recent, id)
		}
	}
	slices.Sort(st.cursor.Recent)

	// Report what is still open and new; forget the rest.
	open, err := s.openObservations(ctx, st.open)
	if err != nil {
		return err
	}
	var (
		seen []finding.Finding
		drop []string
	)
	for k, it := range st.open {
		if !open[k] || now.Sub(it.FirstSeen) > s.cfg.Exposure.Hold {
			drop = append(drop, k)
			delete(st.open, k)
			continue
		}
		seen = append(seen, it.Finding)
	}
	if err := s.record(ctx, "exposure", now, seen); err != nil {
		return err
	}
	return s.saveExposure(ctx, drop)
}

// openObservations reports which of the items' observations are still
// open, listing each asset's open observations once. Without a lister
// every item counts as open (it then lives for Hold).
func (s *Service) openObservations(ctx context.Context, items map[string]exposureItem) (map[string]bool, error) {
	out := map[string]bool{}
	if s.d.Observations == nil {
		for k := range items {
			out[k] = true
		}
		return out, nil
	}
	done := map[int64]bool{}
	for _, it := range items {
		a := it.Finding.AssetID
		if done[a] {
			continue
		}
		done[a] = true
		f := store.ObservationFilter{AssetID: a, State: "open"}
		for {
			page, err := s.d.Observations.ListObservations(ctx, auth.SystemPrincipal, f)
			if err != nil {
				return nil, fmt.Errorf("monitor: exposure: observations of asset %d: %w", a, err)
			}
			for _, o := range page.Items {
				out[strconv.FormatInt(o.ID, 10)] = true
			}
			if page.Next == "" {
				break
			}
			f.After = page.Next
		}
	}
	return out, nil
}

func (s *Service) loadExposure(ctx context.Context) error {
	st := &s.exposure
	cur, err := loadState[exposureCursor](ctx, s, "exposure-cursor")
	if err != nil {
		return err
	}
	items, err := loadState[exposureItem](ctx, s, "exposure")
	if err != nil {
		return err
	}
	st.cursor, st.open, st.loaded = cur["cursor"], items, true
	return nil
}

func (s *Service) saveExposure(ctx context.Context, drop []string) error {
	st := &s.exposure
	if err := saveState(ctx, s, "exposure", st.open); err != nil {
		return err
	}
	if len(drop) > 0 {
		if err := s.d.State.DeleteMonitorStates(ctx, "exposure", drop...); err != nil {
			return fmt.Errorf("monitor: exposure: %w", err)
		}
	}
	return saveState(ctx, s, "exposure-cursor", map[string]exposureCursor{"cursor": st.cursor})
}

func exposureFinding(o store.Observation) finding.Finding {
	ev := ExposureEvidence{IP: o.IP, Port: o.Port, Proto: o.Proto, Service: o.Service, Product: o.Product, Version: o.Version, FirstSeen: o.FirstSeen, JobID: o.JobID}
	target := o.IP + ":" + strconv.Itoa(o.Port)
	if o.Proto == "udp" {
		target += "/udp"
	}
	if svc, ok := classify(o); ok {
		ev.Class = svc.class
		return finding.Finding{OrgID: o.OrgID, AssetID: o.AssetID, Check: "monitor.new-exposure", Severity: svc.severity,
			Target: target, Subject: strings.ToLower(svc.name), Title: fmt.Sprintf("New %s exposed on %s", svc.name, target), Evidence: evidence(ev)}
	}
	name := o.Service
	if name == "" {
		name = "port " + strconv.Itoa(o.Port)
	}
	return finding.Finding{OrgID: o.OrgID, AssetID: o.AssetID, Check: "monitor.new-service", Severity: finding.Info,
		Target: target, Subject: strings.ToLower(o.Service), Title: fmt.Sprintf("New service %s on %s", name, target), Evidence: evidence(ev)}
}
