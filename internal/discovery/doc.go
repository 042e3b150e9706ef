// Package discovery finds the constituency's internet assets that nobody
// registered: host names in Certificate Transparency logs (package ct),
// names from DNS (zone transfers, a wordlist, NSEC walks and reverse DNS,
// package dnsdisc), names in certificates the platform's scans saw or that
// a host presents, links from owned websites, and the prefixes owned AS
// numbers announce in offline routing data (package routing).
package discovery
