package all

import (
	"strings"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

// The catalog of the issue: every ID must ship, with both languages.
var shipped = strings.Fields(`
tls.cert-expired tls.cert-expiring tls.cert-self-signed tls.cert-untrusted tls.hostname-mismatch tls.legacy-protocol tls.weak-cipher tls.weak-key
http.no-https-redirect http.missing-hsts http.missing-security-headers http.exposed-git http.exposed-env http.exposed-backup http.directory-listing http.exposed-admin-panel http.version-disclosure
web.gambling-injection web.defacement
svc.redis-unauthenticated svc.elasticsearch-unauthenticated svc.mongodb-unauthenticated svc.memcached-exposed svc.database-exposed svc.ftp-anonymous svc.telnet-exposed svc.rdp-exposed svc.smb-exposed svc.vnc-exposed svc.docker-api-exposed svc.end-of-life svc.mqtt-anonymous svc.rsync-open-modules svc.ajp-exposed svc.smb-null-session svc.smb-signing-not-required svc.smbv1-enabled svc.ssh-weak-algorithms svc.ssh-weak-host-key svc.ssh-password-auth svc.dh-weak-group svc.ftp-cleartext svc.http-basic-cleartext svc.smtp-open-relay svc.smtp-user-enumeration svc.dns-version-disclosure
vuln.known-cve vuln.cms-known-cve
dns.spf-missing dns.spf-permissive dns.dmarc-missing dns.dmarc-policy-none dns.zone-transfer dns.dangling-cname dns.dnssec-missing dns.open-resolver mail.starttls-missing
mail.dkim-missing mail.dkim-weak-key mail.mta-sts-missing mail.mta-sts-invalid mail.tls-rpt-missing dns.subdomain-takeover
svc.snmp-default-community svc.ntp-amplifier svc.ssdp-exposed svc.memcached-udp svc.ipmi-exposed svc.tftp-exposed
http.apache-server-status http.apache-server-info http.phpinfo-exposed http.trace-enabled http.admin-console-exposed http.cors-reflects-origin http.js-library-vulnerable`)

func TestCatalogShips(t *testing.T) {
	r, errs := Registry("../template/builtin")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, id := range shipped {
		c, ok := r.Get(id)
		if !ok {
			t.Errorf("check %s is missing", id)
			continue
		}
		m := c.Meta()
		if m.Title.VI == "" || m.Title.EN == "" || m.Remediation.VI == "" || m.Description.EN == "" || !m.Severity.Valid() {
			t.Errorf("%s: incomplete metadata %+v", id, m)
		}
	}
	if _, ok := r.Get("template.cve-2021-41773"); !ok {
		t.Error("shipped template not registered")
	}
	fams := map[string]bool{}
	for _, c := range r.All() {
		fams[c.Meta().Family] = true
	}
	for _, f := range Families {
		if !fams[f] {
			t.Errorf("family %s has no checks", f)
		}
	}
	if n := len(r.Select([]string{"tls"})); n != 8 {
		t.Errorf("tls family has %d checks", n)
	}
	_ = finding.Critical
}
