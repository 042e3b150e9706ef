package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// Unregistered is a name the lab DNS serves that no organization of the
// constituency registered: what discovery should find, through which
// source alone, and propose to the owner of the domain it is under.
type Unregistered struct {
	Name     string `json:"name"`
	OrgCode  string `json:"org_code"` // the owner of the covering domain
	Source   string `json:"source"`   // ct, axfr, wordlist or nsec: the one source that finds it
	Weakness Text   `json:"weakness"`
	// Checks fire when the name, once confirmed and registered as a
	// hostname, is scanned.
	Checks []string `json:"checks"`
}

// Unregistered lists the names only discovery finds.
func (l *Lab) Unregistered() []Unregistered {
	return []Unregistered{
		{Name: "hoso-truc-tuyen.hn-demo.gov.vn", OrgCode: "HN-DEMO", Source: "ct", Checks: []string{},
			Weakness: Text{VI: "Chỉ xuất hiện trong nhật ký minh bạch chứng thư số (CT)", EN: "Appears only in the Certificate Transparency log"}},
		{Name: "sukien2023.hcm-demo.gov.vn", OrgCode: "HCM-DEMO", Source: "axfr", Checks: []string{"dns.dangling-cname"},
			Weakness: Text{VI: "Chỉ thấy qua chuyển vùng (AXFR); CNAME trỏ tới dịch vụ đám mây không còn tồn tại", EN: "Seen only through the zone transfer; CNAME to a cloud name that no longer exists"}},
		{Name: "www.hn-demo.gov.vn", OrgCode: "HN-DEMO", Source: "wordlist", Checks: []string{},
			Weakness: Text{VI: "Nhãn phổ biến (www), chưa đăng ký", EN: "A common label (www), not registered"}},
		{Name: "vpn.epay-demo.vn", OrgCode: "EPAY-DEMO", Source: "wordlist", Checks: []string{},
			Weakness: Text{VI: "Cổng VPN chưa đăng ký, chỉ tìm thấy qua danh sách nhãn phổ biến", EN: "An unregistered VPN gateway, found only through the wordlist"}},
		{Name: "noibo.btttt-demo.gov.vn", OrgCode: "BTTTT-DEMO", Source: "nsec", Checks: []string{},
			Weakness: Text{VI: "Chỉ thấy khi duyệt chuỗi NSEC của vùng đã ký DNSSEC", EN: "Seen only by walking the signed zone's NSEC chain"}},
	}
}

// Dial connects to lab addresses only, as the lab's scanners should: port
// 53 of the DNS host goes to the lab DNS server when the lab could not
// bind port 53 itself (no privileges), so zone transfers reach it.
func (l *Lab) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !Network.Contains(ap.Addr()) {
		return nil, fmt.Errorf("lab: refusing to dial %s outside the lab", addr)
	}
	if ap.Addr() == l.addr(offDNS) && ap.Port() == 53 && !l.has53() {
		addr = l.dnsAddr
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (l *Lab) has53() bool {
	for _, h := range l.hosts {
		if h.Addr == l.addr(offDNS) {
			for _, s := range h.Services {
				if s.Port == 53 {
					return true
				}
			}
		}
	}
	return false
}
