package config

import (
	"strings"
	"testing"
)

func TestDNSSection(t *testing.T) {
	file := writeFile(t, "rampart.yaml", `
dns:
  lists:
    - {name: phishing, action: redirect, categories: [phishing]}
    - {name: urlhaus, action: nodata, feeds: [urlhaus]}
  default_action: nxdomain
  walled_garden_a: 192.0.2.80
  walled_garden_listen: 127.0.0.1:8081
  contact: soc@cert.example
  allow: [update.example.vn]
`)
	c, err := load(t, true, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := c.DNS
	if d == nil || len(d.Lists) != 2 || d.Lists[1].Feeds[0] != "urlhaus" || d.WalledGardenA != "192.0.2.80" || d.Allow[0] != "update.example.vn" {
		t.Fatalf("dns section: %+v", d)
	}
	bad := writeFile(t, "bad.yaml", `
dns:
  lists:
    - {name: x, action: drop, categories: [nope]}
  walled_garden_a: 2001:db8::1
  max_tlp: RED-ISH
`)
	_, err = load(t, true, []string{"--config", bad}, nil)
	if err == nil {
		t.Fatal("a bad dns section loaded")
	}
	for _, want := range []string{"action \"drop\"", "category \"nope\"", "walled_garden_a", "max_tlp"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}
