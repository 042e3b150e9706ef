package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/rampart-cert/rampart/internal/asset"
	"github.com/rampart-cert/rampart/internal/org"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/transfer"
)

// Tests use bases of their own, so they never compete for ports with a
// demo that another test package (or a person) runs on the default base.
func startLab(t testing.TB) *Lab {
	t.Helper()
	l, err := Start(context.Background(), Options{Base: netip.MustParseAddr("127.77.32.0")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func hostByName(t testing.TB, l *Lab, name string) HostInfo {
	t.Helper()
	for _, h := range l.Hosts() {
		if h.Hostname == name {
			return h
		}
	}
	t.Fatalf("no lab host %s", name)
	return HostInfo{}
}

func addrOf(h HostInfo, svc string) string {
	return net.JoinHostPort(h.Addr.String(), strconv.Itoa(int(h.Port(svc))))
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, bufio.NewReader(c)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	s, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (got %q)", err, s)
	}
	return s
}

func TestStartCloseRestart(t *testing.T) {
	var ports []string
	for round := range 2 {
		begin := time.Now()
		l, err := Start(context.Background(), Options{Base: netip.MustParseAddr("127.77.48.0")})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		took := time.Since(begin)
		t.Logf("round %d: started %d hosts in %v, DNS at %s", round, len(l.Hosts()), took, l.DNSAddr())
		if took > 2*time.Second {
			t.Errorf("start took %v", took)
		}
		var now []string
		for _, h := range l.Hosts() {
			if !Network.Contains(h.Addr) {
				t.Errorf("%s outside the lab network", h.Addr)
			}
			for _, s := range h.Services {
				a := net.JoinHostPort(h.Addr.String(), strconv.Itoa(int(s.Port)))
				now = append(now, s.Name+" "+a)
				c, err := net.DialTimeout("tcp", a, time.Second)
				if err != nil {
					t.Errorf("%s %s: %v", s.Name, a, err)
					continue
				}
				c.Close()
			}
		}
		if round == 0 {
			ports = now
		} else if strings.Join(ports, ",") != strings.Join(now, ",") {
			t.Errorf("ports changed after restart:\n%v\n%v", ports, now)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal("second close:", err)
		}
		for _, p := range now {
			a := strings.Fields(p)[1]
			if c, err := net.DialTimeout("tcp", a, 200*time.Millisecond); err == nil {
				c.Close()
				t.Errorf("%s still answers after Close", p)
			}
		}
	}
}

func TestBaseOutsideLabNetwork(t *testing.T) {
	for _, b := range []string{"127.0.0.1", "10.0.0.1", "127.77.255.0", "127.78.0.0", "::1"} {
		_, err := Start(context.Background(), Options{Base: netip.MustParseAddr(b)})
		if !errors.Is(err, ErrAddress) {
			t.Errorf("base %s: err = %v, want ErrAddress", b, err)
		}
	}
}

func TestOtherBase(t *testing.T) {
	l, err := Start(context.Background(), Options{Base: netip.MustParseAddr("127.77.100.0")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := hostByName(t, l, "cache.epay-demo.vn")
	if h.Addr != netip.MustParseAddr("127.77.103.10") {
		t.Errorf("cache host at %s", h.Addr)
	}
	m, err := mdns.Exchange(query("cache.epay-demo.vn.", mdns.TypeA), l.DNSAddr())
	if err != nil || len(m.Answer) != 1 || m.Answer[0].(*mdns.A).A.String() != "127.77.103.10" {
		t.Errorf("A cache.epay-demo.vn = %v %v", m, err)
	}
}

func TestRedis(t *testing.T) {
	l := startLab(t)
	c, r := dial(t, addrOf(hostByName(t, l, "cache.epay-demo.vn"), "redis"))
	io.WriteString(c, "*1\r\n$4\r\nPING\r\n")
	if s := readLine(t, r); s != "+PONG\r\n" {
		t.Errorf("PING: %q", s)
	}
	io.WriteString(c, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
	head := readLine(t, r)
	n, _ := strconv.Atoi(strings.TrimSpace(head[1:]))
	body := make([]byte, n+2)
	if _, err := io.ReadFull(r, body); err != nil || !bytes.Contains(body, []byte("redis_version:6.0.16\r\n")) {
		t.Errorf("INFO: %q %q %v", head, body, err)
	}
	io.WriteString(c, "PING hello\r\n") // inline
	if s := readLine(t, r); s != "$5\r\n" {
		t.Errorf("inline PING: %q", s)
	}
	readLine(t, r)
	// A hostile client: a huge bulk length is refused and the line dropped.
	io.WriteString(c, "*1\r\n$999999999\r\n")
	if s := readLine(t, r); !strings.HasPrefix(s, "-ERR Protocol error") {
		t.Errorf("huge bulk: %q", s)
	}
	if _, err := r.ReadByte(); err == nil {
		t.Error("connection still open after a protocol error")
	}
	// An endless line is cut off.
	c2, r2 := dial(t, addrOf(hostByName(t, l, "cache.epay-demo.vn"), "redis"))
	go c2.Write(bytes.Repeat([]byte("A"), 64<<10))
	if _, err := io.ReadAll(io.LimitReader(r2, 1<<20)); err != nil && !isReset(err) {
		t.Errorf("endless line: %v", err)
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "reset") }

func TestMemcached(t *testing.T) {
	l := startLab(t)
	c, r := dial(t, addrOf(hostByName(t, l, "cache.epay-demo.vn"), "memcached"))
	io.WriteString(c, "stats\r\n")
	if s := readLine(t, r); !strings.HasPrefix(s, "STAT ") {
		t.Errorf("stats: %q", s)
	}
}

func TestFTPAnonymous(t *testing.T) {
	l := startLab(t)
	c, r := dial(t, addrOf(hostByName(t, l, "ftp.hn-demo.gov.vn"), "ftp"))
	if s := readLine(t, r); s != "220 (vsFTPd 2.3.4)\r\n" {
		t.Errorf("greeting %q", s)
	}
	for _, step := range []struct{ send, want string }{
		{"USER anonymous", "331"}, {"PASS guest@", "230"}, {"PWD", "257"}, {"QUIT", "221"},
	} {
		io.WriteString(c, step.send+"\r\n")
		if s := readLine(t, r); !strings.HasPrefix(s, step.want) {
			t.Errorf("%s: %q", step.send, s)
		}
	}
}

func TestTelnetBanner(t *testing.T) {
	l := startLab(t)
	_, r := dial(t, addrOf(hostByName(t, l, "ftp.hn-demo.gov.vn"), "telnet"))
	buf := make([]byte, 256)
	n, _ := io.ReadAtLeast(r, buf, 20)
	if buf[0] != iac || !bytes.Contains(buf[:n], []byte("Ubuntu 14.04.6 LTS")) {
		t.Errorf("banner %q", buf[:n])
	}
}

func TestSMTPWithoutSTARTTLS(t *testing.T) {
	l := startLab(t)
	c, r := dial(t, addrOf(hostByName(t, l, "mail.hcm-demo.gov.vn"), "smtp"))
	if s := readLine(t, r); !strings.HasPrefix(s, "220 mail.hcm-demo.gov.vn ESMTP") {
		t.Errorf("greeting %q", s)
	}
	io.WriteString(c, "EHLO scanner.example\r\n")
	var ehlo []string
	for {
		s := readLine(t, r)
		ehlo = append(ehlo, s)
		if !strings.HasPrefix(s, "250-") {
			break
		}
	}
	if len(ehlo) < 3 || strings.Contains(strings.Join(ehlo, ""), "STARTTLS") {
		t.Errorf("EHLO: %q", ehlo)
	}
	io.WriteString(c, "STARTTLS\r\n")
	if s := readLine(t, r); !strings.HasPrefix(s, "502") {
		t.Errorf("STARTTLS: %q", s)
	}
}

// get sends a raw HTTP request (the path exactly as given) and returns the
// response.
func get(t *testing.T, addr, host, path string) (*http.Response, string) {
	t.Helper()
	c, r := dial(t, addr)
	io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\nConnection: close\r\n\r\n")
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, string(b)
}

func TestWeakPortal(t *testing.T) {
	l := startLab(t)
	h := hostByName(t, l, "congthongtin.hn-demo.gov.vn")
	a := addrOf(h, "http")
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/", 200, "Cổng thông tin điện tử Thành phố Hà Nội"},
		{"/.git/HEAD", 200, "ref: refs/heads/main\n"},
		{"/.git/config", 200, "[core]"},
		{"/.env", 200, "DB_PASSWORD="},
		{"/uploads/", 200, "<title>Index of /uploads</title>"},
		{"/quantri/", 200, `type="password"`},
		{"/backup.zip", 200, "PK\x03\x04"},
		{"/icons/.%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 200, "root:x:0:0:"},
		{"/icons/../../../../etc/passwd", 400, "Bad Request"},
		{"/no-such-page", 404, "Not Found"},
	} {
		res, body := get(t, a, h.Hostname, c.path)
		if res.StatusCode != c.status || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d %q", c.path, res.StatusCode, body)
		}
		if s := res.Header.Get("Server"); s != "Apache/2.4.49 (Unix)" {
			t.Errorf("GET %s: Server %q", c.path, s)
		}
	}
}

func TestGamblingPortalAndElasticsearch(t *testing.T) {
	l := startLab(t)
	h := hostByName(t, l, "www.hcm-demo.gov.vn")
	_, body := get(t, addrOf(h, "http"), h.Hostname, "/")
	if !strings.Contains(body, "Nhà cái uy tín") || !strings.Contains(body, "left:-9999px") {
		t.Errorf("portal: %q", body)
	}
	es := hostByName(t, l, "search.hcm-demo.gov.vn")
	res, body := get(t, addrOf(es, "elasticsearch"), es.Hostname, "/")
	if res.StatusCode != 200 || !strings.Contains(body, `"cluster_name": "hcm-demo-dat-dai"`) || !strings.Contains(body, "You Know, for Search") {
		t.Errorf("elasticsearch: %d %q", res.StatusCode, body)
	}
}

func handshake(t *testing.T, addr string, cfg *tls.Config) (*tls.ConnectionState, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	st := c.ConnectionState()
	return &st, nil
}

func TestTLSHosts(t *testing.T) {
	l := startLab(t)
	insecure := func(min, max uint16) *tls.Config {
		return &tls.Config{InsecureSkipVerify: true, MinVersion: min, MaxVersion: max}
	}
	expired := hostByName(t, l, "dichvucong.hn-demo.gov.vn")
	st, err := handshake(t, addrOf(expired, "https"), insecure(tls.VersionTLS12, tls.VersionTLS13))
	if err != nil || !st.PeerCertificates[0].NotAfter.Before(time.Now()) {
		t.Errorf("expired: %v %v", st, err)
	}
	self := hostByName(t, l, "tuyensinh.hn-demo.gov.vn")
	st, err = handshake(t, addrOf(self, "https"), insecure(tls.VersionTLS12, tls.VersionTLS13))
	if err != nil || len(st.PeerCertificates) != 1 {
		t.Fatalf("self-signed: %v", err)
	}
	if c := st.PeerCertificates[0]; !bytes.Equal(c.RawIssuer, c.RawSubject) || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		t.Errorf("not self-signed: issuer %s", c.Issuer)
	}
	legacy := hostByName(t, l, "yte.hcm-demo.gov.vn")
	if st, err = handshake(t, addrOf(legacy, "https"), insecure(tls.VersionTLS10, tls.VersionTLS10)); err != nil || st.Version != tls.VersionTLS10 {
		t.Errorf("legacy host refuses TLS 1.0: %v", err)
	}
	hard := hostByName(t, l, "www.btttt-demo.gov.vn")
	if _, err := handshake(t, addrOf(hard, "https"), &tls.Config{RootCAs: l.CAPool(), ServerName: hard.Hostname}); err != nil {
		t.Errorf("hardened host does not verify with the lab CA: %v", err)
	}
	if _, err := handshake(t, addrOf(hard, "https"), insecure(tls.VersionTLS10, tls.VersionTLS11)); err == nil {
		t.Error("hardened host accepts TLS 1.0/1.1")
	}
	mis := hostByName(t, l, "cds.btttt-demo.gov.vn")
	_, err = handshake(t, addrOf(mis, "https"), &tls.Config{RootCAs: l.CAPool(), ServerName: mis.Hostname})
	var he x509.HostnameError
	if !errors.As(err, &he) {
		t.Errorf("mismatch host: err = %v, want a hostname error", err)
	}
	res, _ := get(t, addrOf(hard, "http"), hard.Hostname, "/thu-tuc?a=1")
	if res.StatusCode != 301 || res.Header.Get("Location") != "https://www.btttt-demo.gov.vn/thu-tuc?a=1" {
		t.Errorf("hardened port 80: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if pool := x509.NewCertPool(); !pool.AppendCertsFromPEM(l.CAPEM()) {
		t.Error("CAPEM holds no certificate")
	}
}

func query(name string, qtype uint16) *mdns.Msg {
	q := new(mdns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(1232, true)
	return q
}

func TestDNS(t *testing.T) {
	l := startLab(t)
	ask := func(name string, qtype uint16, tcp bool) *mdns.Msg {
		t.Helper()
		c := &mdns.Client{Timeout: 2 * time.Second}
		if tcp {
			c.Net = "tcp"
		}
		m, _, err := c.Exchange(query(name, qtype), l.DNSAddr())
		if err != nil {
			t.Fatalf("%s %s: %v", name, mdns.TypeToString[qtype], err)
		}
		return m
	}
	txt := func(m *mdns.Msg) string {
		var out []string
		for _, rr := range m.Answer {
			if v, ok := rr.(*mdns.TXT); ok {
				out = append(out, strings.Join(v.Txt, ""))
			}
		}
		return strings.Join(out, "|")
	}
	if m := ask("hn-demo.gov.vn.", mdns.TypeTXT, false); txt(m) != "v=spf1 +all" || !m.Authoritative {
		t.Errorf("SPF hn-demo: %v", m)
	}
	if m := ask("_dmarc.hcm-demo.gov.vn.", mdns.TypeTXT, false); m.Rcode != mdns.RcodeNameError {
		t.Errorf("DMARC hcm-demo: %v", m)
	}
	if m := ask("_dmarc.btttt-demo.gov.vn.", mdns.TypeTXT, false); !strings.HasPrefix(txt(m), "v=DMARC1; p=reject") {
		t.Errorf("DMARC btttt-demo: %v", m)
	}
	if m := ask("btttt-demo.gov.vn.", mdns.TypeSOA, false); len(m.Answer) != 2 || m.Answer[1].Header().Rrtype != mdns.TypeRRSIG {
		t.Errorf("signed SOA: %v", m)
	}
	if m := ask("khuyenmai.hcm-demo.gov.vn.", mdns.TypeA, false); m.Rcode != mdns.RcodeNameError || len(m.Answer) != 1 {
		t.Errorf("dangling CNAME: %v", m)
	}
	if m := ask("a.root-servers.net.", mdns.TypeA, false); m.Rcode != mdns.RcodeRefused || m.RecursionAvailable {
		t.Errorf("recursion: %v", m)
	}
	if m := ask("hcm-demo.gov.vn.", mdns.TypeAXFR, true); len(m.Answer) < 5 || m.Answer[0].Header().Rrtype != mdns.TypeSOA {
		t.Errorf("AXFR hcm-demo: %v", m)
	}
	if m := ask("hn-demo.gov.vn.", mdns.TypeAXFR, true); m.Rcode != mdns.RcodeRefused {
		t.Errorf("AXFR hn-demo: %v", m)
	}
	// The platform's resolver finds the hosts through the lab server.
	res := target.NewResolver(l.DNSAddr())
	for _, h := range l.Hosts() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		addrs, err := res.LookupNetIP(ctx, "ip4", h.Hostname)
		cancel()
		if err != nil || len(addrs) != 1 || addrs[0] != h.Addr {
			t.Errorf("resolve %s = %v %v, want %s", h.Hostname, addrs, err, h.Addr)
		}
	}
}

func TestConstituency(t *testing.T) {
	l := startLab(t)
	oj, aj := l.Constituency()
	oc, ac := l.ConstituencyCSV()
	orgRows, err := transfer.ReadOrgs(bytes.NewReader(oj), transfer.JSON)
	if err != nil {
		t.Fatal("orgs JSON:", err)
	}
	if csvRows, err := transfer.ReadOrgs(bytes.NewReader(oc), transfer.CSV); err != nil || len(csvRows) != len(orgRows) {
		t.Fatalf("orgs CSV: %d rows, %v", len(csvRows), err)
	}
	ids := map[string]int64{}
	kinds := map[org.Kind]int{}
	for i, r := range orgRows {
		o := r.Org
		o.Normalize()
		if err := o.Validate(); err != nil {
			t.Errorf("line %d: %v", r.Line, err)
		}
		if r.ParentCode != "" && ids[r.ParentCode] == 0 {
			t.Errorf("%s: parent %s comes later or is missing", o.Code, r.ParentCode)
		}
		ids[o.Code] = int64(i + 1)
		kinds[o.Kind]++
		if len(r.Contacts) == 0 {
			t.Errorf("%s has no contact", o.Code)
		}
		for _, c := range r.Contacts {
			c.Normalize()
			if err := c.Validate(); err != nil {
				t.Errorf("%s: %v", o.Code, err)
			}
		}
	}
	if kinds[org.KindNational] != 1 || kinds[org.KindMinistry] < 1 || kinds[org.KindProvince] != 2 || kinds[org.KindAgency] < 3 || kinds[org.KindEnterprise] < 1 {
		t.Errorf("kinds %v", kinds)
	}
	assetRows, err := transfer.ReadAssets(bytes.NewReader(aj), transfer.JSON, "")
	if err != nil {
		t.Fatal("assets JSON:", err)
	}
	if csvRows, err := transfer.ReadAssets(bytes.NewReader(ac), transfer.CSV, ""); err != nil || len(csvRows) != len(assetRows) {
		t.Fatalf("assets CSV: %d rows, %v", len(csvRows), err)
	}
	b := asset.NewBuilder()
	for _, r := range assetRows {
		a := r.Asset
		a.OrgID = ids[r.OrgCode]
		if err := a.Prepare(); err != nil {
			t.Errorf("line %d: %v", r.Line, err)
			continue
		}
		if ids[r.OrgCode] == 0 {
			t.Errorf("line %d: unknown org %s", r.Line, r.OrgCode)
		}
		if err := b.Add(asset.Entry{AssetID: int64(r.Line), OrgID: ids[r.OrgCode], Kind: a.Kind, Value: a.Value}); err != nil {
			t.Errorf("line %d: %v", r.Line, err)
		}
	}
	ix := b.Build()
	for _, h := range l.Hosts() {
		for _, target := range []string{h.Addr.String(), h.Hostname} {
			m, err := ix.Lookup(target)
			if err != nil {
				t.Errorf("%s not covered: %v", target, err)
			} else if m.OrgID != ids[h.OrgCode] {
				t.Errorf("%s covered by org %d, want %s", target, m.OrgID, h.OrgCode)
			}
		}
	}
	for _, d := range l.Domains() {
		if m, err := ix.Lookup(d.Name); err != nil || m.OrgID != ids[d.OrgCode] {
			t.Errorf("domain %s: %+v %v", d.Name, m, err)
		}
	}
}

func TestPortFallback(t *testing.T) {
	// Someone else holds the portal's port 80: the lab moves to 8080 and
	// says so, in HostInfo and in the URL asset.
	busy, err := net.Listen("tcp4", "127.77.201.10:80")
	if err != nil {
		t.Skip("cannot hold port 80:", err)
	}
	defer busy.Close()
	l, err := Start(context.Background(), Options{Base: netip.MustParseAddr("127.77.200.0")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h := hostByName(t, l, "congthongtin.hn-demo.gov.vn")
	s := h.Services[0]
	if s.Port != 8080 || s.Wanted != 80 || !s.Fallback() {
		t.Errorf("service %+v", s)
	}
	if res, body := get(t, addrOf(h, "http"), h.Hostname, "/.git/HEAD"); res.StatusCode != 200 || body != gitHEAD {
		t.Errorf("fallback port: %d %q", res.StatusCode, body)
	}
	_, assets := l.Constituency()
	if !bytes.Contains(assets, []byte(`"http://congthongtin.hn-demo.gov.vn:8080/"`)) {
		t.Errorf("no URL asset with the fallback port:\n%s", assets)
	}
}
