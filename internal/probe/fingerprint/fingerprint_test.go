package fingerprint

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// testOptions keep the tests quick; the redirect sends every connection
// to the fake server whatever port Identify was asked about, so that the
// port-number hints are exercised too.
func testOptions(target string) Options {
	var d net.Dialer
	return Options{
		Timeout:      1500 * time.Millisecond,
		BannerWait:   400 * time.Millisecond,
		IdleGap:      150 * time.Millisecond,
		TotalTimeout: 8 * time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, target)
		},
	}
}

func identify(t testing.TB, target string, port uint16, host string, o Options) Service {
	t.Helper()
	ap := netip.MustParseAddrPort(target)
	if port != 0 {
		ap = netip.AddrPortFrom(ap.Addr(), port)
	}
	svc, err := New(nil, o).Identify(context.Background(), ap, host)
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	return svc
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	nginx := httpServer(map[string]httpReply{"": {
		headers: []string{"Server: nginx/1.24.0 (Ubuntu)", "Content-Type: text/html"},
		body:    "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body>hi</body></html>",
	}})
	tests := []struct {
		name    string
		port    uint16 // the port Identify is asked about; 0: the fake's own
		host    string
		h       func(t *testing.T) handler
		service string
		product string
		version string
		tls     bool
		extra   map[string]string
	}{
		{name: "ssh", port: 22, h: fixed(banner("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")),
			service: "ssh", product: "OpenSSH", version: "9.6p1 Ubuntu-3ubuntu13", extra: map[string]string{"ssh.comment": "Ubuntu-3ubuntu13"}},
		{name: "ssh debian revision", port: 22, h: fixed(banner("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")),
			service: "ssh", product: "OpenSSH", version: "9.2p1 Debian-2+deb12u3", extra: map[string]string{"ssh.comment": "Debian-2+deb12u3"}},
		{name: "ssh unhinted port", h: fixed(banner("SSH-2.0-dropbear_2022.83\r\n")),
			service: "ssh", product: "Dropbear sshd", version: "2022.83"},
		{name: "http nginx", port: 80, h: fixed(nginx),
			service: "http", product: "nginx", version: "1.24.0", extra: map[string]string{"http.title": "Welcome to nginx!", "os": "Ubuntu"}},
		{name: "http unhinted", h: fixed(httpServer(map[string]httpReply{"": {headers: []string{"Server: Apache/2.4.58 (Debian)"}, body: "ok"}})),
			service: "http", product: "Apache httpd", version: "2.4.58"},
		{name: "https", port: 443, host: "fake.example", h: func(t *testing.T) handler { return tlsWrap(t, []string{"h2", "http/1.1"}, nginx) },
			service: "https", product: "nginx", version: "1.24.0", tls: true,
			extra: map[string]string{"tls.alpn": "h2", "tls.version": "TLS 1.3", "tls.cert.sans": "fake.example"}},
		{name: "https unhinted", h: func(t *testing.T) handler { return tlsWrap(t, nil, nginx) },
			service: "https", product: "nginx", version: "1.24.0", tls: true},
		{name: "redis", port: 6379, h: fixed(redisServer(redisInfo)),
			service: "redis", product: "Redis key-value store", version: "7.2.4", extra: map[string]string{"redis.mode": "standalone"}},
		{name: "redis unhinted", h: fixed(redisServer(redisInfo)),
			service: "redis", product: "Redis key-value store", version: "7.2.4"},
		{name: "valkey", port: 6379, h: fixed(redisServer("# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n")),
			service: "redis", product: "Valkey", version: "8.0.1"},
		{name: "mysql", port: 3306, h: fixed(banner(string(mysqlHandshake("8.0.36")))),
			service: "mysql", product: "MySQL", version: "8.0.36", extra: map[string]string{"mysql.auth_plugin": "caching_sha2_password"}},
		{name: "mariadb unhinted", h: fixed(banner(string(mysqlHandshake("5.5.5-10.11.6-MariaDB-0+deb12u1")))),
			service: "mysql", product: "MariaDB", version: "10.11.6"},
		{name: "mysql host refused", port: 3306, h: fixed(banner(string(mysqlError(1130, "Host '10.0.0.9' is not allowed to connect to this MySQL server")))),
			service: "mysql", product: "MySQL"},
		{name: "postgresql sasl", port: 5432, h: fixed(postgresServer(pgMsg('R', []byte("\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00")))),
			service: "postgresql", product: "PostgreSQL", extra: map[string]string{"postgresql.auth": "sasl", "postgresql.ssl": "refused"}},
		{name: "postgresql error", port: 5432, h: fixed(postgresServer(pgMsg('E', []byte("SFATAL\x00VFATAL\x00C28000\x00Mno pg_hba.conf entry for host \"10.0.0.9\", user \"rampart\", database \"rampart\", no encryption\x00Fauth.c\x00L542\x00RClientAuthentication\x00\x00")))),
			service: "postgresql", product: "PostgreSQL"},
		{name: "postgresql trust", port: 5432, h: fixed(postgresServer(
			pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('S', []byte("server_version\x0016.2 (Debian 16.2-1.pgdg120+2)\x00")), pgMsg('Z', []byte("I")))),
			service: "postgresql", product: "PostgreSQL", version: "16.2"},
		{name: "mongodb", port: 27017, h: fixed(mongoServer("7.0.5")),
			service: "mongodb", product: "MongoDB", version: "7.0.5"},
		{name: "memcached", port: 11211, h: fixed(memcachedServer),
			service: "memcached", product: "Memcached", version: "1.6.21"},
		{name: "elasticsearch", port: 9200, h: fixed(httpServer(map[string]httpReply{"": {
			headers: []string{"X-elastic-product: Elasticsearch", "content-type: application/json"},
			body:    `{"name":"node-1","cluster_name":"prod","cluster_uuid":"x","version":{"number":"8.12.2","build_flavor":"default","lucene_version":"9.9.2"},"tagline":"You Know, for Search"}`,
		}})), service: "elasticsearch", product: "Elasticsearch", version: "8.12.2", extra: map[string]string{"elasticsearch.cluster": "prod"}},
		{name: "opensearch unhinted", h: fixed(httpServer(map[string]httpReply{"": {
			headers: []string{"content-type: application/json; charset=UTF-8"},
			body:    `{"name":"n","cluster_name":"c","version":{"distribution":"opensearch","number":"2.12.0"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`,
		}})), service: "elasticsearch", product: "OpenSearch", version: "2.12.0"},
		{name: "docker", port: 2375, h: fixed(httpServer(map[string]httpReply{
			"/version": {headers: []string{"Api-Version: 1.44", "Content-Type: application/json", "Docker-Experimental: false", "Server: Docker/25.0.3 (linux)"},
				body: `{"Platform":{"Name":"Docker Engine - Community"},"Version":"25.0.3","ApiVersion":"1.44","MinAPIVersion":"1.24","GitCommit":"f417435","GoVersion":"go1.21.6","Os":"linux","Arch":"amd64"}`},
			"": {status: "404 Not Found", headers: []string{"Api-Version: 1.44", "Content-Type: application/json", "Server: Docker/25.0.3 (linux)"}, body: `{"message":"page not found"}`},
		})), service: "docker", product: "Docker", version: "25.0.3", extra: map[string]string{"docker.api_version": "1.44"}},
		{name: "docker unhinted", h: fixed(httpServer(map[string]httpReply{
			"/version": {headers: []string{"Api-Version: 1.44", "Content-Type: application/json"},
				body: `{"Version":"25.0.3","ApiVersion":"1.44","GitCommit":"f417435","Os":"linux"}`},
			"": {status: "404 Not Found", headers: []string{"Api-Version: 1.44", "Content-Type: application/json", "Docker-Experimental: false"}, body: `{"message":"page not found"}`},
		})), service: "docker", product: "Docker", version: "25.0.3"},
		{name: "kubernetes", port: 6443, h: func(t *testing.T) handler {
			return tlsWrap(t, []string{"h2", "http/1.1"}, httpServer(map[string]httpReply{
				"/version": {headers: []string{"Content-Type: application/json"},
					body: `{"major":"1","minor":"29","gitVersion":"v1.29.2","gitCommit":"4b8e819","gitTreeState":"clean","buildDate":"2024-02-14T10:32:40Z","goVersion":"go1.21.7","compiler":"gc","platform":"linux/amd64"}`},
				"": {status: "403 Forbidden", headers: []string{"Content-Type: application/json"},
					body: `{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"forbidden: User \"system:anonymous\" cannot get path \"/\"","reason":"Forbidden","details":{},"code":403}`},
			}))
		}, service: "kubernetes", product: "Kubernetes", version: "1.29.2", tls: true},
		{name: "kubernetes unhinted", h: func(t *testing.T) handler {
			return tlsWrap(t, nil, httpServer(map[string]httpReply{
				"/version": {headers: []string{"Content-Type: application/json"}, body: `{"gitVersion":"v1.30.1+k3s1","goVersion":"go1.22.2","platform":"linux/arm64"}`},
				"":         {status: "401 Unauthorized", headers: []string{"Content-Type: application/json"}, body: `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`},
			}))
		}, service: "kubernetes", product: "K3s", version: "1.30.1", tls: true},
		{name: "mssql", port: 1433, h: fixed(mssqlServer(16, 0, 1000, 6)),
			service: "mssql", product: "Microsoft SQL Server 2022", version: "16.0.1000.6", extra: map[string]string{"mssql.encryption": "not-supported"}},
		{name: "mssql 2019", port: 1433, h: fixed(mssqlServer(15, 0, 2000, 5)),
			service: "mssql", product: "Microsoft SQL Server 2019", version: "15.0.2000.5"},
		{name: "smb", port: 445, h: fixed(smbServer(0x0302)),
			service: "smb", product: "Microsoft Windows", version: "10.0.20348",
			extra: map[string]string{"smb.dialect": "3.0.2", "smb.signing": "enabled", "os": "Windows Server 2022",
				"netbios.computer": "FILESRV01", "dns.domain": "corp.example"}},
		{name: "rdp", port: 3389, h: fixed(rdpServer(rdpWindowsCC)),
			service: "rdp", product: "Microsoft Terminal Services", extra: map[string]string{"rdp.selected_protocol": "credssp"}},
		{name: "vnc", port: 5900, h: fixed(vncServer("RFB 003.008\n", 1, 2)),
			service: "vnc", extra: map[string]string{"vnc.protocol": "3.8", "vnc.security_types": "1,2"}},
		{name: "vnc tightvnc unhinted", h: fixed(vncServer("RFB 003.008\n", 16, 2)),
			service: "vnc", product: "TightVNC"},
		{name: "ldap openldap", port: 389, h: fixed(ldapServer(
			ldapAttr("objectClass", "top", "OpenLDAProotDSE"), ldapAttr("namingContexts", "dc=example,dc=org"), ldapAttr("supportedLDAPVersion", "3"))),
			service: "ldap", product: "OpenLDAP", extra: map[string]string{"ldap.naming_contexts": "dc=example,dc=org"}},
		{name: "ldap active directory", port: 389, h: fixed(ldapServer(
			ldapAttr("domainControllerFunctionality", "7"), ldapAttr("defaultNamingContext", "DC=corp,DC=example"), ldapAttr("dnsHostName", "dc1.corp.example"))),
			service: "ldap", product: "Microsoft Windows Active Directory LDAP", extra: map[string]string{"ldap.dns_host_name": "dc1.corp.example"}},
		{name: "mqtt mosquitto", port: 1883, h: fixed(mqttServer(0, "mosquitto version 2.0.18")),
			service: "mqtt", product: "Eclipse Mosquitto", version: "2.0.18"},
		{name: "mqtt auth required", port: 1883, h: fixed(mqttServer(5, "")),
			service: "mqtt", extra: map[string]string{"mqtt.return_code": "5"}},
		{name: "dns bind", port: 53, h: fixed(dnsServer("9.18.24-1-Debian")),
			service: "dns", product: "ISC BIND", version: "9.18.24 Debian-1", extra: map[string]string{"dns.version_bind": "9.18.24-1-Debian"}},
		{name: "dns bind debian stable update", port: 53, h: fixed(dnsServer("9.18.49-1~deb12u3-Debian")),
			service: "dns", product: "ISC BIND", version: "9.18.49 Debian-1~deb12u3"},
		{name: "dns bind ubuntu", port: 53, h: fixed(dnsServer("9.18.30-0ubuntu0.22.04.2-Ubuntu")),
			service: "dns", product: "ISC BIND", version: "9.18.30 Ubuntu-0ubuntu0.22.04.2"},
		{name: "dns bind red hat", port: 53, h: fixed(dnsServer("9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16")),
			service: "dns", product: "ISC BIND", version: "9.11.4-P2 RedHat-9.11.4-26.P2.el7_9.16"},
		{name: "dns bind upstream", port: 53, h: fixed(dnsServer("9.20.4")),
			service: "dns", product: "ISC BIND", version: "9.20.4"},
		{name: "dns unbound", port: 53, h: fixed(dnsServer("unbound 1.19.1")),
			service: "dns", product: "Unbound", version: "1.19.1"},
		{name: "ftp", port: 21, h: fixed(banner("220 (vsFTPd 3.0.5)\r\n")),
			service: "ftp", product: "vsftpd", version: "3.0.5"},
		{name: "ftp multiline", h: fixed(banner("220-FileZilla Server 1.8.1\r\n220 Please visit https://filezilla-project.org/\r\n")),
			service: "ftp", product: "FileZilla ftpd", version: "1.8.1"},
		{name: "smtp", port: 25, h: fixed(banner("220 mail.example ESMTP Postfix (Ubuntu)\r\n")),
			service: "smtp", product: "Postfix smtpd", extra: map[string]string{"os": "Ubuntu"}},
		{name: "smtp exim", h: fixed(banner("220 mx.example.org ESMTP Exim 4.97 Tue, 07 May 2024 10:00:00 +0000\r\n")),
			service: "smtp", product: "Exim smtpd", version: "4.97"},
		{name: "pop3", port: 110, h: fixed(banner("+OK Dovecot ready.\r\n")),
			service: "pop3", product: "Dovecot pop3d"},
		{name: "imap", port: 143, h: fixed(banner("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.\r\n")),
			service: "imap", product: "Dovecot imapd"},
		{name: "imaps", port: 993, h: func(t *testing.T) handler {
			return tlsWrap(t, nil, banner("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] Dovecot (Debian) ready.\r\n"))
		}, service: "imaps", product: "Dovecot imapd", tls: true, extra: map[string]string{"os": "Debian"}},
		{name: "smtps unhinted", h: func(t *testing.T) handler {
			return tlsWrap(t, nil, banner("220 mail.example ESMTP Postfix\r\n"))
		}, service: "smtps", product: "Postfix smtpd", tls: true},
		{name: "telnet", port: 23, h: fixed(telnetServer),
			service: "telnet", product: "Linux telnetd", extra: map[string]string{"os": "Ubuntu 22.04.4 LTS"}},
		{name: "https needed, plain HTTP refused", h: func(t *testing.T) handler {
			return tlsOnlyNginx(t, httpServer(map[string]httpReply{"": {headers: []string{"Server: nginx/1.24.0"}, body: "<title>shop</title>"}}))
		}, service: "https", product: "nginx", version: "1.24.0", tls: true, extra: map[string]string{"http.title": "shop"}},
		{name: "smb samba", port: 445, h: fixed(smbServerNTLM(0x0311, ntlmChallenge(6, 1, 0, map[uint16]string{1: "NAS", 2: "WORKGROUP"}))),
			service: "smb", product: "Samba smbd", extra: map[string]string{"smb.dialect": "3.1.1", "netbios.computer": "NAS"}},
		{name: "smb over netbios", port: 139, h: fixed(netbiosSMB(0x0210)),
			service: "smb", product: "Microsoft Windows", version: "10.0.20348", extra: map[string]string{"smb.dialect": "2.1"}},
		{name: "ssh on the https port", port: 443, h: fixed(banner("SSH-2.0-OpenSSH_8.9p1\r\n")),
			service: "ssh", product: "OpenSSH", version: "8.9p1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serve(t, tt.h(t))
			svc := identify(t, addr, tt.port, tt.host, testOptions(addr))
			if svc.Service != tt.service || svc.Product != tt.product || svc.Version != tt.version || svc.TLS != tt.tls {
				t.Errorf("got service=%q product=%q version=%q tls=%v; want %q %q %q %v\n(rules %v, banner %q, extra %v)",
					svc.Service, svc.Product, svc.Version, svc.TLS, tt.service, tt.product, tt.version, tt.tls, svc.Rules, svc.Banner, svc.Extra)
			}
			for k, v := range tt.extra {
				if svc.Extra[k] != v {
					t.Errorf("Extra[%q] = %q, want %q (extra %v)", k, svc.Extra[k], v, svc.Extra)
				}
			}
			if svc.Banner == "" {
				t.Errorf("empty banner")
			}
			if len(svc.Banner) > BannerMax {
				t.Errorf("banner is %d bytes", len(svc.Banner))
			}
		})
	}
}

func fixed(h handler) func(*testing.T) handler { return func(*testing.T) handler { return h } }

func TestIdentifyCPE(t *testing.T) {
	t.Parallel()
	addr := serve(t, banner("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"))
	svc := identify(t, addr, 22, "", testOptions(addr))
	if want := "cpe:2.3:a:openbsd:openssh:9.6p1:*:*:*:*:*:*:*"; svc.CPE != want {
		t.Errorf("CPE = %q, want %q", svc.CPE, want)
	}
	if want := `SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n`; svc.Banner != want {
		t.Errorf("Banner = %q, want %q", svc.Banner, want)
	}
}

func TestIdentifyHostileServers(t *testing.T) {
	t.Parallel()
	endless := func(c net.Conn) {
		chunk := []byte(strings.Repeat("A\x00\xff", 1000))
		for {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}
	drip := func(c net.Conn) {
		for {
			if _, err := c.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	silent := func(c net.Conn) { drain(c) }
	tests := []struct {
		name  string
		h     handler
		port  uint16
		bound time.Duration
	}{
		{"endless stream", endless, 0, 4 * time.Second},
		{"endless stream on a TLS port", endless, 443, 4 * time.Second},
		{"slow drip", drip, 0, 4 * time.Second},
		{"never answers", silent, 0, 4 * time.Second},
		{"never answers on a banner port", silent, 22, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serve(t, tt.h)
			o := testOptions(addr)
			o.Timeout = 500 * time.Millisecond
			o.TotalTimeout = 2 * time.Second
			o.MaxRead = 4096
			start := time.Now()
			svc := identify(t, addr, tt.port, "", o)
			if el := time.Since(start); el > tt.bound {
				t.Errorf("Identify took %v, want under %v", el, tt.bound)
			}
			if svc.Service != "unknown" {
				t.Errorf("service %q, want unknown", svc.Service)
			}
			if len(svc.Banner) > BannerMax {
				t.Errorf("banner %d bytes", len(svc.Banner))
			}
		})
	}
}

func TestIdentifyConnectRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = New(nil, Options{Timeout: time.Second}).Identify(context.Background(), netip.MustParseAddrPort(addr), "")
	if err == nil || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("err = %v, want a connect error", err)
	}
}

func TestIdentifyCancelled(t *testing.T) {
	t.Parallel()
	addr := serve(t, func(c net.Conn) { drain(c) })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := New(nil, Options{Timeout: 5 * time.Second, TotalTimeout: 30 * time.Second}).
		Identify(ctx, netip.MustParseAddrPort(addr), "")
	if time.Since(start) > 2*time.Second {
		t.Fatalf("cancel took %v", time.Since(start))
	}
	if err == nil {
		t.Fatal("want an error from a cancelled identification that learned nothing")
	}
}

func TestIdentifyOtherLoopbackAddress(t *testing.T) {
	t.Parallel()
	addr := serveOn(t, "127.0.0.7:0", banner("220 (vsFTPd 3.0.3)\r\n"))
	svc := identify(t, addr, 0, "", Options{Timeout: time.Second, BannerWait: 500 * time.Millisecond})
	if svc.Service != "ftp" || svc.Version != "3.0.3" {
		t.Errorf("got %+v", svc)
	}
}

// TestExtraRulesDir loads an analyst's directory that adds a product and
// overrides a built-in rule, and checks Identify uses both.
func TestExtraRulesDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "acme.yaml", `
rules:
  - id: acme.widgetd
    description: ACME widget daemon, seen on plant networks
    service: widget
    probe: banner
    match:
      - regex: '^WIDGET (?P<v>\d+\.\d+) ready'
    product: ACME widgetd
    version: "{{v}}"
    cpe: "cpe:2.3:a:acme:widgetd:{{v}}"
`)
	write(t, dir, "sub/override.yml", `
rules:
  - id: ftp.vsftpd
    service: ftp
    probe: banner
    match:
      - regex: '^220 \(vsFTPd (?P<v>[0-9.]+)\)'
    product: Very Secure FTP Daemon
    version: "{{v}}"
`)
	extra, err := LoadRulesDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rules := DefaultRules().Merge(extra)
	if rules.Len() != DefaultRules().Len()+1 {
		t.Errorf("merged %d rules, want %d", rules.Len(), DefaultRules().Len()+1)
	}
	for _, tc := range []struct{ banner, product, version, cpe string }{
		{"WIDGET 4.2 ready\r\n", "ACME widgetd", "4.2", "cpe:2.3:a:acme:widgetd:4.2:*:*:*:*:*:*:*"},
		{"220 (vsFTPd 3.0.5)\r\n", "Very Secure FTP Daemon", "3.0.5", ""},
	} {
		addr := serve(t, banner(tc.banner))
		o := testOptions(addr)
		svc, err := New(rules, o).Identify(context.Background(), netip.MustParseAddrPort(addr), "")
		if err != nil {
			t.Fatal(err)
		}
		if svc.Product != tc.product || svc.Version != tc.version || svc.CPE != tc.cpe {
			t.Errorf("%q: got %+v", tc.banner, svc)
		}
		// The built-in set is untouched.
		svc, _ = New(nil, o).Identify(context.Background(), netip.MustParseAddrPort(addr), "")
		if svc.Product == tc.product {
			t.Errorf("%q: default rules changed by Merge: %+v", tc.banner, svc)
		}
	}
}

func TestLoadRulesErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: x\n    prodcut: y\n", "x.yaml:7: field prodcut not found"},
		{"unknown matcher key", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regexp: x\n", "x.yaml:6: field regexp not found"},
		{"bad regex", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: '(unclosed'\n", "x.yaml:6: rule \"a.b\": match[0]: regex"},
		{"unknown probe", "rules:\n  - id: a.b\n    service: x\n    probe: gopher\n    match:\n      - regex: x\n", "x.yaml:2: rule \"a.b\": unknown probe \"gopher\""},
		{"two tests", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: x\n        equals: y\n", "want exactly one of"},
		{"no service", "rules:\n  - id: a.b\n    probe: banner\n    match:\n      - regex: x\n", "service is required"},
		{"bad template", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: x\n    version: '{{v'\n", "unterminated"},
		{"bad cpe", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: x\n    cpe: 'cpe:/a:x:y'\n", "cpe must start with cpe:2.3:"},
		{"duplicate id", "rules:\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: x\n  - id: a.b\n    service: x\n    probe: banner\n    match:\n      - regex: y\n", "x.yaml:7: rule \"a.b\" already defined at x.yaml:2"},
		{"bad id", "rules:\n  - id: A B\n    service: x\n    probe: banner\n    match:\n      - regex: x\n", "id must match"},
		{"top-level typo", "rule:\n  - id: a.b\n", "field rule not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadRules(fstest.MapFS{"x.yaml": {Data: []byte(tt.yaml)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaultRulesLoad(t *testing.T) {
	rs := DefaultRules()
	if rs.Len() < 80 {
		t.Errorf("only %d built-in rules", rs.Len())
	}
	services := map[string]bool{}
	for _, r := range rs.list {
		services[r.service] = true
	}
	for _, s := range []string{"http", "ssh", "ftp", "smtp", "pop3", "imap", "telnet", "dns", "mysql", "postgresql",
		"mssql", "mongodb", "redis", "memcached", "elasticsearch", "rdp", "smb", "vnc", "ldap", "mqtt", "docker", "kubernetes"} {
		if !services[s] {
			t.Errorf("no built-in rule for %s", s)
		}
	}
}

func TestRulesMatchSemantics(t *testing.T) {
	rs, err := ParseRules("t.yaml", []byte(`
rules:
  - id: generic
    service: web
    probe: http
    priority: -10
    match:
      - field: status
        present: true
    version: "{{header.x-version}}"
    extra:
      note: generic
  - id: specific
    service: web
    probe: http
    match:
      - field: header.server
        regex: '^Acme(?:/(?P<v>[0-9.]+))?'
      - field: header.x-debug
        present: false
    product: Acme
    version: "{{v}}"
    cpe: "cpe:2.3:a:acme:acme:{{v}}"
  - id: other
    service: other
    probe: any
    priority: -20
    match:
      - contains: hello
`))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := rs.Match("http", map[string]string{"status": "200", "header.server": "Acme", "header.x-version": "7"})
	if !ok || m.Service != "web" || m.Product != "Acme" || m.Version != "7" || m.CPE != "cpe:2.3:a:acme:acme:*:*:*:*:*:*:*:*" || m.Extra["note"] != "generic" {
		t.Errorf("fill-in: %+v", m)
	}
	m, _ = rs.Match("http", map[string]string{"status": "200", "header.server": "Acme/1.2", "header.x-debug": "1"})
	if m.Product != "" || m.Version != "" || m.RuleIDs[0] != "generic" {
		t.Errorf("present:false should block the specific rule: %+v", m)
	}
	m, ok = rs.Match("banner", map[string]string{"raw": "say hello"})
	if !ok || m.Service != "other" {
		t.Errorf("probe any: %+v %v", m, ok)
	}
	if _, ok := rs.Match("banner", map[string]string{"raw": "nothing"}); ok {
		t.Error("matched nothing-to-match")
	}
}

func TestEscapeBanner(t *testing.T) {
	got := EscapeBanner([]byte("ab\r\n\x00\xff\\"), 100)
	if want := `ab\r\n\x00\xff\\`; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	if got := EscapeBanner([]byte(strings.Repeat("\x01", 100)), 10); got != `\x01\x01` {
		t.Errorf("cap: got %q", got)
	}
}

func TestCPEEscape(t *testing.T) {
	for in, want := range map[string]string{"9.6p1": "9.6p1", "": "*", "2.0 beta": "2.0_beta", "a:b": `a\:b`, "Ü": "*"} {
		if got := cpeEscape(in); got != want {
			t.Errorf("cpeEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestEarlyHTTP: on a port the table does not know, a web server (which
// waits for a request) is identified soon after earlyHTTP rather than
// after the whole BannerWait, while a server-first service whose banner
// comes after earlyHTTP is still identified by its banner, and a telnet
// server that negotiates late still gets its negotiation.
func TestEarlyHTTP(t *testing.T) {
	t.Parallel()
	late := func(d time.Duration, h handler) handler {
		return func(c net.Conn) {
			time.Sleep(d)
			h(c)
		}
	}
	o := func(target string) Options {
		o := testOptions(target)
		o.BannerWait = 1500 * time.Millisecond
		return o
	}
	web := serve(t, httpServer(map[string]httpReply{"": {headers: []string{"Server: nginx/1.24.0"}, body: "<title>hi</title>"}}))
	start := time.Now()
	svc := identify(t, web, 12345, "", o(web))
	if took := time.Since(start); svc.Service != "http" || svc.Product != "nginx" || took > time.Second {
		t.Errorf("web server on an unknown port: %+v after %v, want http (nginx) in about %v", svc, took, earlyHTTP)
	}

	ftp := serve(t, late(600*time.Millisecond, banner("220 (vsFTPd 3.0.3)\r\n")))
	svc = identify(t, ftp, 12345, "", o(ftp))
	if svc.Service != "ftp" || svc.Version != "3.0.3" || !strings.HasPrefix(svc.Banner, "220 (vsFTPd 3.0.3)") {
		t.Errorf("late banner on an unknown port: %+v", svc)
	}

	telnet := serve(t, late(600*time.Millisecond, telnetServer))
	svc = identify(t, telnet, 12345, "", o(telnet))
	if svc.Service != "telnet" {
		t.Errorf("late telnet on an unknown port: %+v", svc)
	}
}

// TestDistroRevisionRules: a distribution's package revision is kept after
// the upstream version, and the CPE names the upstream version only.
func TestDistroRevisionRules(t *testing.T) {
	for _, tt := range []struct {
		kind, field, value, version, cpe string
	}{
		{KindDNS, "dns.txt", "9.18.49-1~deb12u3-Debian", "9.18.49 Debian-1~deb12u3", "cpe:2.3:a:isc:bind:9.18.49:*:*:*:*:*:*:*"},
		{KindDNS, "dns.txt", "9.16.50-1~deb11u2-Debian", "9.16.50 Debian-1~deb11u2", "cpe:2.3:a:isc:bind:9.16.50:*:*:*:*:*:*:*"},
		{KindDNS, "dns.txt", "9.18.28", "9.18.28", "cpe:2.3:a:isc:bind:9.18.28:*:*:*:*:*:*:*"},
		{KindBanner, "line", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "9.2p1 Debian-2+deb12u3", "cpe:2.3:a:openbsd:openssh:9.2p1:*:*:*:*:*:*:*"},
		{KindBanner, "line", "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", "8.9p1 Ubuntu-3ubuntu0.10", "cpe:2.3:a:openbsd:openssh:8.9p1:*:*:*:*:*:*:*"},
		{KindBanner, "line", "SSH-2.0-OpenSSH_9.8p1", "9.8p1", "cpe:2.3:a:openbsd:openssh:9.8p1:*:*:*:*:*:*:*"},
	} {
		m, ok := DefaultRules().Match(tt.kind, map[string]string{tt.field: tt.value, "dns.qr": "1"})
		if !ok || m.Version != tt.version || m.CPE != tt.cpe {
			t.Errorf("%s: %+v %v; want version %q cpe %q", tt.value, m, ok, tt.version, tt.cpe)
		}
	}
}

// TestVNCRefusal: a server that refuses the handshake ("Too many security
// failures") offers no security type, in RFB 3.3 (type 0) as in 3.7+
// (count 0); the reason is kept, and no type is made up.
func TestVNCRefusal(t *testing.T) {
	reason := []byte{0, 0, 0, 26}
	reason = append(reason, "Too many security failures"...)
	for _, c := range []struct {
		legacy bool
		b      []byte
	}{
		{false, append([]byte{0}, reason...)},
		{true, append([]byte{0, 0, 0, 0}, reason...)},
	} {
		f, err := parseVNCSecurity(c.b, c.legacy)
		if err != nil || f["vnc.failure"] != "Too many security failures" || f["vnc.security_types"] != "" {
			t.Errorf("legacy=%v: %v %v", c.legacy, f, err)
		}
	}
	if f, _ := parseVNCSecurity([]byte{0, 0, 0, 0, 0, 0, 0, 99, 'a', 'b'}, true); f["vnc.failure"] != "ab" {
		t.Errorf("short reason: %v", f)
	}
	if f, _ := parseVNCSecurity([]byte{0, 0, 0, 2}, true); f["vnc.security_types"] != "2" {
		t.Errorf("3.3 type 2: %v", f)
	}
}
