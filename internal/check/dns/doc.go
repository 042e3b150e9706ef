// Package dns holds the DNS security checks of Rampart: SPF (RFC 7208),
// DMARC (RFC 7489), zone transfer (RFC 5936), dangling CNAMEs, DNSSEC
// presence (RFC 4033-4035) and open resolvers.
//
// The domain checks apply to check.TargetDomain targets (t.Host is the zone
// or mail domain) and ask exactly one recursive server: env.DNSServer when
// set (raw queries with EDNS0, TCP fallback on truncation), otherwise
// env.Resolver for the checks that only need TXT records. They never fall
// back to the system resolver on their own. dns.zone-transfer additionally
// connects to the zone's authoritative servers over TCP port 53 through
// env.Dial, and dns.open-resolver asks the service target itself.
//
// Every answer is bounded: UDP replies by the packet, TCP replies by the
// 16-bit length prefix, zone transfers by a record, message and byte
// budget, and evidence by check.Cap. A SERVFAIL, REFUSED or timeout from
// the resolver is reported as an error wrapping check.ErrUnreachable so
// that silence is never taken for a fix; NXDOMAIN is a real answer.
//
// Family options come from env.Extra["dns"] as an Options value.
//
// Register adds the checks to a check.Registry. The package imports
// github.com/miekg/dns for message packing only; the wire exchange is ours
// so that every read has a deadline and a cap.
package dns
