package config

import (
	"strings"
	"testing"
	"time"
)

func TestRPZSection(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
rpz:
  listen: 127.0.0.1:8053
  debounce: 2s
  history: 16
  zones:
    - consumer: bind-hanoi
      zone: rpz.hanoi.rampart.
      key_name: bind-hanoi.rampart.
      key_secret: "c2VjcmV0LWtleS1vZi1oYW5vaS0wMTIzNDU2Nzg5YWI="
      notify: [127.0.0.1:5300]
    - consumer: unbound-hue
      allow_unsigned: [127.0.0.1, 10.0.0.0/8]
`)
	c, err := load(t, true, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := c.RPZ
	if r == nil || r.Listen != "127.0.0.1:8053" || r.Debounce != 2*time.Second || r.History != 16 || len(r.Zones) != 2 ||
		r.Zones[0].KeyName != "bind-hanoi.rampart." || r.Zones[0].Notify[0] != "127.0.0.1:5300" {
		t.Fatalf("rpz section: %+v", r)
	}
	allow, err := r.Zones[1].AllowUnsignedPrefixes()
	if err != nil || len(allow) != 2 || allow[0].String() != "127.0.0.1/32" || allow[1].String() != "10.0.0.0/8" {
		t.Fatalf("allow_unsigned %v %v", allow, err)
	}
	// The secret never shows in logs; the original is untouched.
	if red := c.Redacted().RPZ; red.Zones[0].KeySecret != redacted || strings.Contains(red.Zones[0].KeySecret, "c2Vj") {
		t.Fatalf("redacted: %+v", red.Zones[0])
	}
	if c.RPZ.Zones[0].KeySecret == redacted {
		t.Fatal("Redacted changed the configuration")
	}
	for _, tc := range []struct{ body, want string }{
		{"rpz:\n  listen: nowhere\n", "rpz.listen"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a}]\n", "rpz.zones[0]: give a TSIG key"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, key_name: k.}]\n", "key_name and key_secret go together"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, key_name: k., key_secret: c2hvcnQ=}]\n", "key_secret"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, allow_unsigned: [x]}]\n", "allow_unsigned"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, allow_unsigned: ['::1'], notify: [x]}]\n", "notify"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, allow_unsigned: ['::1']}, {consumer: a, allow_unsigned: ['::1']}]\n", "named by two zones"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, zone: 'a b', allow_unsigned: ['::1']}]\n", "rpz.zones[0].zone"},
		{"rpz:\n  listen: :53\n  debounce: 2h\n", "rpz.debounce"},
		{"rpz:\n  listen: :53\n  zones: [{consumer: a, secret: x}]\n", "secret"},
	} {
		_, err := load(t, true, []string{"--config", writeFile(t, "r.yaml", tc.body)}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error naming %s", tc.body, err, tc.want)
		}
	}
}
