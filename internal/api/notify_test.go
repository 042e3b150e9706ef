package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/store"
)

func TestNotificationRoutes(t *testing.T) {
	e := newEnv(t)
	vn := e.createOrg(e.admin, "VN", "national", 0)
	var np store.NotifyPrefs
	e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", vn), nil, 200).json(t, &np)
	if np.Language != "vi" || np.DigestPeriod != "daily" {
		t.Fatalf("defaults: %+v", np)
	}
	e.mustDo(e.admin, "PUT", fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", vn), map[string]any{"language": "en", "channels": []string{"email", "webhook"},
		"alert_min_severity": "high", "alert_kev": true, "digest_period": "weekly", "digest_weekday": 1, "digest_hour": 9, "business_days_only": true}, 200).json(t, &np)
	if np.Language != "en" || np.DigestPeriod != "weekly" || np.AlertMinSeverity != "high" {
		t.Fatalf("prefs: %+v", np)
	}
	if r := e.do(e.admin, "PUT", fmt.Sprintf("/api/v1/orgs/%d/notify-prefs", vn), map[string]any{"language": "fr", "digest_hour": 30}); r.status != 422 {
		t.Fatalf("bad prefs: %d %s", r.status, r.body)
	}
	var h store.Webhook
	e.mustDo(e.admin, "POST", fmt.Sprintf("/api/v1/orgs/%d/webhooks", vn), map[string]any{"url": "https://soc.example.vn/hook", "secret": "a-very-long-shared-secret"}, 201).json(t, &h)
	r := e.mustDo(e.admin, "GET", fmt.Sprintf("/api/v1/orgs/%d/webhooks", vn), nil, 200)
	if strings.Contains(string(r.body), "a-very-long-shared-secret") || !strings.Contains(string(r.body), "soc.example.vn") {
		t.Fatalf("webhooks: %s", r.body)
	}
	e.mustDo(e.admin, "PATCH", fmt.Sprintf("/api/v1/webhooks/%d", h.ID), map[string]any{"url": "https://soc.example.vn/hook2", "enabled": false}, 200)
	e.mustDo(e.admin, "GET", "/api/v1/deliveries", nil, 200)
	e.mustDo(e.admin, "DELETE", fmt.Sprintf("/api/v1/webhooks/%d", h.ID), nil, 204)
}
