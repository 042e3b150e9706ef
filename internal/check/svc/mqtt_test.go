package svc

import (
	"context"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mosquittoAt runs Debian's mosquitto on a loopback port with a
// configuration that allows anonymous clients or requires a password.
func mosquittoAt(t *testing.T, anonymous bool) netip.AddrPort {
	bin := needBinary(t, "mosquitto", "mosquitto")
	dir := t.TempDir()
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), freePort(t, "127.0.0.1"))
	conf := filepath.Join(dir, "mosquitto.conf")
	if anonymous {
		writeFile(t, conf, "per_listener_settings false\nlistener %d 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\nuser root\n", ap.Port())
	} else {
		pw := filepath.Join(dir, "passwd")
		if out, err := exec.Command(needBinary(t, "mosquitto_passwd", "mosquitto"), "-c", "-b", pw, "sensor", "a-long-sensor-password").CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd: %v: %s", err, out)
		}
		writeFile(t, conf, "per_listener_settings false\nlistener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\npersistence false\nlog_dest stderr\nuser root\n", ap.Port(), pw)
	}
	startDaemon(t, ap, bin, "-c", conf)
	return ap
}

func TestMQTTAnonymousMosquitto(t *testing.T) {
	open := mosquittoAt(t, true)
	rs := run(t, "svc.mqtt-anonymous", target(open, "mqtt"))
	if len(rs) != 1 || !strings.Contains(rs[0].Evidence.Response, "return code 0") {
		t.Fatalf("anonymous mosquitto: %+v", rs)
	}
	closed := mosquittoAt(t, false)
	if rs := run(t, "svc.mqtt-anonymous", target(closed, "mqtt")); len(rs) != 0 {
		t.Fatalf("mosquitto requiring passwords fired: %+v", rs)
	}
	// An unnamed service on the MQTT port is judged by what it answers.
	web := serveHTTP(t, nil)
	e := env()
	e.Timeout = 200 * time.Millisecond
	if rs, _ := find("svc.mqtt-anonymous").Run(context.Background(), e, target(web, "")); len(rs) != 0 {
		t.Fatalf("HTTP server fired: %+v", rs)
	}
}

func TestParseMQTTConnAck(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		rc   byte
		fail bool
	}{
		{in: []byte{0x20, 2, 0, 0}, rc: 0},
		{in: []byte{0x20, 2, 1, 0}, rc: 0},
		{in: []byte{0x20, 2, 0, 5}, rc: 5},
		{in: []byte{0x20, 3, 0, 0x87, 0}, rc: 0x87}, // MQTT 5 with empty properties
		{in: []byte("HTTP/1.1 400"), fail: true},
		{in: []byte{0x20, 2, 4, 0}, fail: true},
		{in: []byte{0x20, 0x80}, fail: true},
	} {
		ack, err := ParseMQTTConnAck(c.in)
		if (err != nil) != c.fail || (!c.fail && ack.ReturnCode != c.rc) {
			t.Errorf("%x: %+v %v", c.in, ack, err)
		}
	}
}

func FuzzParseMQTTConnAck(f *testing.F) {
	f.Add([]byte{0x20, 2, 0, 0})
	f.Add([]byte{0x20, 2, 0, 5})
	f.Add([]byte{0x20, 3, 0, 0x87, 0})
	f.Add([]byte{0x20, 0xff, 0xff, 0xff, 0x7f, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ack, err := ParseMQTTConnAck(b)
		if err == nil && ack.SessionPresent && b[0] != 0x20 {
			t.Fatal("accepted a non-CONNACK")
		}
	})
}
