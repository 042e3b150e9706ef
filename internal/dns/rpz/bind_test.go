package rpz_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/blocklist"
	"github.com/rampart-cert/rampart/internal/dns/rpz"
)

// soaSerial asks server for zone's SOA serial.
func soaSerial(server, zone string) (uint32, error) {
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(new(dns.Msg).SetQuestion(zone, dns.TypeSOA), server)
	if err != nil {
		return 0, err
	}
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
		return 0, fmt.Errorf("SOA of %s: %s, %d answers", zone, dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	soa, ok := r.Answer[0].(*dns.SOA)
	if !ok {
		return 0, fmt.Errorf("SOA of %s: answer %s", zone, r.Answer[0])
	}
	return soa.Serial, nil
}

// TestBINDSecondaryTSIG runs Debian's BIND (named) as a secondary of a
// consumer's zone with the consumer's TSIG key: it transfers the zone
// (every request signed by BIND, every answer message verified by it;
// the server refuses anything unsigned), and a change reaches it by a
// signed NOTIFY and an IXFR.
func TestBINDSecondaryTSIG(t *testing.T) {
	named := need(t, "/usr/sbin/named")
	src := &source{}
	src.set(t, sampleIndicators())
	// named listens only on addresses configured on an interface: the
	// loopback's own 127.0.0.1, on a free port.
	namedPort := freePort(t, "127.0.0.1")
	secondary := net.JoinHostPort("127.0.0.1", strconv.Itoa(namedPort))
	specs := []rpz.ZoneSpec{{Consumer: blocklist.Consumer{Name: "bind-hanoi", Zone: "rpz.hanoi.test."}, Key: keyA, Notify: []string{secondary}}}
	s, err := rpz.New(rpz.Options{Source: src, Zones: func(context.Context) ([]rpz.ZoneSpec, error) { return specs, nil },
		Poll: 100 * time.Millisecond, Debounce: 200 * time.Millisecond, NotifySource: netip.MustParseAddr("127.88.55.2"), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Update(ctx, true); err != nil {
		t.Fatal(err)
	}
	ln, pc := listenPair(t, "127.88.55.2")
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln, pc) }()
	ran := make(chan struct{})
	go func() { s.Run(ctx); close(ran) }()
	defer func() { cancel(); <-served; <-ran }()
	primary := ln.Addr().(*net.TCPAddr)

	dir := t.TempDir()
	conf := fmt.Sprintf(`options {
	directory %[1]q;
	managed-keys-directory %[1]q;
	pid-file none;
	listen-on port %[2]d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
	dnssec-validation no;
	allow-transfer { none; };
};
controls { };
key %[3]q { algorithm hmac-sha256; secret %[4]q; };
server %[5]s { keys { %[3]q; }; };
zone "rpz.hanoi.test" {
	type secondary;
	primaries port %[6]d { %[5]s key %[3]q; };
	file "rpz.hanoi.test.db";
	request-ixfr yes;
};
`, dir, namedPort, keyA.Name, keyA.Secret, primary.IP, primary.Port)
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	cmd := exec.Command(named, "-g", "-n", "1", "-c", confPath)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()

	waitSerial := func(want uint32, d time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		var got uint32
		var err error
		for time.Since(start) < d {
			if got, err = soaSerial(secondary, "rpz.hanoi.test."); err == nil && got == want {
				return time.Since(start)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("BIND holds serial %d (%v), want %d\nnamed:\n%s", got, err, want, logs)
		return 0
	}
	serial, _ := s.Serial("bind-hanoi")
	waitSerial(serial, 15*time.Second)
	has := func(name string) bool {
		c := &dns.Client{Timeout: time.Second}
		r, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, dns.TypeCNAME), secondary)
		return err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1
	}
	for _, name := range []string{"evil.example.rpz.hanoi.test.", "*.evil.example.rpz.hanoi.test.", "32.7.100.51.198.rpz-ip.rpz.hanoi.test."} {
		if !has(name) {
			t.Errorf("BIND's copy lacks %s", name)
		}
	}
	if st := s.Stats(); st.AXFR+st.IXFRFull == 0 || st.Refused != 0 {
		t.Errorf("first transfer: %+v", st)
	}

	src.set(t, append(sampleIndicators(), domains("new.example")...))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if now, _ := s.Serial("bind-hanoi"); now != serial {
			serial = now
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the change was not published")
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := waitSerial(serial, 10*time.Second)
	if !has("new.example.rpz.hanoi.test.") || !has("evil.example.rpz.hanoi.test.") {
		t.Errorf("BIND's copy after the change is wrong\nnamed:\n%s", logs)
	}
	st := s.Stats()
	if st.IXFRDelta == 0 || st.Notified == 0 || st.Refused != 0 {
		t.Errorf("the change did not go by NOTIFY and IXFR: %+v\nnamed:\n%s", st, logs)
	}
	// BIND says which key its transfers were signed with.
	if l := logs.String(); !strings.Contains(l, "TSIG 'hanoi.rampart'") && !strings.Contains(l, "TSIG hanoi.rampart") {
		t.Errorf("named does not report a TSIG-signed transfer\nnamed:\n%s", l)
	}
	t.Logf("a change reached BIND in %s after publication (serial %d; %+v)", took.Round(time.Millisecond), serial, st)
}
