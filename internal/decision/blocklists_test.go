package decision

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/blocklist"
)

func TestBlocklists(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	svc := NewService(w.st, Options{}, w.clk.Now, quiet)
	for _, v := range []string{"198.51.100.0/24", "2001:db8:1::/48"} {
		if _, err := svc.Create(ctx, w.analyst(), v, time.Hour, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, w.analyst(), "203.0.113.7", time.Hour, "phishing host", "Login-Bank.example.", "cdn.login-bank.example"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"gov.vn", "not a name", "-x.example"} {
		if _, err := svc.Create(ctx, w.analyst(), "203.0.113.8", time.Hour, "", bad); !errors.Is(err, ErrValue) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	k := w.bouncer("fw")
	bl := &Blocklists{St: w.st, Now: w.clk.Now, Logger: quiet,
		Fallback: func(ctx context.Context, key string) (*blocklist.Consumer, error) {
			if key == "hub-consumer-key" {
				return &blocklist.Consumer{Name: "hub consumer", SetName: "hubset"}, nil
			}
			return nil, blocklist.ErrUnknownConsumer
		}}
	srv := httptest.NewServer(http.StripPrefix("/decisions", bl.Handler()))
	defer srv.Close()
	for format, want := range map[string][]string{
		"nft":      {"table inet rampart-decisions", "203.0.113.7", "198.51.100.0/24", "2001:db8:1::/48"},
		"ipset":    {"rampart-decisions", "203.0.113.7"},
		"mikrotik": {"rampart-decisions", "198.51.100.0/24"},
		"plain":    {"203.0.113.7\n"},
		"rpz":      {"decisions.rpz.rampart.", "32.7.113.0.203.rpz-ip", "\nlogin-bank.example CNAME .", "\ncdn.login-bank.example CNAME ."},
	} {
		code, body := get(t, srv, "GET", "/decisions/"+format, k)
		if code != 200 {
			t.Fatalf("%s: %d %s", format, code, body)
		}
		for _, s := range want {
			if !strings.Contains(body, s) {
				t.Errorf("%s lacks %q:\n%s", format, s, body)
			}
		}
	}
	if code, body := get(t, srv, "GET", "/decisions/nft", "hub-consumer-key"); code != 200 || !strings.Contains(body, "hubset") {
		t.Errorf("hub consumer: %d %s", code, body)
	}
	if code, _ := get(t, srv, "GET", "/decisions/nft", "nobody"); code != 401 {
		t.Errorf("unknown key: %d", code)
	}
	// Run out: gone from the list.
	w.clk.Add(2 * time.Hour)
	if _, body := get(t, srv, "GET", "/decisions/plain", k); strings.Contains(body, "203.0.113.7") {
		t.Errorf("expired decision still listed:\n%s", body)
	}
}
