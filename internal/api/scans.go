package api

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"sync"

	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/findings"
	"github.com/rampart-cert/rampart/internal/store"
)

type (
	scanJobJSON     = store.ScanJob
	scanJobPage     = store.Page[store.ScanJob]
	observationPage = store.Page[store.Observation]
	scanPolicyJSON  = store.ScanPolicy
)

type scanRequest struct {
	AssetID int64 `json:"asset_id,omitempty"` // one asset
	OrgID   int64 `json:"org_id,omitempty"`   // every asset of the organization (not its subtree)
}

type scanRequested struct {
	Items []store.ScanJob `json:"items"`
}

func (s *Server) requestScan(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req scanRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	// A client that retries with the same Idempotency-Key (it saw a
	// connection error, the server died half way) gets the jobs of its
	// first attempt, not a second set (reliability review F3). Jobs are
	// queued through the outbox: 202 with state "queued" holds even while
	// NATS is down, and they run once it is back (F9).
	jobs, err := s.Findings.RequestScan(r.Context(), p, findings.ScanRequest{AssetID: req.AssetID, OrgID: req.OrgID,
		IdempotencyKey: r.Header.Get("Idempotency-Key")})
	if err != nil {
		return err
	}
	writeJSON(w, 202, scanRequested{Items: jobs})
	return nil
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.JobFilter{PageRequest: pr, State: store.JobState(q.Get("state")), Region: q.Get("region")}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	if f.AssetID, err = queryInt(r, "asset_id"); err != nil {
		return err
	}
	page, err := s.Store.ListScanJobs(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getScan(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id := r.PathValue("id")
	if id == "" || len(id) > 128 {
		return errf(CodeBadRequest, "bad job id")
	}
	j, err := s.Store.GetScanJob(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, j)
	return nil
}

func (s *Server) listObservations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pr, err := pageRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := store.ObservationFilter{PageRequest: pr, IP: q.Get("ip"), Service: q.Get("service"), State: q.Get("state")}
	if f.OrgID, err = queryInt(r, "org_id"); err != nil {
		return err
	}
	if f.AssetID, err = queryInt(r, "asset_id"); err != nil {
		return err
	}
	port, err := queryInt(r, "port")
	if err != nil || port > 65535 {
		return errf(CodeBadRequest, "port must be 1-65535")
	}
	f.Port = int(port)
	if f.State != "" && f.State != "open" && f.State != "closed" {
		return errf(CodeBadRequest, "state must be open or closed")
	}
	page, err := s.Store.ListObservations(r.Context(), p, f)
	if err != nil {
		return err
	}
	writeJSON(w, 200, page)
	return nil
}

func (s *Server) getScanPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return getByID(w, r, func(ctx context.Context, id int64) (store.ScanPolicy, error) {
		sp, err := s.Store.GetScanPolicy(ctx, p, id)
		return policyOut(sp), err
	})
}

func (s *Server) putScanPolicy(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// A PUT replaces the whole policy, so both lists must be given (an
	// empty list clears one): a body of null or {} is refused rather than
	// read as "clear every exclusion and blackout" (security F26).
	var req *struct {
		Exclusions *[]string       `json:"exclusions"`
		Blackouts  *[]store.Window `json:"blackouts"`
		// Credentials opts the organization's scans into a few empty and
		// default password attempts per service; absent means off.
		Credentials bool `json:"credentials"`
		// UDP turns the UDP scan and checks on for the organization's
		// scheduled scans; absent means off.
		UDP bool `json:"udp"`
		// Ports, Families and Rate are the organization's scan profile;
		// absent means the platform's default (every family).
		Ports    string           `json:"ports"`
		Families []string         `json:"families"`
		Rate     int              `json:"rate"`
		Route    *json.RawMessage `json:"route,omitempty"` // read only (GET echoes it); ignored
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req == nil || req.Exclusions == nil || req.Blackouts == nil {
		return errf(CodeInvalid, "scan policy must give exclusions and blackouts; an empty list [] clears one")
	}
	if err := s.checkProfile(&req.Ports, &req.Families, &req.Rate); err != nil {
		return err
	}
	sp := store.ScanPolicy{Exclusions: *req.Exclusions, Blackouts: *req.Blackouts, Credentials: req.Credentials, UDP: req.UDP,
		Ports: req.Ports, Families: req.Families, Rate: req.Rate}
	if err := s.Store.SetScanPolicy(r.Context(), p, id, sp); err != nil {
		return err
	}
	sp, err = s.Store.GetScanPolicy(r.Context(), p, id)
	if err != nil {
		return err
	}
	writeJSON(w, 200, policyOut(sp))
	return nil
}

// ScannerInfo is what the public /scanner page says.
type ScannerInfo struct {
	Operator  string // who runs the scanner
	Contact   string // where to write
	UserAgent string
	Ranges    []string // source addresses, if published
}

var scannerPage = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("scanner").Parse(`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rampart scanner — Hệ thống rà quét Rampart</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.55;color:#1a1a1a}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}code{background:#f2f2f2;padding:.1rem .3rem}</style>
</head><body>
<h1>Hệ thống rà quét Rampart</h1>
<p>Các kết nối bạn thấy từ máy quét này thuộc <strong>{{.Operator}}</strong>. Chúng tôi chỉ rà quét những địa chỉ và tên miền đã được các cơ quan, tổ chức thành viên đăng ký, nhằm phát hiện sớm lỗ hổng bảo mật trên các hệ thống kết nối Internet và thông báo cho chủ sở hữu khắc phục.</p>
<p>Máy quét chỉ thực hiện kết nối TCP, đọc thông tin dịch vụ và các kiểm tra an toàn không phá hoại; có giới hạn tốc độ cho từng máy chủ. Yêu cầu HTTP mang User-Agent <code>{{.UserAgent}}</code>.</p>
{{with .Contact}}<p>Liên hệ: <a href="mailto:{{.}}">{{.}}</a></p>{{end}}
{{with .Ranges}}<p>Địa chỉ nguồn: {{range $i, $r := .}}{{if $i}}, {{end}}<code>{{$r}}</code>{{end}}</p>{{end}}
<h2 lang="en">Rampart scanner</h2>
<p lang="en">The connections you see from this scanner belong to <strong>{{.Operator}}</strong>. It scans only addresses and names registered by member organizations, to find security weaknesses on internet-facing systems early and tell their owners. It makes TCP connections, reads service banners and runs non-destructive checks, rate-limited per host. HTTP requests carry the User-Agent <code>{{.UserAgent}}</code>.</p>
{{with .Contact}}<p lang="en">Contact: <a href="mailto:{{.}}">{{.}}</a>. If you believe a system of yours is scanned in error, write to us and it will be excluded.</p>{{end}}
</body></html>
`))
})

func (s *Server) scanner(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if err := scannerPage().Execute(w, s.ScannerInfo); err != nil {
		s.log.Warn("scanner page", "err", err)
	}
}
