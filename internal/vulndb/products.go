package vulndb

import (
	"slices"
	"strings"
	"sync"
)

// ProductAliases returns the NVD "vendor:product" pairs a fingerprinter's
// product name stands for (nil when the name is not in the table).
func ProductAliases(name string) []string {
	return slices.Clone(productAliases()[strings.ToLower(strings.TrimSpace(name))])
}

// productAliases maps product names as fingerprinters print them (nmap
// service probes, banners; lower case) to the NVD "vendor:product" pairs
// they stand for. It covers the internet-facing software Rampart meets
// most; a name missing here is still tried as a CPE product name through
// the product index.
var productAliases = sync.OnceValue(func() map[string][]string {
	return map[string][]string{
		"apache httpd":             {"apache:http_server"},
		"apache http server":       {"apache:http_server"},
		"apache":                   {"apache:http_server"},
		"httpd":                    {"apache:http_server"},
		"nginx":                    {"f5:nginx", "nginx:nginx"},
		"openssh":                  {"openbsd:openssh"},
		"vsftpd":                   {"vsftpd_project:vsftpd", "beasts:vsftpd"},
		"proftpd":                  {"proftpd:proftpd"},
		"pure-ftpd":                {"pureftpd:pure-ftpd"},
		"microsoft iis httpd":      {"microsoft:internet_information_services"},
		"microsoft-iis":            {"microsoft:internet_information_services"},
		"iis":                      {"microsoft:internet_information_services"},
		"openssl":                  {"openssl:openssl"},
		"php":                      {"php:php"},
		"redis":                    {"redis:redis"},
		"redis key-value store":    {"redis:redis"},
		"elasticsearch":            {"elastic:elasticsearch"},
		"elasticsearch rest api":   {"elastic:elasticsearch"},
		"apache tomcat":            {"apache:tomcat"},
		"tomcat":                   {"apache:tomcat"},
		"apache activemq":          {"apache:activemq"},
		"activemq":                 {"apache:activemq"},
		"exim":                     {"exim:exim"},
		"exim smtpd":               {"exim:exim"},
		"postfix":                  {"postfix:postfix"},
		"postfix smtpd":            {"postfix:postfix"},
		"dovecot":                  {"dovecot:dovecot"},
		"lighttpd":                 {"lighttpd:lighttpd"},
		"mysql":                    {"oracle:mysql", "mysql:mysql"},
		"mariadb":                  {"mariadb:mariadb"},
		"postgresql":               {"postgresql:postgresql"},
		"isc bind":                 {"isc:bind"},
		"bind":                     {"isc:bind"},
		"dropbear sshd":            {"dropbear_ssh_project:dropbear_ssh"},
		"samba smbd":               {"samba:samba"},
		"samba":                    {"samba:samba"},
		"mongodb":                  {"mongodb:mongodb"},
		"memcached":                {"memcached:memcached"},
		"squid http proxy":         {"squid-cache:squid"},
		"squid":                    {"squid-cache:squid"},
		"haproxy":                  {"haproxy:haproxy"},
		"jetty":                    {"eclipse:jetty"},
		"oracle weblogic server":   {"oracle:weblogic_server"},
		"weblogic":                 {"oracle:weblogic_server"},
		"confluence":               {"atlassian:confluence_server", "atlassian:confluence_data_center"},
		"atlassian confluence":     {"atlassian:confluence_server", "atlassian:confluence_data_center"},
		"gitlab":                   {"gitlab:gitlab"},
		"microsoft exchange":       {"microsoft:exchange_server"},
		"microsoft exchange smtpd": {"microsoft:exchange_server"},
		"drupal":                   {"drupal:drupal"},
		"apache struts":            {"apache:struts"},
		"log4j":                    {"apache:log4j"},
		"fortios":                  {"fortinet:fortios"},
	}
})
