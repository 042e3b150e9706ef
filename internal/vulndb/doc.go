// Package vulndb is Rampart's offline vulnerability database: it reads NVD
// CVE records, the CISA KEV catalog and FIRST EPSS scores from files,
// keeps them as a snapshot on disk, and answers "which CVEs affect this
// product version?" for the vuln.known-cve check.
//
// It is a domain package: it imports the standard library only, and never
// the network. Government networks may be air-gapped; everything comes in
// through `rampart vulndb import FILE...`.
//
// # Inputs
//
// ReadNVD reads NVD API 2.0 JSON: single cve objects (as the NVD mirrors
// store them, one per file), {"cve":...} elements, API responses and
// collections ({"vulnerabilities":[...]}, streamed record by record),
// arrays of either, plain or gzip'd. ReadKEV reads the KEV catalog JSON;
// ReadEPSS reads the EPSS CSV with its "#model_version:...,score_date:..."
// comment line. All three are parsers of outside data: they cap file and
// record sizes (MaxFileBytes, MaxRecordBytes), reject a bad record with a
// *RecordError that names the file, the record or line and the reason
// (and keep reading), stop on malformed input with an error naming the
// file and byte or line, and have fuzz targets.
//
// # Model
//
// A CVE keeps its ID, dates, English description, one CVSS metric (v3.1,
// else v3.0, else v4.0, else v2), CWEs, reference URLs and its NVD
// configurations as a tree of Node values holding CPEMatch criteria.
//
// # Matching
//
// DB indexes CVEs by the (vendor, product) of their vulnerable criteria.
// DB.Match takes the CPE of what a fingerprint saw
// ("cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*", or the CPE 2.2
// "cpe:/a:..." form) and evaluates each candidate's configurations;
// DB.MatchProduct does the same from a product name and version when the
// fingerprint has no CPE. The rules, in short:
//
//   - Versions compare by CompareVersion: numeric-aware (2.4.49 > 2.4.9),
//     letter suffixes after the release (1.0.1f > 1.0.1, 7.4p1 > 7.4),
//     pre-releases before it (1.0-rc1 < 1.0).
//   - OpenSSH-style "7.4p1" and NVD's version 7.4 + update p1 are the same
//     thing (see match.go for the exact rule).
//   - An attribute the fingerprint does not know (ANY) does not prevent a
//     match, except the version: an unknown version matches only criteria
//     that cover all versions.
//   - AND nodes: parts that list only platforms (vulnerable=false: the OS
//     under an application, the hardware under firmware) are satisfied
//     when unknown, because a scan sees the service, rarely the OS; parts
//     that list other vulnerable products must match, so a CVE that needs
//     two products present is not reported on one. Negate is honoured:
//     a negated node that matches the target fails the configuration.
//   - KEV: a hit carries the catalog entry, or, without a catalog, the
//     cisa* fields NVD copies into its record. EPSS is attached when known.
//
// Limits: the fingerprint's version string is taken as it is (vendor
// suffixes such as "7.4p1 Debian-10+deb9u7" must be cut by the caller);
// CPE names NVD gives to a product must be known (see ProductAliases for
// fingerprinter names); criteria with a concrete version are compared for
// equality, so a build-number suffix NVD does not list does not match.
//
// # Distribution backports
//
// Debian, Ubuntu and Red Hat patch their packages without changing the
// upstream version, so NVD's ranges report CVEs they fixed. DistroPackage
// reads the distribution package a banner reveals (OpenSSH's
// "Debian-2+deb12u3", BIND's version.bind "9.18.49-1~deb12u3-Debian" or
// "9.11.36-RedHat-9.11.36-11.el8_9.1", an ".el9_2" release, Apache's
// "(Red Hat Enterprise Linux)"; distro.go says what each banner gives and
// what is assumed), the import reads the distributions' own data (the
// Debian tracker's JSON, the DSA and DLA lists, OSV records such as
// Ubuntu's USNs, distro_input.go; Red Hat's OVAL v2 XML, redhat.go) into
// DistroFix records, and DB.Backported says whether the installed
// revision is fixed, comparing versions with Debian's ordering
// (CompareDebVersions, debversion.go) or RPM's (CompareRPMVersions,
// rpmversion.go) and naming the advisory. A RHEL-family banner without
// the package release gets no "fixed" verdict: a CVE Red Hat fixed in the
// very upstream version shown is Unverified (redhat_match.go).
//
// # Snapshot
//
// Import merges files into a directory (normally <data>/vulndb/) holding
// gzip'd JSON lines per source and a manifest; it is idempotent and keeps
// the newer record on conflict. Load reads it into a DB at start.
package vulndb
