package lab

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// Host offsets from the base address, "x.y" written x<<8 | y: with the
// default base, offHardened is 127.77.5.10.
const (
	offDNS        = 0<<8 | 53
	offPortalHN   = 1<<8 | 10
	offPortalHCM  = 1<<8 | 20
	offExpired    = 2<<8 | 10
	offSelfSigned = 2<<8 | 20
	offLegacy     = 2<<8 | 30
	offMismatch   = 2<<8 | 40
	offCache      = 3<<8 | 10
	offSearch     = 3<<8 | 20
	offFTP        = 3<<8 | 30
	offMail       = 4<<8 | 25
	offHardened   = 5<<8 | 10
	offCT         = 0<<8 | 80 // the lab's Certificate Transparency log

	// Addresses of names only discovery finds; nothing listens there.
	offHoso  = 1<<8 | 30
	offVPN   = 3<<8 | 40
	offNoibo = 5<<8 | 20

	maxOffset = offNoibo
)

// strongSuites are modern TLS 1.2 suites (TLS 1.3 suites are fixed).
var strongSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}

// legacySuites add the CBC suites TLS 1.0 and 1.1 need.
var legacySuites = append([]uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
}, strongSuites...)

func tlsConfig(cert tls.Certificate, legacy bool) *tls.Config {
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, CipherSuites: strongSuites}
	if legacy {
		c.MinVersion, c.CipherSuites = tls.VersionTLS10, legacySuites
	}
	return c
}

// startHTTP serves h on ip:want (over TLS when tc is set).
func (l *Lab) startHTTP(ip netip.Addr, name string, want uint16, h http.Handler, tc *tls.Config) (Service, error) {
	ln, port, err := l.listen(ip, want)
	if err != nil {
		return Service{}, err
	}
	ln = limit(ln)
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
	}
	l.addCloser(srv.Close)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		_ = srv.Serve(ln)
	}()
	return Service{Name: name, Port: port, Wanted: want, Proto: "tcp"}, nil
}

// startTCP serves a line protocol on ip:want.
func (l *Lab) startTCP(ip netip.Addr, name string, want uint16, h func(net.Conn)) (Service, error) {
	ln, port, err := l.listen(ip, want)
	if err != nil {
		return Service{}, err
	}
	l.serveTCP(ln, name, h)
	return Service{Name: name, Port: port, Wanted: want, Proto: "tcp"}, nil
}

// startHosts brings up every host but the DNS server.
func (l *Lab) startHosts(context.Context) error {
	now := l.now()
	type svc struct {
		name string
		port uint16
		http http.Handler
		tls  *tls.Config
		tcp  func(net.Conn)
	}
	type host struct {
		HostInfo
		off  uint16
		svcs []svc
	}
	issue := func(lf leaf) (tls.Certificate, error) {
		if lf.notBefore.IsZero() {
			lf.notBefore = now.Add(-30 * 24 * time.Hour)
		}
		if lf.notAfter.IsZero() {
			lf.notAfter = now.Add(365 * 24 * time.Hour)
		}
		return l.ca.issue(lf)
	}
	ipOf := func(off uint16) string { return l.addr(off).String() }

	expired, err := issue(leaf{names: []string{"dichvucong.hn-demo.gov.vn", ipOf(offExpired)},
		notBefore: now.Add(-2 * 365 * 24 * time.Hour), notAfter: now.Add(-30 * 24 * time.Hour)})
	if err != nil {
		return err
	}
	selfSigned, err := issue(leaf{names: []string{"tuyensinh.hn-demo.gov.vn", ipOf(offSelfSigned)}, selfSigned: true})
	if err != nil {
		return err
	}
	legacy, err := issue(leaf{names: []string{"yte.hcm-demo.gov.vn", ipOf(offLegacy)}})
	if err != nil {
		return err
	}
	// The certificate of a name the agency used before: it covers neither
	// the current name nor the address.
	mismatch, err := issue(leaf{names: []string{"cds-cu.btttt-demo.gov.vn"}})
	if err != nil {
		return err
	}
	hardened, err := issue(leaf{names: []string{"www.btttt-demo.gov.vn", "btttt-demo.gov.vn", ipOf(offHardened)},
		notAfter: now.Add(180 * 24 * time.Hour)})
	if err != nil {
		return err
	}

	hosts := []host{
		{off: offPortalHN, HostInfo: HostInfo{Hostname: "congthongtin.hn-demo.gov.vn", OrgCode: "HN-DEMO",
			Role: Text{VI: "Cổng thông tin điện tử Thành phố Hà Nội", EN: "Ha Noi City web portal"},
			Weakness: Text{VI: "Apache 2.4.49 (CVE-2021-41773) qua HTTP không chuyển hướng, thiếu tiêu đề bảo mật, lộ .git, .env, bản sao lưu, liệt kê thư mục /uploads/, trang quản trị /quantri/",
				EN: "Apache 2.4.49 (CVE-2021-41773) over HTTP without redirect, missing security headers, exposed .git, .env and backup, directory listing at /uploads/, admin login at /quantri/"},
			Checks: []string{"http.directory-listing", "http.exposed-admin-panel", "http.exposed-backup", "http.exposed-env",
				"http.exposed-git", "http.missing-security-headers", "http.no-https-redirect", "http.version-disclosure",
				"template.cve-2021-41773"},
			ChecksWithVulnDB: []string{"vuln.known-cve"}},
			svcs: []svc{{name: "http", port: 80, http: weakPortal()}}},
		{off: offPortalHCM, HostInfo: HostInfo{Hostname: "www.hcm-demo.gov.vn", OrgCode: "HCM-DEMO",
			Role: Text{VI: "Cổng thông tin điện tử TP. Hồ Chí Minh", EN: "Ho Chi Minh City web portal"},
			Weakness: Text{VI: "Bị chèn liên kết cờ bạc ẩn; HTTP không chuyển hướng, thiếu tiêu đề bảo mật",
				EN: "Hidden gambling links injected; HTTP without redirect, missing security headers"},
			Checks: []string{"http.missing-security-headers", "http.no-https-redirect", "web.gambling-injection"}},
			svcs: []svc{{name: "http", port: 80, http: gamblingPortal()}}},
		{off: offExpired, HostInfo: HostInfo{Hostname: "dichvucong.hn-demo.gov.vn", OrgCode: "HN-DEMO-STTTT",
			Role:     Text{VI: "Cổng dịch vụ công của Sở TT&TT Hà Nội", EN: "Public service portal of the Ha Noi DIC"},
			Weakness: Text{VI: "Chứng thư số đã hết hạn 30 ngày", EN: "Certificate expired 30 days ago"},
			Checks:   []string{"tls.cert-expired"}},
			svcs: []svc{{name: "https", port: 443, http: goodSite("Cổng dịch vụ công (demo)"), tls: tlsConfig(expired, false)}}},
		{off: offSelfSigned, HostInfo: HostInfo{Hostname: "tuyensinh.hn-demo.gov.vn", OrgCode: "HN-DEMO-SGD",
			Role:     Text{VI: "Cổng tuyển sinh của Sở GD&ĐT Hà Nội", EN: "Admissions portal of the Ha Noi DOET"},
			Weakness: Text{VI: "Chứng thư số tự ký", EN: "Self-signed certificate"},
			Checks:   []string{"tls.cert-self-signed"}},
			svcs: []svc{{name: "https", port: 443, http: goodSite("Tuyển sinh đầu cấp (demo)"), tls: tlsConfig(selfSigned, false)}}},
		{off: offLegacy, HostInfo: HostInfo{Hostname: "yte.hcm-demo.gov.vn", OrgCode: "HCM-DEMO-SYT",
			Role:     Text{VI: "Cổng thông tin Sở Y tế TP. Hồ Chí Minh", EN: "Ho Chi Minh City Department of Health portal"},
			Weakness: Text{VI: "Chấp nhận TLS 1.0 và TLS 1.1", EN: "Accepts TLS 1.0 and TLS 1.1"},
			Checks:   []string{"tls.legacy-protocol"}},
			svcs: []svc{{name: "https", port: 443, http: goodSite("Sở Y tế (demo)"), tls: tlsConfig(legacy, true)}}},
		{off: offMismatch, HostInfo: HostInfo{Hostname: "cds.btttt-demo.gov.vn", OrgCode: "BTTTT-DEMO-CDS",
			Role: Text{VI: "Cổng thông tin Cục Chuyển đổi số quốc gia", EN: "National Digital Transformation Agency portal"},
			Weakness: Text{VI: "Chứng thư số cấp cho tên khác (cds-cu.btttt-demo.gov.vn); chỉ thấy khi quét theo tên",
				EN: "Certificate issued for another name (cds-cu.btttt-demo.gov.vn); seen when scanned by name"},
			Checks: []string{"tls.hostname-mismatch"}},
			svcs: []svc{{name: "https", port: 443, http: goodSite("Chuyển đổi số (demo)"), tls: tlsConfig(mismatch, false)}}},
		{off: offCache, HostInfo: HostInfo{Hostname: "cache.epay-demo.vn", OrgCode: "EPAY-DEMO",
			Role: Text{VI: "Máy chủ bộ nhớ đệm của doanh nghiệp thanh toán", EN: "Cache server of a payment company"},
			Weakness: Text{VI: "Redis 6.0 (hết hỗ trợ) không xác thực; memcached mở",
				EN: "Redis 6.0 (end of life) without authentication; open memcached"},
			Checks: []string{"svc.end-of-life", "svc.memcached-exposed", "svc.redis-unauthenticated"}},
			svcs: []svc{{name: "redis", port: 6379, tcp: redis}, {name: "memcached", port: 11211, tcp: memcached}}},
		{off: offSearch, HostInfo: HostInfo{Hostname: "search.hcm-demo.gov.vn", OrgCode: "HCM-DEMO-STNMT",
			Role: Text{VI: "Máy chủ tìm kiếm hồ sơ đất đai", EN: "Land records search server"},
			Weakness: Text{VI: "Elasticsearch 6.8 (hết hỗ trợ) mở, không xác thực",
				EN: "Elasticsearch 6.8 (end of life) open without authentication"},
			Checks: []string{"svc.elasticsearch-unauthenticated", "svc.end-of-life"}},
			svcs: []svc{{name: "elasticsearch", port: 9200, http: elasticsearch("hcm-demo-dat-dai")}}},
		{off: offFTP, HostInfo: HostInfo{Hostname: "ftp.hn-demo.gov.vn", OrgCode: "HN-DEMO-STTTT",
			Role: Text{VI: "Máy chủ trao đổi tệp", EN: "File exchange server"},
			Weakness: Text{VI: "vsftpd 2.3.4 cho đăng nhập ẩn danh; Telnet mở",
				EN: "vsftpd 2.3.4 with anonymous login; Telnet open"},
			Checks:           []string{"svc.end-of-life", "svc.ftp-anonymous", "svc.ftp-cleartext", "svc.telnet-exposed"},
			ChecksWithVulnDB: []string{"vuln.known-cve"}},
			svcs: []svc{{name: "ftp", port: 21, tcp: ftp}, {name: "telnet", port: 23, tcp: telnet("ftp.hn-demo.gov.vn")}}},
		{off: offMail, HostInfo: HostInfo{Hostname: "mail.hcm-demo.gov.vn", OrgCode: "HCM-DEMO",
			Role:     Text{VI: "Máy chủ thư điện tử", EN: "Mail server"},
			Weakness: Text{VI: "SMTP không hỗ trợ STARTTLS", EN: "SMTP without STARTTLS"},
			Checks:   []string{"mail.starttls-missing"}},
			svcs: []svc{{name: "smtp", port: 25, tcp: smtp("mail.hcm-demo.gov.vn")}}},
		{off: offHardened, HostInfo: HostInfo{Hostname: "www.btttt-demo.gov.vn", OrgCode: "BTTTT-DEMO",
			Role: Text{VI: "Cổng thông tin Bộ (máy chủ mẫu đã gia cố)", EN: "Ministry portal (the hardened example)"},
			Weakness: Text{VI: "Không có: HTTPS với chứng thư của CA phòng thí nghiệm, chuyển hướng HTTP, HSTS, tiêu đề bảo mật",
				EN: "None: HTTPS with a lab CA certificate, HTTP redirect, HSTS, security headers"},
			Checks: []string{}, Hardened: true},
			svcs: []svc{{name: "http", port: 80, http: redirectHTTPS("www.btttt-demo.gov.vn")},
				{name: "https", port: 443, http: goodSite("Bộ Thông tin và Truyền thông (demo)"), tls: tlsConfig(hardened, false)}}},
	}
	for _, h := range hosts {
		h.Addr = l.addr(h.off)
		for _, s := range h.svcs {
			var svc Service
			var err error
			if s.http != nil {
				svc, err = l.startHTTP(h.Addr, s.name, s.port, s.http, s.tls)
			} else {
				svc, err = l.startTCP(h.Addr, s.name, s.port, s.tcp)
			}
			if err != nil {
				return err
			}
			h.Services = append(h.Services, svc)
		}
		l.hosts = append(l.hosts, h.HostInfo)
	}
	l.domains = []DomainInfo{
		{Name: "btttt-demo.gov.vn", OrgCode: "BTTTT-DEMO", Hardened: true, Checks: []string{},
			Weakness: Text{VI: "Không có: SPF -all, DMARC p=reject, DNSSEC, không cho AXFR", EN: "None: SPF -all, DMARC p=reject, DNSSEC, AXFR refused"}},
		{Name: "hn-demo.gov.vn", OrgCode: "HN-DEMO", Checks: []string{"dns.dnssec-missing", "dns.spf-permissive"},
			Weakness: Text{VI: "SPF +all cho phép mọi máy gửi thư giả mạo; không ký DNSSEC", EN: "SPF +all lets anyone send as the domain; unsigned"}},
		{Name: "hcm-demo.gov.vn", OrgCode: "HCM-DEMO", Checks: []string{"dns.dmarc-missing", "dns.dnssec-missing", "dns.zone-transfer", "mail.dkim-missing", "mail.mta-sts-missing", "mail.tls-rpt-missing"},
			Weakness: Text{VI: "Không có DMARC; cho phép chuyển vùng (AXFR); không ký DNSSEC", EN: "No DMARC; zone transfer allowed; unsigned"}},
		{Name: "khuyenmai.hcm-demo.gov.vn", OrgCode: "HCM-DEMO", Checks: []string{"dns.dangling-cname", "dns.subdomain-takeover"},
			Weakness: Text{VI: "CNAME trỏ tới dịch vụ đám mây không còn tồn tại (nguy cơ chiếm tên miền con)", EN: "CNAME to a cloud name that no longer exists (subdomain takeover)"}},
		{Name: "epay-demo.vn", OrgCode: "EPAY-DEMO", Checks: []string{"dns.dnssec-missing"},
			Weakness: Text{VI: "Không ký DNSSEC", EN: "Unsigned"}},
	}
	return nil
}
