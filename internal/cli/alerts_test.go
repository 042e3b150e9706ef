package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// ---- an SMTP server on loopback that keeps what it receives ----

type mailSink struct {
	mu   sync.Mutex
	msgs []sunkMail
	addr string
}

type sunkMail struct {
	To      []string
	Subject string
}

func startMailSink(t *testing.T) *mailSink {
	t.Helper()
	s := &mailSink{}
	srv := smtp.NewServer(s)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *mailSink) url() string { return "smtp://" + s.addr + "?starttls=none" }

func (s *mailSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

// alerts returns the alert mails sent to addr (digests may go out too,
// depending on the hour the test runs).
func (s *mailSink) alerts(addr string) []sunkMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sunkMail
	for _, m := range s.msgs {
		if strings.Contains(m.Subject, "Urgent:") && len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

type sinkSession struct {
	sink *mailSink
	cur  sunkMail
}

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { s.cur = sunkMail{}; return nil }
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, m.Body)
	s.cur.Subject, err = new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	return nil
}
func (s *sinkSession) Reset()        { s.cur = sunkMail{} }
func (s *sinkSession) Logout() error { return nil }

// ---- serve as a real process ----

// serveProcess runs `rampart serve` as a child process (this test binary,
// re-executed), so it can be killed for real.
type serveProcess struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	base string
	kill func() // SIGKILL, and wait for the process to end
}

func startServe(t *testing.T, env map[string]string, args ...string) *serveProcess {
	t.Helper()
	all := append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)
	enc, _ := json.Marshal(all)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RAMPART_CLI_CHILD="+string(enc))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &serveProcess{cmd: cmd, out: &syncBuffer{}}
	cmd.Stdout = p.out
	cmd.Stderr = io.Discard
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			p.base = m[1]
			break
		}
		select {
		case <-exited:
			t.Fatalf("serve exited: %s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start: %s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.kill = func() {
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
	}
	return p
}

// registerContact creates an organization with one English-speaking
// contact (alerts by e-mail for critical findings: the defaults) and an
// asset, through the API.
func registerContact(t *testing.T, a apiClient, code, email, ip string) (orgID, assetID int64) {
	t.Helper()
	var org, as, ct struct{ ID int64 }
	if a.call("POST", "/api/v1/orgs", map[string]any{"code": code, "name": "Cục " + code, "name_en": "Agency " + code, "kind": "agency"}, &org) != 201 {
		t.Fatal("create org")
	}
	if a.call("POST", fmt.Sprintf("/api/v1/orgs/%d/contacts", org.ID), map[string]any{"name": "Bob Smith", "email": email, "language": "en"}, &ct) != 201 {
		t.Fatal("create contact")
	}
	if a.call("POST", "/api/v1/assets", map[string]any{"org_id": org.ID, "kind": "ipv4", "value": ip}, &as) != 201 {
		t.Fatal("create asset")
	}
	return org.ID, as.ID
}

func waitMails(t *testing.T, s *mailSink, to string, want int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for len(s.alerts(to)) < want {
		if time.Since(start) > within {
			t.Fatalf("%d alert mails to %s after %s, want %d", len(s.alerts(to)), to, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestAlertSurvivesServeKilled kills the serving process (SIGKILL) twice
// between a critical finding's commit and its alert: right after the
// commit, while its event is still in the outbox, and after the notifier
// took the event but before the alert window closed. Each restart picks up
// where the dead process stopped, and the contact gets exactly one alert.
func TestAlertSurvivesServeKilled(t *testing.T) {
	sink := startMailSink(t)
	dir := t.TempDir()
	token := "automation-token-0123456789abcdefghijkl"
	env := map[string]string{"RAMPART_DATA": dir, "RAMPART_ADMIN_TOKEN": token, "RAMPART_SMTP_URL": sink.url(),
		"RAMPART_ALERT_WINDOW": "1h", "RAMPART_LOG_LEVEL": "debug"}
	srv := startServe(t, env, "--no-scheduler", "--no-worker")
	a := apiClient{t, srv.base, token}
	orgID, assetID := registerContact(t, a, "KILL", "bob@kill.example.vn", "127.66.9.1")

	// The finding is committed by another process on the same database,
	// as a second serve or an import would; its event waits in the outbox.
	st, err := sqlstore.Open(context.Background(), "sqlite", filepath.Join(dir, "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	target := "127.66.9.1:6379"
	_, err = st.RecordFindings(context.Background(), store.FindingBatch{JobID: "kill-1", At: time.Now().UTC(), Policy: finding.DefaultPolicy,
		Seen: []store.Finding{{Key: finding.Key(assetID, "svc.redis-unauthenticated", target, ""), OrgID: orgID, AssetID: assetID,
			Check: "svc.redis-unauthenticated", Family: "svc", Severity: finding.Critical, Target: target,
			Title: "Redis without authentication", Evidence: json.RawMessage(`{}`), CVE: []string{}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv.kill() // 1: right after the commit

	srv = startServe(t, env, "--no-scheduler", "--no-worker")
	// Wait until the notifier holds the alert (in the database), then kill
	// it long before the one-hour window closes.
	deadline := time.Now().Add(30 * time.Second)
	for {
		due, err := st.DueAlerts(context.Background(), time.Now().Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(due) == 1 {
			break
		}
		if len(due) > 1 || time.Now().After(deadline) {
			t.Fatalf("alerts queued: %+v", due)
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.kill() // 2: the alert is queued, not sent
	if got := len(sink.alerts("bob@kill.example.vn")); got != 0 {
		t.Fatalf("%d alerts sent inside the window", got)
	}

	// Restarted with a short window, the notifier sends it, once.
	env["RAMPART_ALERT_WINDOW"] = "1s"
	srv = startServe(t, env, "--no-scheduler", "--no-worker")
	waitMails(t, sink, "bob@kill.example.vn", 1, 30*time.Second)
	time.Sleep(3 * time.Second) // several ticks: nothing more
	if got := sink.alerts("bob@kill.example.vn"); len(got) != 1 || !strings.Contains(got[0].Subject, "Urgent: 1 critical finding") {
		t.Fatalf("alerts after the restarts: %+v", got)
	}
	_ = srv
}

// TestScanFindingAlertsWithin90s: a critical finding from a scan result
// (an unauthenticated Redis on a loopback lab host) reaches the contact's
// mail server within 90 seconds of the scan request, through the worker,
// the ingester, the outbox, the relay, the queue and the notifier.
func TestScanFindingAlertsWithin90s(t *testing.T) {
	redisPort, webPort := lab(t, "127.66.9.2")
	sink := startMailSink(t)
	token := "automation-token-0123456789abcdefghijkl"
	env := map[string]string{"RAMPART_DATA": t.TempDir(), "RAMPART_ADMIN_TOKEN": token, "RAMPART_SMTP_URL": sink.url(),
		"RAMPART_ALERT_WINDOW": "2s", "RAMPART_SCANNER_PORTS": fmt.Sprintf("%d,%d", redisPort, webPort)}
	base, _, stop := serve(t, env, "--no-scheduler")
	defer stop()
	a := apiClient{t, base, token}
	_, assetID := registerContact(t, a, "E2E", "bob@e2e.example.vn", "127.66.9.2")
	deadline := time.Now().Add(10 * time.Second)
	for a.call("GET", "/api/v1/scope?target=127.66.9.2", nil, nil) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("scope never covered the lab host")
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	a.scanAsset(assetID)
	waitMails(t, sink, "bob@e2e.example.vn", 1, 90*time.Second)
	took := time.Since(start)
	t.Logf("scan request to alert mail: %v", took.Round(time.Millisecond))
	if got := sink.alerts("bob@e2e.example.vn"); !strings.Contains(got[0].Subject, "Urgent:") {
		t.Fatalf("alert: %+v", got)
	}
}
