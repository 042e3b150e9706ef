package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/store"
)

// patch sends a PATCH with a JSON body.
func patch(t *testing.T, url, token string, body any) (int, string) {
	t.Helper()
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest("PATCH", url, bytes.NewReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRegionsRouteWork is the README's scale-out example, tested (review
// F1, F6): serve in the default region (with its in-process worker,
// "<host>/serve") and `rampart worker --region hanoi` and `--region hcm`.
// An organization routed to [hanoi] has its jobs run by the hanoi worker;
// one routed to [hanoi, hcm] has them spread across both; one routed to a
// region without a worker has its job wait and say why; an organization
// without regions stays in the default region.
func TestRegionsRouteWork(t *testing.T) {
	token := "automation-token-0123456789abcdefghijkl"
	dir := t.TempDir()
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_ADMIN_TOKEN": token, "RAMPART_SCANNER_PORTS": "1-5"}
	base, stderr, _ := serve(t, env, "--no-scheduler")
	natsURL := natsURLOf(t, stderr)
	a := apiClient{t, base, token}

	startWorker(t, natsURL, "--nats-creds", issueWorker(t, env, "w-hanoi", "hanoi"), "--region", "hanoi", "--name", "w-hanoi")
	startWorker(t, natsURL, "--nats-creds", issueWorker(t, env, "w-hcm", "hcm"), "--region", "hcm", "--name", "w-hcm")

	mkOrg := func(name string, regions []string) int64 {
		t.Helper()
		var o struct{ ID int64 }
		if code := a.call("POST", "/api/v1/orgs", map[string]any{"code": name, "name": name, "kind": "agency"}, &o); code != 201 {
			t.Fatalf("create org %s: %d", name, code)
		}
		if regions != nil {
			if code, body := patch(t, fmt.Sprintf("%s/api/v1/orgs/%d", base, o.ID), token, map[string]any{"regions": regions}); code != 200 {
				t.Fatalf("route %s: %d %s", name, code, body)
			}
		}
		return o.ID
	}
	var ips []string
	mkAsset := func(orgID int64) int64 {
		t.Helper()
		ip := fmt.Sprintf("127.66.9.%d", len(ips)+1)
		ips = append(ips, ip)
		var as struct{ ID int64 }
		if code := a.call("POST", "/api/v1/assets", map[string]any{"org_id": orgID, "kind": "ipv4", "value": ip}, &as); code != 201 {
			t.Fatalf("create asset %s: %d", ip, code)
		}
		return as.ID
	}
	hn := mkAsset(mkOrg("HN", []string{"hanoi"}))
	split := mkOrg("SPLIT", []string{"hanoi", "hcm"})
	var splits []int64
	for range 4 {
		splits = append(splits, mkAsset(split))
	}
	hue := mkAsset(mkOrg("HUE", []string{"hue"}))
	plain := mkAsset(mkOrg("PLAIN", nil))
	deadline := time.Now().Add(15 * time.Second)
	for _, ip := range ips {
		for a.call("GET", "/api/v1/scope?target="+ip, nil, nil) != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("scope never covered %s", ip)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The platform hears from all three workers.
	var ws struct {
		Known bool `json:"known"`
		Items []struct {
			Name, Region string
			Live         bool
		} `json:"items"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		a.call("GET", "/api/v1/workers", nil, &ws)
		live := map[string]string{}
		for _, w := range ws.Items {
			if w.Live {
				live[w.Region] = w.Name
			}
		}
		if ws.Known && live["hanoi"] == "w-hanoi" && live["hcm"] == "w-hcm" && live["default"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers never all live: %+v", ws)
		}
		time.Sleep(200 * time.Millisecond)
	}

	j := a.waitJob(a.scanAsset(hn), 60*time.Second)
	if j.Region != "hanoi" || j.Worker != "w-hanoi" || j.WaitingReason != "" {
		t.Errorf("HN job ran in %q on %q (waiting %q), want hanoi on w-hanoi", j.Region, j.Worker, j.WaitingReason)
	}
	byRegion := map[string]int{}
	var ids []string
	for _, id := range splits {
		ids = append(ids, a.scanAsset(id))
	}
	for _, id := range ids {
		j := a.waitJob(id, 60*time.Second)
		byRegion[j.Region]++
		if want := "w-" + j.Region; j.Worker != want {
			t.Errorf("SPLIT job %s in %s ran on %q, want %s", j.ID, j.Region, j.Worker, want)
		}
	}
	if byRegion["hanoi"] == 0 || byRegion["hcm"] == 0 || byRegion["hanoi"]+byRegion["hcm"] != 4 {
		t.Errorf("SPLIT jobs by region: %v, want both hanoi and hcm", byRegion)
	}
	j = a.waitJob(a.scanAsset(plain), 60*time.Second)
	if j.Region != "default" || j.Worker == "" || j.Worker == "w-hanoi" || j.Worker == "w-hcm" {
		t.Errorf("PLAIN job ran in %q on %q, want the default region on serve's worker", j.Region, j.Worker)
	}
	hueID := a.scanAsset(hue)
	time.Sleep(time.Second)
	j = a.waitJob(hueID, time.Second, store.JobQueued)
	if j.Region != "hue" || j.WaitingReason != "no live worker in region hue" {
		t.Errorf("HUE job: region %q waiting %q, want hue and the reason", j.Region, j.WaitingReason)
	}
}
