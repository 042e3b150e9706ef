package vulndb

import (
	"fmt"
	"slices"
	"strings"
)

// DistroFix is what a distribution says about one CVE in one source
// package of one of its releases: fixed in a version, or never affected.
// Only records that can clear a package are kept (status resolved); an
// open or undetermined issue is the same, for matching, as no record.
type DistroFix struct {
	Distro  string `json:"distro"`  // "debian", "ubuntu", "rhel"
	Release string `json:"release"` // codename: "bookworm", "jammy"; "el9" for RHEL 9
	Package string `json:"package"` // source package: "openssh" (Red Hat: the binary package named so)
	CVE     string `json:"cve"`
	// Fixed is the first fixed version in the release's archive ("0":
	// the release never had the vulnerable code); Red Hat's is an RPM
	// epoch:version-release.
	Fixed    string `json:"fixed"`
	Urgency  string `json:"urgency,omitempty"`
	Advisory string `json:"advisory,omitempty"` // "DSA-5724-1", "DLA-3842-1", "USN-6859-1", "RHSA-2024:4312"
	// Source names the data it came from: "debian-tracker", "debian-dsa",
	// "debian-dla", "osv", "redhat-oval".
	Source string `json:"source"`
	// Stream is the upstream version the fix is for, where one release
	// ships several (Red Hat's module streams and rebases: "2.4.37");
	// "" for Debian and Ubuntu, whose releases carry one.
	Stream string `json:"stream,omitempty"`
}

// NotAffected reports whether the record says the release never had the
// vulnerable code.
func (f DistroFix) NotAffected() bool { return f.Fixed == "0" }

// Key identifies the record: distribution, release, package and CVE (and
// the stream, when there is one).
func (f DistroFix) Key() string {
	k := f.Distro + "/" + f.Release + "/" + f.Package + "/" + f.CVE
	if f.Stream != "" {
		k += "/" + f.Stream
	}
	return k
}

// merge folds a newer report about the same key into f: the status and
// fixed version of the newer one win; an advisory is kept when it names
// the same fixed version (the DSA list and the tracker describe one fix).
//
// Red Hat's records of one stream keep the higher fixed version (two
// advisories naming one CVE: the later fix is the one that is complete),
// so the result does not depend on the order of the files.
func (f DistroFix) merge(n DistroFix) DistroFix {
	if f.Distro == "rhel" && n.Distro == "rhel" {
		if c, err := CompareRPMVersions(f.Fixed, n.Fixed); err == nil && c > 0 {
			return f
		}
		return n
	}
	out := n
	if out.Advisory == "" && f.Advisory != "" && f.Fixed == n.Fixed {
		out.Advisory = f.Advisory
	}
	if out.Urgency == "" && f.Fixed == n.Fixed {
		out.Urgency = f.Urgency
	}
	if n.Source != f.Source && f.Fixed == n.Fixed {
		// One fix known from two sources: keep the tracker's name, which
		// carries the status.
		if f.Source == "debian-tracker" {
			out.Source = f.Source
		}
	}
	return out
}

// validate checks a record before it is kept.
func (f DistroFix) validate() error {
	switch {
	case f.Distro != "debian" && f.Distro != "ubuntu" && f.Distro != "rhel":
		return fmt.Errorf("distribution %q is not debian, ubuntu or rhel", clip(f.Distro))
	case f.Release == "" || len(f.Release) > 32:
		return fmt.Errorf("release %q", clip(f.Release))
	case f.Package == "" || len(f.Package) > 128:
		return fmt.Errorf("package %q", clip(f.Package))
	case !ValidCVEID(f.CVE):
		return fmt.Errorf("%q is not a CVE ID", clip(f.CVE))
	}
	if f.Distro == "rhel" {
		v, err := ParseRPMVersion(f.Fixed)
		switch {
		case err != nil:
			return err
		case !rhelReleaseRE().MatchString(f.Release):
			return fmt.Errorf("release %q is not elN", clip(f.Release))
		case v.Release == "":
			return fmt.Errorf("rpm version %q has no release", clip(f.Fixed))
		case f.Stream != v.Version:
			return fmt.Errorf("stream %q is not the fixed version's %q", clip(f.Stream), clip(v.Version))
		}
		return nil
	}
	if f.Fixed != "0" {
		if _, err := ParseDebVersion(f.Fixed); err != nil {
			return err
		}
	}
	return nil
}

// emitPerCVE hands fn one record per CVE, each proto with its CVE; the
// first that does not validate goes to bad (which ends the read or not)
// and ends the list.
func emitPerCVE(proto DistroFix, cves []string, fn func(DistroFix) error, bad func(error) error) error {
	for _, c := range cves {
		f := proto
		f.CVE = c
		if err := f.validate(); err != nil {
			return bad(err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// networkPackages are the source packages whose software Rampart can see
// on the network and whose banners Package maps (with room for the next
// mappings): the import keeps the fix records of these only, so the
// snapshot and the workers' memory stay small (the Debian tracker alone
// holds millions of release records). Names ending in '*' are prefixes
// (postgresql-15, php8.2).
var networkPackages = []string{
	"openssh", "bind9", "apache2", "nginx", "postfix", "exim4", "dovecot", "mariadb", "mariadb-*", "mysql-*",
	"postgresql-*", "samba", "proftpd-dfsg", "vsftpd", "pure-ftpd", "squid", "haproxy", "lighttpd",
	"tomcat*", "php*", "openssl", "unbound", "knot", "isc-dhcp", "openldap", "cyrus-imapd", "courier",
	"varnish", "memcached", "redis", "mongodb", "rsync", "tinyproxy", "asterisk", "freeradius",
}

// IsNetworkPackage reports whether the import keeps records of source
// package name.
func IsNetworkPackage(name string) bool {
	for _, p := range networkPackages {
		if strings.HasSuffix(p, "*") {
			if strings.HasPrefix(name, p[:len(p)-1]) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}

// pkgKey indexes fix records.
type pkgKey struct{ distro, pkg, cve string }

// AddDistroFix records a distribution's fix; a later record for the same
// key is merged into the earlier one (see DistroFix).
func (db *DB) AddDistroFix(f DistroFix) {
	if db.distro == nil {
		db.distro = map[pkgKey][]DistroFix{}
	}
	k := pkgKey{f.Distro, f.Package, f.CVE}
	list := db.distro[k]
	for i := range list {
		if list[i].Release == f.Release && list[i].Stream == f.Stream {
			list[i] = list[i].merge(f)
			return
		}
	}
	db.distro[k] = append(list, f)
}

// DistroFixes returns the records for a package and CVE, in every release.
func (db *DB) DistroFixes(distro, pkg, cve string) []DistroFix {
	return slices.Clone(db.distro[pkgKey{distro, pkg, cve}])
}

// Backport is the verdict on one CVE for one installed package.
type Backport struct {
	// Fixed is true when the distribution's data shows the installed
	// package fixed (or never affected).
	Fixed bool
	// Unverified is true when the distribution fixed the CVE in a package
	// of the very upstream version the banner shows, but the banner does
	// not show the package release (Red Hat's "Apache/2.4.37 (Red Hat
	// Enterprise Linux)"): the service is not claimed vulnerable, nor
	// fixed; Reason says how to verify.
	Unverified bool
	// By is the record that decided (for Fixed), or the closest one.
	By DistroFix
	// Reason says, in English, why: "fixed in Debian bookworm
	// 1:9.2p1-2+deb12u3 (DSA-5724-1)", or why the data could not clear
	// the package.
	Reason string
}

// Backported decides whether the distribution fixed cve in package p:
//
//   - p must carry a full package version (a revision from its banner);
//     Apache's "(Debian)" alone clears nothing.
//   - With the release known, the release's record decides: not affected,
//     or fixed when the installed version is at or after the fixed one
//     (Debian ordering). Without a record, or with an open issue, the CVE
//     stands.
//   - Without the release (Ubuntu revisions rarely say it), the candidates
//     are the records whose fixed version has the installed version's
//     epoch and upstream version: the package can only come from such a
//     release. All of them must clear it, and there must be one.
//   - When the epoch came from the table and the record's fixed version
//     has another epoch, the record is not trusted.
//   - Red Hat and its rebuilds (CentOS, Rocky Linux, AlmaLinux) follow
//     other rules: see backportedRPM.
func (db *DB) Backported(p Package, cve string) Backport {
	if RedHatFamily(p.Distro) {
		return db.backportedRPM(p, cve)
	}
	if p.Version == "" {
		return Backport{Reason: fmt.Sprintf("the banner shows no %s package revision", DistroName(p.Distro))}
	}
	inst, err := ParseDebVersion(p.Version)
	if err != nil {
		return Backport{Reason: "the installed version does not parse: " + err.Error()}
	}
	recs := db.distro[pkgKey{p.Distro, p.Source, cve}]
	if len(recs) == 0 {
		return Backport{Reason: fmt.Sprintf("no %s fix for %s in %s is known", DistroName(p.Distro), cve, p.Source)}
	}
	if p.Release != "" {
		for _, r := range recs {
			if r.Release == p.Release {
				return judge(p, inst, r)
			}
		}
		return Backport{Reason: fmt.Sprintf("no %s %s fix for %s in %s is known", DistroName(p.Distro), p.Release, cve, p.Source)}
	}
	var cands []DistroFix
	for _, r := range recs {
		if r.NotAffected() {
			continue
		}
		fv, err := ParseDebVersion(r.Fixed)
		if err == nil && fv.Epoch == inst.Epoch && fv.Upstream == inst.Upstream {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return Backport{Reason: fmt.Sprintf("the banner does not name the %s release and no release's fix is for upstream %s", DistroName(p.Distro), inst.Upstream)}
	}
	slices.SortFunc(cands, func(a, b DistroFix) int { return strings.Compare(a.Release, b.Release) })
	var out Backport
	for i, r := range cands {
		v := judge(p, inst, r)
		if !v.Fixed {
			return v
		}
		if i == 0 {
			out = v
		}
	}
	return out
}

// judge applies one release's record to the installed version.
func judge(p Package, inst DebVersion, r DistroFix) Backport {
	where := DistroName(r.Distro) + " " + r.Release
	if r.NotAffected() {
		return Backport{Fixed: true, By: r, Reason: fmt.Sprintf("not affected in %s (%s)", where, r.Package)}
	}
	fv, err := ParseDebVersion(r.Fixed)
	if err != nil {
		return Backport{By: r, Reason: "the fixed version does not parse: " + err.Error()}
	}
	if p.EpochAssumed && fv.Epoch != inst.Epoch {
		return Backport{By: r, Reason: fmt.Sprintf("%s fixed %s in %s, whose epoch is not the %d assumed for %s", where, r.Package, r.Fixed, inst.Epoch, p.Tag)}
	}
	if inst.Compare(fv) < 0 {
		return Backport{By: r, Reason: fmt.Sprintf("%s fixed it in %s; %s is older", where, r.Fixed, p.Version)}
	}
	reason := fmt.Sprintf("fixed in %s %s", where, r.Fixed)
	if r.Advisory != "" {
		reason += " (" + r.Advisory + ")"
	}
	return Backport{Fixed: true, By: r, Reason: reason}
}
