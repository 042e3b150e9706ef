// Package fingerprint identifies the service, product and version behind an
// open TCP port.
//
// Identification has two halves that stay apart on purpose:
//
//   - Go code talks to the target. A [Prober] connects, waits briefly for a
//     server-first banner, then sends protocol probes (HTTP, TLS, Redis,
//     MongoDB, SMB, RDP, LDAP, MQTT, DNS, PostgreSQL, MSSQL, ...) in an order
//     chosen from the port number. Each reply goes through a parser that
//     turns it into flat key/value facts ("mysql.server_version",
//     "header.server", "json.version.number", "smb.dialect"). Parsers treat
//     every byte as hostile: they never panic, and every read has a deadline
//     and a size cap.
//   - Data names the product. [Rules] are loaded from YAML files (the
//     built-in set is embedded; see docs/fingerprints.md for the format) and
//     match facts with regular expressions, equality and presence tests;
//     their templates turn named capture groups into product, version and
//     CPE. An analyst adds a product by dropping a YAML file into a rules
//     directory, without rebuilding.
//
// Typical use:
//
//	rules, err := fingerprint.LoadRulesDir("/etc/rampart/fingerprints")
//	if err != nil { ... }
//	p := fingerprint.New(fingerprint.DefaultRules().Merge(rules), fingerprint.Options{})
//	svc, err := p.Identify(ctx, netip.MustParseAddrPort("192.0.2.7:443"), "www.example.org")
//
// The package opens connections only to the address it is given; callers
// must check scope before calling Identify. It imports the standard library
// and gopkg.in/yaml.v3 only.
package fingerprint
