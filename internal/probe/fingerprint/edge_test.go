package fingerprint

import (
	"strings"
	"testing"
)

// TestEdgeAppliances: each edge appliance is recognised from what its web
// front end answers to "/", with the CPE the vulnerability data uses; the
// hardened fixtures (pages that only mention the same paths, look-alike
// cookies and headers) are not.
func TestEdgeAppliances(t *testing.T) {
	t.Parallel()
	redirect := func(loc string, more ...string) map[string]httpReply {
		return map[string]httpReply{"": {status: "302 Found", headers: append([]string{"Location: " + loc}, more...)}}
	}
	tests := []struct {
		name      string
		routes    map[string]httpReply
		product   string
		version   string
		cpe       string // prefix
		appliance string
	}{
		{"fortios redirect", redirect("/remote/login?lang=en"),
			"Fortinet FortiOS SSL-VPN", "", "cpe:2.3:o:fortinet:fortios:", "fortios"},
		{"fortios script", map[string]httpReply{"": {headers: []string{"Content-Type: text/html"},
			body: `<html><script type="text/javascript">top.location="/remote/login?lang=en";</script></html>`}},
			"Fortinet FortiOS SSL-VPN", "", "cpe:2.3:o:fortinet:fortios:", "fortios"},
		{"fortiweb", map[string]httpReply{"": {headers: []string{"Server: FortiWeb-7.0.2"}, body: "x"}},
			"Fortinet FortiWeb", "7.0.2", "cpe:2.3:a:fortinet:fortiweb:7.0.2", "fortiweb"},
		{"ivanti", redirect("https://vpn.example.gov.vn/dana-na/auth/url_default/welcome.cgi"),
			"Ivanti Connect Secure", "", "cpe:2.3:a:ivanti:connect_secure:", "ivanti-connect-secure"},
		{"ivanti cookie", map[string]httpReply{"": {headers: []string{"Set-Cookie: DSSignInURL=/; path=/; secure"}, body: "x"}},
			"Ivanti Connect Secure", "", "cpe:2.3:a:ivanti:connect_secure:", "ivanti-connect-secure"},
		{"netscaler gateway", redirect("/logon/LogonPoint/index.html"),
			"Citrix NetScaler Gateway", "", "cpe:2.3:o:citrix:netscaler_gateway_firmware:", "netscaler"},
		{"netscaler cookie", map[string]httpReply{"": {headers: []string{"Set-Cookie: NSC_TEMP=xyz; Path=/; expires=Wednesday, 09-Nov-1999 23:12:40 GMT"}, body: "x"}},
			"Citrix NetScaler ADC", "", "cpe:2.3:o:citrix:netscaler_application_delivery_controller_firmware:", "netscaler"},
		{"globalprotect", redirect("/global-protect/login.esp"),
			"Palo Alto Networks GlobalProtect", "", "cpe:2.3:o:paloaltonetworks:pan-os:", "globalprotect"},
		{"globalprotect page", map[string]httpReply{"": {body: `<link rel="stylesheet" href="/global-protect/portal/css/login.css">`}},
			"Palo Alto Networks GlobalProtect", "", "cpe:2.3:o:paloaltonetworks:pan-os:", "globalprotect"},
		{"cisco asa", redirect("/+CSCOE+/logon.html", "Set-Cookie: webvpn=; path=/; secure"),
			"Cisco ASA WebVPN", "", "cpe:2.3:o:cisco:adaptive_security_appliance_software:", "cisco-asa"},
		{"cisco asa cookie", map[string]httpReply{"": {headers: []string{"Set-Cookie: webvpncontext=00@ssl; path=/", "X-Transcend-Version: 1"}, body: "x"}},
			"Cisco ASA WebVPN", "", "cpe:2.3:o:cisco:adaptive_security_appliance_software:", "cisco-asa"},
		{"bigip tmui", redirect("/tmui/login.jsp"),
			"F5 BIG-IP configuration utility", "", "cpe:2.3:a:f5:big-ip_local_traffic_manager:", "bigip"},
		{"bigip server", map[string]httpReply{"": {headers: []string{"Server: BigIP"}, body: "x"}},
			"F5 BIG-IP", "", "cpe:2.3:a:f5:big-ip_local_traffic_manager:", "bigip"},
		{"bigip persistence cookie", map[string]httpReply{"": {headers: []string{"Server: Apache", "Set-Cookie: BIGipServerpool_web=1677787402.20480.0000; path=/"}, body: "x"}},
			"F5 BIG-IP", "", "cpe:2.3:a:f5:big-ip_local_traffic_manager:", "bigip"},
		{"exchange build", map[string]httpReply{"": {status: "302 Found", headers: []string{"Server: Microsoft-IIS/10.0",
			"Location: /owa/auth/logon.aspx?url=https%3a%2f%2fmail%2fowa%2f", "X-OWA-Version: 15.2.1118.7", "X-FEServer: MAIL01"}}},
			"Microsoft Exchange Server", "15.2.1118.7", "cpe:2.3:a:microsoft:exchange_server:", "exchange"},
		{"exchange redirect", redirect("/owa/", "Server: Microsoft-IIS/10.0", "X-FEServer: MAIL01"),
			"Microsoft Exchange Server", "", "cpe:2.3:a:microsoft:exchange_server:", "exchange"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serve(t, httpServer(tt.routes))
			svc := identify(t, addr, 443, "", testOptions(addr))
			if svc.Product != tt.product || svc.Version != tt.version || !strings.HasPrefix(svc.CPE, tt.cpe) || svc.Extra["edge.appliance"] != tt.appliance {
				t.Errorf("got product=%q version=%q cpe=%q extra=%v; want %q %q %q… %s (rules %v)",
					svc.Product, svc.Version, svc.CPE, svc.Extra, tt.product, tt.version, tt.cpe, tt.appliance, svc.Rules)
			}
		})
	}
	hardened := []struct {
		name   string
		routes map[string]httpReply
	}{
		{"a blog post quoting the FortiOS path", map[string]httpReply{"": {headers: []string{"Server: nginx/1.24.0"},
			body: `<p>Attackers requested /remote/login and /dana-na/auth/url_default/welcome.cgi; see /global-protect/login.esp</p>`}}},
		{"a redirect to a look-alike path", redirect("/remote/logins-archive/2024")},
		{"an application cookie named like a gateway's", map[string]httpReply{"": {headers: []string{"Server: nginx", "Set-Cookie: mywebvpn=1; path=/", "Set-Cookie: NSC=1"}, body: "x"}}},
		{"an OWA-like redirect from a plain IIS", redirect("/owa/", "Server: Microsoft-IIS/10.0")},
		{"a made-up OWA version", map[string]httpReply{"": {headers: []string{"Server: Microsoft-IIS/10.0", "X-OWA-Version: latest"}, body: "x"}}},
		{"a Big-IP word in a title", map[string]httpReply{"": {headers: []string{"Server: nginx"}, body: "<title>BIG-IP migration notes</title>"}}},
	}
	for _, tt := range hardened {
		t.Run("hardened "+tt.name, func(t *testing.T) {
			t.Parallel()
			addr := serve(t, httpServer(tt.routes))
			svc := identify(t, addr, 443, "", testOptions(addr))
			if svc.Extra["edge.appliance"] != "" || strings.Contains(svc.CPE, "fortinet") || strings.Contains(svc.CPE, "exchange") {
				t.Errorf("identified as %q (%s, rules %v)", svc.Product, svc.CPE, svc.Rules)
			}
		})
	}
}
