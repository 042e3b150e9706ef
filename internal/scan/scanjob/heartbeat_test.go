package scanjob_test

import (
	"testing"

	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/scan/scanjob"
)

func TestHeartbeatKey(t *testing.T) {
	for _, tt := range []struct{ region, name, want string }{
		{"hanoi", "w1", "hanoi.w1"},
		{"default", "scan.example.org/serve", "default.scan_example_org/serve"},
		{"hcm", "Máy 2", "hcm.M__y_2"},
		{"hcm", "", "hcm._"},
	} {
		got := scanjob.HeartbeatKey(tt.region, tt.name)
		if got != tt.want || !queue.ValidKey(got) {
			t.Errorf("HeartbeatKey(%q, %q) = %q (valid %v), want %q", tt.region, tt.name, got, queue.ValidKey(got), tt.want)
		}
	}
}
