package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
	"github.com/rampart-cert/rampart/internal/worker/baselinekv"
)

// committed is what a writer has committed, in order.
type committed struct {
	mu       sync.Mutex
	orgs     []string // codes
	assets   []string // values
	findings []string // keys
}

func (c *committed) snapshot() (orgs, assets, findings []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.orgs...), append([]string(nil), c.assets...), append([]string(nil), c.findings...)
}

// writeRound commits one organization, with every tenth round, one
// asset and five findings on it, through the store as the platform does.
func writeRound(ctx context.Context, st store.Store, c *committed, i int, orgID *int64) error {
	sys := auth.SystemPrincipal
	if i%10 == 0 {
		o := org.Organization{Code: fmt.Sprintf("BK%04d", i), Name: "Bộ sao lưu", NameEN: "Backup ministry", Kind: org.KindMinistry}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			return err
		}
		*orgID = o.ID
		c.mu.Lock()
		c.orgs = append(c.orgs, o.Code)
		c.mu.Unlock()
	}
	a := asset.Asset{OrgID: *orgID, Kind: asset.KindIPv4, Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
		Criticality: asset.CriticalityImportant, SecurityLevel: 3}
	if err := st.CreateAsset(ctx, sys, &a); err != nil {
		return err
	}
	c.mu.Lock()
	c.assets = append(c.assets, a.Value)
	c.mu.Unlock()
	var seen []store.Finding
	var keys []string
	for p := range 5 {
		target := fmt.Sprintf("%s:%d", a.Value, 6379+p)
		key := finding.Key(a.ID, "svc.redis-unauthenticated", target, "")
		keys = append(keys, key)
		seen = append(seen, store.Finding{Key: key, OrgID: a.OrgID, AssetID: a.ID, Check: "svc.redis-unauthenticated", Family: "svc",
			Severity: finding.Critical, Target: target, Title: "Redis without authentication", Evidence: json.RawMessage(`{}`), CVE: []string{}})
	}
	if _, err := st.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("bk-%d", i), At: time.Now().UTC(), Policy: finding.DefaultPolicy, Seen: seen}); err != nil {
		return err
	}
	c.mu.Lock()
	c.findings = append(c.findings, keys...)
	c.mu.Unlock()
	return nil
}

func runBackupCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := Run(context.Background(), args, &Env{Stdout: &out, Stderr: &errs, Getenv: func(string) string { return "" }})
	return code, out.String() + errs.String()
}

// TestBackupUnderWritesRestores backs up a platform whose database takes
// a steady stream of organizations, assets and findings and whose
// embedded NATS (held as serve holds it) has a queued job, a result not
// yet ingested and a defacement baseline; it restores the archive into a
// new data directory and finds everything committed before the backup
// began, a database that passes integrity_check, and the queue state.
func TestBackupUnderWritesRestores(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	dataA, dataB := filepath.Join(root, "a"), filepath.Join(root, "b")
	noErr(t, os.MkdirAll(dataA, 0o750))
	key := []byte("0123456789abcdef0123456789abcdef")
	noErr(t, os.WriteFile(filepath.Join(dataA, "secret.key"), key, 0o600))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(dataA, "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	// The embedded NATS, held as serve holds it, on loopback.
	q, err := natsq.Open(ctx, natsq.Options{DataDir: filepath.Join(dataA, "nats"), Name: "test-serve"})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	noErr(t, q.Publish(ctx, queue.SubjectJobs+".default.portscan", []byte(`{"id":"job-1"}`), "job-1", nil))
	noErr(t, q.Publish(ctx, queue.SubjectResults+".portscan", []byte(`{"job_id":"job-0"}`), "result-0", nil))
	kv, err := q.KeyValue(ctx, baselinekv.Bucket)
	noErr(t, err)
	noErr(t, kv.Put(ctx, "web/abc", []byte("baseline")))

	var c committed
	var orgID int64
	for i := range 200 {
		noErr(t, writeRound(ctx, st, &c, i, &orgID))
	}

	// A writer commits continuously while the backup runs.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 200; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := writeRound(ctx, st, &c, i, &orgID); err != nil {
				writeErr = err
				return
			}
		}
	}()
	time.Sleep(100 * time.Millisecond)
	orgs, assets, findings := c.snapshot()
	out := filepath.Join(root, "backup.tar.gz")
	code, msg := runBackupCLI(t, "backup", "--data", dataA, "--nats", q.ClientURL(), "--out", out)
	_, afterAssets, _ := c.snapshot()
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("backup: %d %s", code, msg)
	}
	noErr(t, writeErr)
	t.Logf("%s; %d assets committed during the backup", strings.TrimSpace(msg), len(afterAssets)-len(assets))
	if len(afterAssets) == len(assets) {
		t.Fatal("no write committed while the backup ran")
	}

	// A non-empty directory is refused without --force.
	if code, msg := runBackupCLI(t, "restore", out, "--data", dataA); code == 0 || !strings.Contains(msg, "not empty") {
		t.Fatalf("restore over the live data dir: %d %s", code, msg)
	}
	code, msg = runBackupCLI(t, "restore", out, "--data", dataB)
	if code != 0 {
		t.Fatalf("restore: %d %s", code, msg)
	}
	// The secret key that seals TOTP secrets comes back, private.
	if got, err := os.ReadFile(filepath.Join(dataB, "secret.key")); err != nil || string(got) != string(key) {
		t.Fatalf("secret key after restore: %q %v", got, err)
	}
	if fi, err := os.Stat(filepath.Join(dataB, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret key mode: %v %v", fi.Mode(), err)
	}
	if _, err := sqlstore.CheckSQLite(ctx, filepath.Join(dataB, "rampart.db")); err != nil {
		t.Fatal(err)
	}
	rst, err := sqlstore.Open(ctx, "sqlite", filepath.Join(dataB, "rampart.db"), nil)
	noErr(t, err)
	defer rst.Close()
	noErr(t, rst.Migrate(ctx))
	has := func(query string, want []string) {
		t.Helper()
		got := map[string]bool{}
		rows, err := rst.DB().QueryContext(ctx, query)
		noErr(t, err)
		defer rows.Close()
		for rows.Next() {
			var s string
			noErr(t, rows.Scan(&s))
			got[s] = true
		}
		noErr(t, rows.Err())
		for _, w := range want {
			if !got[w] {
				t.Fatalf("%s: %q committed before the backup is missing (restored %d rows)", query, w, len(got))
			}
		}
	}
	has("SELECT code FROM orgs", orgs)
	has("SELECT value FROM assets", assets)
	has("SELECT key FROM findings", findings)
	t.Logf("restored: %d orgs, %d assets, %d findings committed before the backup", len(orgs), len(assets), len(findings))

	// The queue state came back.
	rq, err := natsq.Open(ctx, natsq.Options{DataDir: filepath.Join(dataB, "nats"), Name: "test-restored", NoListen: true})
	noErr(t, err)
	defer rq.Close()
	for _, s := range []struct{ stream, filter string }{{queue.StreamJobs, queue.SubjectJobs + ".>"}, {queue.StreamResults, queue.SubjectResults + ".>"}} {
		n, err := rq.Pending(ctx, s.stream, s.filter)
		noErr(t, err)
		if n != 1 {
			t.Errorf("%s: %d messages restored, want 1", s.stream, n)
		}
	}
	rkv, err := rq.KeyValue(ctx, baselinekv.Bucket)
	noErr(t, err)
	if v, ok, err := rkv.Get(ctx, "web/abc"); err != nil || !ok || string(v) != "baseline" {
		t.Errorf("baseline after restore: %q %v %v", v, ok, err)
	}
}

// TestRestoreRefusesBadArchives: a truncated or corrupted archive is
// refused with a clear message and the data directory is not created.
func TestRestoreRefusesBadArchives(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	data := filepath.Join(root, "a")
	noErr(t, os.MkdirAll(data, 0o750))
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	noErr(t, err)
	noErr(t, st.Migrate(ctx))
	var c committed
	var orgID int64
	for i := range 20 {
		noErr(t, writeRound(ctx, st, &c, i, &orgID))
	}
	st.Close()
	out := filepath.Join(root, "b.tar.gz")
	if code, msg := runBackupCLI(t, "backup", "--data", data, "--out", out, "--no-nats"); code != 0 {
		t.Fatalf("backup: %d %s", code, msg)
	}
	good, err := os.ReadFile(out)
	noErr(t, err)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x55
	for name, b := range map[string][]byte{"truncated": good[:len(good)/2], "flipped": flipped, "empty": nil} {
		bad := filepath.Join(root, name+".tar.gz")
		noErr(t, os.WriteFile(bad, b, 0o600))
		dest := filepath.Join(root, "restored-"+name)
		code, msg := runBackupCLI(t, "restore", bad, "--data", dest)
		if code == 0 || !strings.Contains(msg, "malformed") {
			t.Errorf("%s: %d %s", name, code, msg)
		}
		if _, err := os.Stat(dest); !os.IsNotExist(err) {
			t.Errorf("%s: data directory written: %v", name, err)
		}
	}
	if code, msg := runBackupCLI(t, "backup", "--database", "postgres://u@127.0.0.1/db", "--out", out); code == 0 || !strings.Contains(msg, "pg_dump") {
		t.Errorf("postgres backup: %d %s", code, msg)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBackupRestore100k backs up a database of 100,000 findings
// (1,000 assets of 100 findings each) while a writer keeps committing,
// and restores it; it reports the archive size and the restore time.
func BenchmarkBackupRestore100k(b *testing.B) {
	ctx := context.Background()
	root := b.TempDir()
	data := filepath.Join(root, "a")
	if err := os.MkdirAll(data, 0o750); err != nil {
		b.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(data, "rampart.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	sys := auth.SystemPrincipal
	o := org.Organization{Code: "BENCH", Name: "Bộ đo", NameEN: "Bench ministry", Kind: org.KindMinistry}
	if err := st.CreateOrg(ctx, sys, &o); err != nil {
		b.Fatal(err)
	}
	for i := range 1000 {
		a := asset.Asset{OrgID: o.ID, Kind: asset.KindIPv4, Value: fmt.Sprintf("10.9.%d.%d", i>>8, i&255), Criticality: asset.CriticalityImportant, SecurityLevel: 3}
		if err := st.CreateAsset(ctx, sys, &a); err != nil {
			b.Fatal(err)
		}
		seen := make([]store.Finding, 0, 100)
		for p := range 100 {
			target := fmt.Sprintf("%s:%d", a.Value, 1000+p)
			seen = append(seen, store.Finding{Key: finding.Key(a.ID, "svc.redis-unauthenticated", target, ""), OrgID: o.ID, AssetID: a.ID,
				Check: "svc.redis-unauthenticated", Family: "svc", Severity: finding.Critical, Target: target,
				Title: "Redis without authentication", Evidence: json.RawMessage(`{"banner":"redis_version:7.2.4"}`), CVE: []string{}})
		}
		if _, err := st.RecordFindings(ctx, store.FindingBatch{JobID: fmt.Sprintf("seed-%d", i), At: time.Now().UTC(), Policy: finding.DefaultPolicy, Seen: seen}); err != nil {
			b.Fatal(err)
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	var c committed
	var orgID int64
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := writeRound(ctx, st, &c, 100000+i, &orgID); err != nil {
				b.Error(err)
				return
			}
		}
	}()
	env := &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: func(string) string { return "" }}
	var size int64
	var restore time.Duration
	b.ResetTimer()
	for i := range b.N {
		out := filepath.Join(root, fmt.Sprintf("b%d.tar.gz", i))
		if code := Run(ctx, []string{"backup", "--data", data, "--no-nats", "--out", out}, env); code != 0 {
			b.Fatalf("backup: %s", env.Stderr)
		}
		b.StopTimer()
		fi, err := os.Stat(out)
		if err != nil {
			b.Fatal(err)
		}
		size = fi.Size()
		t0 := time.Now()
		if code := Run(ctx, []string{"restore", out, "--data", filepath.Join(root, fmt.Sprintf("r%d", i))}, env); code != 0 {
			b.Fatalf("restore: %s", env.Stderr)
		}
		restore = time.Since(t0)
		b.StartTimer()
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(size)/(1<<20), "archive-MiB")
	b.ReportMetric(restore.Seconds(), "restore-s")
	b.ReportMetric(float64(len(c.assets)), "assets-written-meanwhile")
}
