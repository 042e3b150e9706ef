package rpz_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/intel"
)

// TestDigTSIG transfers a consumer's zone with BIND's dig -y (which
// checks the signature of every message): AXFR and IXFR with the right
// key, and a refusal with a wrong secret or without a key.
func TestDigTSIG(t *testing.T) {
	dig := need(t, "/usr/bin/dig")
	src := &source{}
	src.set(t, sampleIndicators())
	s, addr := start(t, src, twoConsumers(), nil)
	host, port, _ := net.SplitHostPort(addr)
	run := func(args ...string) string {
		t.Helper()
		out, _ := exec.Command(dig, append([]string{"@" + host, "-p", port, "+tries=1", "+time=3"}, args...)...).CombinedOutput()
		return string(out)
	}
	// owners are the names of the CNAME records dig printed.
	owners := func(out string) map[string]bool {
		m := map[string]bool{}
		for l := range strings.Lines(out) {
			if f := strings.Fields(l); len(f) >= 5 && f[3] == "CNAME" {
				m[f[0]] = true
			}
		}
		return m
	}
	key := "hmac-sha256:" + strings.TrimSuffix(keyA.Name, ".") + ":" + keyA.Secret
	out := run("-y", key, "rpz.hanoi.test.", "AXFR")
	for _, want := range []string{"evil.example.rpz.hanoi.test.", "*.evil.example.rpz.hanoi.test.", "48.zz.ff.db8.2001.rpz-ip.rpz.hanoi.test."} {
		if !owners(out)[want] {
			t.Errorf("dig AXFR lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "failure") || strings.Contains(out, "Transfer failed") || !strings.Contains(out, "XFR size: 11 records") {
		t.Fatalf("dig AXFR:\n%s", out)
	}
	before, _ := s.Serial("hanoi")
	src.set(t, append(sampleIndicators(), ind(intel.KindDomain, "new.example", 80)))
	if err := s.Update(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	out = run("-y", key, "rpz.hanoi.test.", "IXFR="+strconv.FormatUint(uint64(before), 10))
	if got := owners(out); len(got) != 2 || !got["new.example.rpz.hanoi.test."] || !got["*.new.example.rpz.hanoi.test."] ||
		strings.Contains(out, "failure") || strings.Contains(out, "Transfer failed") {
		t.Fatalf("dig IXFR from %d: want the new name only:\n%s", before, out)
	}
	for name, args := range map[string][]string{
		"wrong secret": {"-y", "hmac-sha256:" + strings.TrimSuffix(keyA.Name, ".") + ":" + keyB.Secret, "rpz.hanoi.test.", "AXFR"},
		"no key":       {"rpz.hanoi.test.", "AXFR"},
		"other zone":   {"-y", key, "rpz.hue.test.", "AXFR"},
	} {
		out := run(args...)
		if len(owners(out)) > 0 || !strings.Contains(out, "Transfer failed") {
			t.Errorf("%s: dig got a zone:\n%s", name, out)
		}
	}
}
