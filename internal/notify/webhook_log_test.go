package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/notify"
	"github.com/rampart-cert/rampart/internal/store"
)

// TestF21DeliveryLogKeepsNoAnswer: the delivery log that members read
// holds a status code and a generic reason for a failed webhook, never
// the answer's body, the address the name resolved to or the network
// error (security F21).
func TestF21DeliveryLogKeepsNoAnswer(t *testing.T) {
	w := newWorld(t)
	const secretPage = "root:x:0:0 internal-admin-panel v1.2"
	leaky := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		http.Error(rw, secretPage, http.StatusInternalServerError)
	}))
	defer leaky.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/hook"
	closed.Close() // nothing listens there any more: connection refused
	refused := "http://127.0.0.9:8443/hook"

	// The client refuses 127.0.0.9 as serve's refuses private addresses,
	// and connects to anything else.
	d := &net.Dialer{Timeout: 2 * time.Second}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if strings.HasPrefix(addr, "127.0.0.9:") {
				return nil, fmt.Errorf("dial %s: %w", addr, notify.ErrDestination)
			}
			return d.DialContext(ctx, network, addr)
		}}}

	want := map[string]string{leaky.URL: "HTTP 500", closedURL: "no answer", refused: "not allowed"}
	var ds []*store.Delivery
	i := 0
	for u := range want {
		wh := store.Webhook{OrgID: w.ag.ID, URL: u, Secret: "webhook-secret-0123456789", Enabled: true}
		must(t, w.st.CreateWebhook(w.ctx, sys, &wh))
		i++
		key := fmt.Sprintf("manual/f21-%d", i)
		ds = append(ds, &store.Delivery{Key: key, OrgID: w.ag.ID, Kind: store.NotifyAlert, Channel: store.ChannelWebhook,
			WebhookID: wh.ID, Recipient: u, Payload: json.RawMessage(`{"id":"` + key + `","event":"alert","findings":[]}`)})
	}
	at := monday9
	for _, d := range ds {
		d.NextAttemptAt = &at
	}
	must(t, w.st.EnqueueDeliveries(w.ctx, ds))
	n := w.notifier(t, nil, &clock{t: at}, notify.Options{HTTPClient: client, MaxAttempts: 1})
	must(t, n.Retry(w.ctx, at))

	host := strings.TrimPrefix(leaky.URL, "http://")
	for _, d := range w.deliveries(store.DeliveryFilter{Channel: store.ChannelWebhook}) {
		att, err := w.st.DeliveryAttempts(w.ctx, sys, d.ID)
		must(t, err)
		if len(att) != 1 || att[0].OK {
			t.Fatalf("%s: attempts %+v", d.Recipient, att)
		}
		for _, msg := range []string{d.LastError, att[0].Error} {
			if !strings.Contains(msg, want[d.Recipient]) || !strings.HasPrefix(msg, notify.ErrSend.Error()) {
				t.Errorf("%s: logged %q, want it to say %q", d.Recipient, msg, want[d.Recipient])
			}
			for _, leak := range []string{"internal-admin-panel", "root:x", "127.0.0.", host, "refused", "dial", "connect:"} {
				if strings.Contains(msg, leak) {
					t.Errorf("%s: the member-visible log says %q (contains %q)", d.Recipient, msg, leak)
				}
			}
		}
	}
}
