package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/auth"
	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/queue/natsq"
	"github.com/rampart-cert/rampart/internal/store"
	"github.com/rampart-cert/rampart/internal/store/sqlstore"
)

// ---- a real SMTP server that keeps what it receives ----

type received struct {
	From string
	To   []string
	Data []byte
}

type smtpSink struct {
	mu       sync.Mutex
	msgs     []received
	user     string // when set, PLAIN authentication with user/pass is required
	pass     string
	rejectTo string // RCPT TO this address fails with 550
	addr     string
}

func (s *smtpSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink   *smtpSink
	authed bool
	cur    received
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *sinkSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.sink.user || pass != s.sink.pass {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}
func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.cur = received{From: from}
	return nil
}
func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.sink.rejectTo {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	return nil
}
func (s *sinkSession) Reset()        { s.cur = received{} }
func (s *sinkSession) Logout() error { return nil }

func startSMTP(t *testing.T, sink *smtpSink) *smtpSink {
	t.Helper()
	srv := smtp.NewServer(sink)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sink
}

func (s *smtpSink) url(query string) string {
	u := "smtp://" + s.addr + "?starttls=none"
	if s.user != "" {
		u = "smtp://" + s.user + ":" + s.pass + "@" + s.addr + "?starttls=none&auth=plain-noenc"
	}
	return u + query
}

func (s *smtpSink) all() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// to returns the messages sent to addr.
func (s *smtpSink) to(addr string) []received {
	var out []received
	for _, m := range s.all() {
		for _, r := range m.To {
			if r == addr {
				out = append(out, m)
			}
		}
	}
	return out
}

// parsed is a received mail decoded as a mail client would.
type parsed struct {
	Subject string
	To      string
	Text    string
	HTML    string
	ID      string
}

func parse(t *testing.T, r received) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("read message: %v", err)
	}
	var p parsed
	dec := new(mime.WordDecoder)
	raw := m.Header.Get("Subject")
	if p.Subject, err = dec.DecodeHeader(raw); err != nil {
		t.Fatalf("decode subject %q: %v", raw, err)
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r > 127 }) {
		t.Errorf("subject header is not 7-bit encoded: %q", raw)
	}
	p.To, p.ID = m.Header.Get("To"), m.Header.Get("Message-Id")
	var walk func(ct string, body io.Reader)
	walk = func(ct string, body io.Reader) {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(body, params["boundary"])
			for {
				part, err := mr.NextPart() // decodes quoted-printable
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatalf("next part: %v", err)
				}
				walk(part.Header.Get("Content-Type"), part)
			}
		}
		if params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8") {
			t.Errorf("part %s has charset %s, want UTF-8", mt, params["charset"])
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		switch mt {
		case "text/plain":
			p.Text = string(b)
		case "text/html":
			p.HTML = string(b)
		}
	}
	walk(m.Header.Get("Content-Type"), m.Body)
	if p.Text == "" || p.HTML == "" {
		t.Fatalf("mail lacks a text or an HTML part:\n%s", r.Data)
	}
	return p
}

// ---- a real HTTP receiver that checks signatures ----

type hookReceiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	failN  int // fail this many requests first (500)
	always bool
	calls  int
	keys   map[string]int // deliveries by idempotency key
	bodies map[string][]byte
	srv    *httptest.Server
}

func startHook(t *testing.T, secret string, failN int) *hookReceiver {
	h := &hookReceiver{t: t, secret: secret, failN: failN, keys: map[string]int{}, bodies: map[string][]byte{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	if !strings.HasPrefix(h.srv.URL, "http://127.0.0.1:") {
		t.Fatalf("receiver not on loopback: %s", h.srv.URL)
	}
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if !notify.Verify(h.secret, body, r.Header.Get(notify.HeaderSignature)) {
		h.t.Errorf("bad signature %q", r.Header.Get(notify.HeaderSignature))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	key := r.Header.Get(notify.HeaderDelivery)
	if key == "" || r.Header.Get(notify.HeaderTimestamp) == "" {
		h.t.Errorf("missing delivery key or timestamp: %v", r.Header)
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID != key {
		h.t.Errorf("body id %q vs key %q (%v)", ev.ID, key, err)
	}
	if h.always || h.calls <= h.failN {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	// Receiver-side deduplication by the idempotency key.
	h.keys[key]++
	if h.keys[key] == 1 {
		h.bodies[key] = body
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) unique() map[string][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range h.bodies {
		out[k] = v
	}
	return out
}

// ---- a constituency in a real SQLite store ----

var sys = auth.SystemPrincipal

type world struct {
	t                      *testing.T
	ctx                    context.Context
	st                     *sqlstore.Store
	nat, min, ag, unit, en org.Organization
	asset                  asset.Asset
	unitAsset              asset.Asset
	jobs                   int
}

// newWorld builds NAT > MIN > AG > UNIT with contacts:
// AG: an (vi) and bob (en); MIN: chi (vi); NAT: dung (vi).
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite", filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: ctx, st: st}
	mk := func(parent int64, code, name, nameEN string, kind org.Kind) org.Organization {
		o := org.Organization{ParentID: parent, Code: code, Name: name, NameEN: nameEN, Kind: kind}
		if err := st.CreateOrg(ctx, sys, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	w.nat = mk(0, "VN", "Quốc gia", "National", org.KindNational)
	w.min = mk(w.nat.ID, "BTTTT", "Bộ Thông tin và Truyền thông", "Ministry of Information", org.KindMinistry)
	w.ag = mk(w.min.ID, "CUC-ATTT", "Cục An toàn thông tin", "Authority of Information Security", org.KindAgency)
	w.unit = mk(w.ag.ID, "TT-GSAT", "Trung tâm Giám sát an toàn không gian mạng", "Cyber Monitoring Centre", org.KindUnit)
	w.contact(w.ag, "Nguyễn Văn An", "an@attt.gov.vn", "vi")
	w.contact(w.ag, "Bob Smith", "bob@attt.gov.vn", "en")
	w.contact(w.min, "Trần Thị Chi", "chi@mic.gov.vn", "vi")
	w.contact(w.nat, "Lê Dũng", "dung@vncert.vn", "vi")
	w.asset = asset.Asset{OrgID: w.ag.ID, Kind: asset.KindIPv4, Value: "10.20.0.1"}
	if err := st.CreateAsset(ctx, sys, &w.asset); err != nil {
		t.Fatal(err)
	}
	w.unitAsset = asset.Asset{OrgID: w.unit.ID, Kind: asset.KindIPv4, Value: "10.20.1.1"}
	if err := st.CreateAsset(ctx, sys, &w.unitAsset); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) contact(o org.Organization, name, email, lang string) {
	c := org.Contact{OrgID: o.ID, Name: name, Email: email, Language: lang}
	if err := w.st.CreateContact(w.ctx, sys, &c); err != nil {
		w.t.Fatal(err)
	}
}

// record stores what one scan of a saw at time at.
func (w *world) record(a asset.Asset, at time.Time, fs ...store.Finding) []store.FindingChange {
	w.t.Helper()
	w.jobs++
	for i := range fs {
		fs[i].OrgID, fs[i].AssetID = a.OrgID, a.ID
		fs[i].Key = finding.Key(a.ID, fs[i].Check, fs[i].Target, fs[i].Subject)
		if fs[i].Evidence == nil {
			fs[i].Evidence = json.RawMessage(`{}`)
		}
	}
	ch, err := w.st.RecordFindings(w.ctx, store.FindingBatch{JobID: fmt.Sprintf("job-%d", w.jobs),
		At: at, Policy: finding.DefaultPolicy, Seen: fs})
	if err != nil {
		w.t.Fatal(err)
	}
	return ch
}

func f(check, title string, sev finding.Severity, kev bool) store.Finding {
	return store.Finding{Check: check, Family: strings.Split(check, ".")[0], Severity: sev, Target: "10.20.0.1:443", Title: title, KEV: kev, CVE: []string{}}
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

var ict = time.FixedZone("ICT", 7*3600)

func (w *world) notifier(t *testing.T, sink *smtpSink, clk *clock, o notify.Options) *notify.Notifier {
	t.Helper()
	if sink != nil {
		so, err := notify.ParseSMTPURL(sink.url(""))
		if err != nil {
			t.Fatal(err)
		}
		so.Timeout = 5 * time.Second
		m, err := notify.NewSMTPMailer(so, "Rampart <rampart@vncert.vn>")
		if err != nil {
			t.Fatal(err)
		}
		o.Mailer = m
	}
	o.Now = clk.Now
	o.ConsoleURL = "https://rampart.vncert.vn"
	return notify.New(w.st, o)
}

func (w *world) deliveries(p store.DeliveryFilter) []store.Delivery {
	w.t.Helper()
	page, err := w.st.ListDeliveries(w.ctx, sys, p)
	if err != nil {
		w.t.Fatal(err)
	}
	return page.Items
}

// ---- the path finding events take in serve ----

// pipe is the outbox relay on an embedded queue and a notifier's durable
// consumer of finding events, as serve runs them.
type pipe struct {
	t     *testing.T
	w     *world
	q     *natsq.Queue
	relay *events.Relay
	cons  queue.Consumer
}

// pipeline starts the relay over w's store and n's consumer; what the
// store records reaches n through the queue.
func (w *world) pipeline(t *testing.T, n *notify.Notifier) *pipe {
	t.Helper()
	q, err := natsq.Open(w.ctx, natsq.Options{DataDir: t.TempDir(), Name: "notify-test", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	p := &pipe{t: t, w: w, q: q, relay: events.NewRelay(w.st, q, events.RelayOptions{Interval: 10 * time.Millisecond})}
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan struct{})
	go func() { p.relay.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	p.cons, err = n.Consume(w.ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.cons.Stop)
	return p
}

// settle waits until the outbox is empty and the notifier acknowledged
// every finding event.
func (p *pipe) settle() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		left, err := p.w.st.OutboxPending(p.w.ctx, 1)
		if err != nil {
			p.t.Fatal(err)
		}
		pending, err := p.q.Pending(p.w.ctx, queue.StreamEvents, events.FindingSubjects)
		if err != nil {
			p.t.Fatal(err)
		}
		if len(left) == 0 && pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("events not consumed: %d in the outbox, %d pending on the queue", len(left), pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// republish publishes changes again without a message ID, as a relay that
// died after publishing and came back after the queue's duplicate window
// would: the notifier must ignore them itself.
func (p *pipe) republish(changes []store.FindingChange) {
	p.t.Helper()
	for _, c := range changes {
		data, err := json.Marshal(c)
		if err != nil {
			p.t.Fatal(err)
		}
		if err := p.q.Publish(p.w.ctx, events.FindingSubject(c.Kind), data, "", nil); err != nil {
			p.t.Fatal(err)
		}
	}
}
