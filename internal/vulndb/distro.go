package vulndb

import (
	"regexp"
	"strings"
	"sync"
)

// Distribution packages seen from the network.
//
// Debian, Ubuntu and Red Hat fix vulnerabilities by patching the version
// they ship ("backporting"), so the upstream version a banner shows says
// little: OpenSSH 9.2p1 with Debian revision 2+deb12u3 is fixed for
// CVE-2024-6387 although upstream 9.2p1 is not. Where a banner shows the
// package revision, Package says which distribution package runs, and the
// distributions' own security data (DistroFix) says whether the CVE is
// fixed in it.
//
// What banners reveal, and what is taken from elsewhere:
//
//   - OpenSSH: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" carries the
//     upstream version and the Debian revision, not the epoch: the package
//     is 1:9.2p1-2+deb12u3. The epoch (1 for openssh in Debian and Ubuntu)
//     comes from the source package table below, and a fix record whose
//     version has another epoch is not trusted (Backported says why). The
//     release comes from the revision's "debNuM" (Debian 12 = bookworm);
//     Ubuntu revisions ("3ubuntu0.10") do not name the release, which is
//     then found from the advisory whose fixed version has the same
//     upstream version (see Backported). Red Hat's OpenSSH says "OpenSSH_8.0"
//     without any revision: nothing to go on.
//   - BIND: version.bind answers "9.18.49-1~deb12u3-Debian" or
//     "9.18.30-0ubuntu0.22.04.2-Ubuntu" (the fingerprint keeps it as
//     "9.18.49 Debian-1~deb12u3"); the epoch of bind9 is 1 in both. Red Hat
//     answers "9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16" (RHEL 7 and 8): the
//     package's version-release and the release (el7) are known, the epoch
//     (32) is assumed; RHEL 9 answers "9.16.23-RH": Red Hat's package, no
//     release.
//   - Apache httpd "Apache/2.4.62 (Debian)", nginx "nginx/1.18.0 (Ubuntu)":
//     the distribution, never the revision or the release. Package is
//     returned with an empty Version: useful for the end-of-life check, and
//     never a reason to suppress a CVE. Red Hat's family says "(Red Hat
//     Enterprise Linux)", "(CentOS)", "(CentOS Stream)", "(Rocky Linux)",
//     "(AlmaLinux)": with Red Hat's data a CVE fixed in the very upstream
//     version the banner shows is not claimed (Backport.Unverified).
//   - An RPM release with an el tag right after the upstream version
//     ("8.0p1-el8", "2.4.37-62.el8", "1.20.1-14.el9_2.1") names the RHEL
//     major release, and the package version-release when it is a full one.
//   - Postfix, Dovecot, MariaDB and PostgreSQL banners are not mapped yet
//     (Postfix shows no version at all; MariaDB's source package name
//     changes between releases).

// Package is a distribution package a service runs, as far as its banner
// tells.
type Package struct {
	Distro   string // "debian", "ubuntu", "rhel", "centos", "centos-stream", "rocky", "almalinux"
	Release  string // codename ("bookworm", "jammy") or "el7"; "" when the banner does not say
	Source   string // source package: "openssh", "bind9", "apache2"
	Upstream string // the upstream version the banner shows: "9.2p1"
	// Version is the package version in the distribution's own form
	// ("1:9.2p1-2+deb12u3", "32:9.11.4-26.P2.el7_9.16"), "" when the
	// banner shows no revision.
	Version string
	// Tag is the distribution part as the banner shows it
	// ("Debian-2+deb12u3").
	Tag string
	// EpochAssumed is set when the epoch is not from the banner but from
	// the source package table.
	EpochAssumed bool
}

// Label names the package for people: "Debian bookworm openssh
// 1:9.2p1-2+deb12u3", "Ubuntu apache2 2.4.52".
func (p Package) Label() string {
	parts := []string{DistroName(p.Distro)}
	if p.Release != "" {
		parts = append(parts, p.Release)
	}
	parts = append(parts, p.Source)
	if p.Version != "" {
		parts = append(parts, p.Version)
	} else if p.Upstream != "" {
		parts = append(parts, p.Upstream)
	}
	return strings.Join(parts, " ")
}

// DistroName is the display name of a distribution key.
func DistroName(d string) string {
	switch d {
	case "debian":
		return "Debian"
	case "ubuntu":
		return "Ubuntu"
	case "rhel":
		return "Red Hat Enterprise Linux"
	case "centos":
		return "CentOS"
	case "centos-stream":
		return "CentOS Stream"
	case "rocky":
		return "Rocky Linux"
	case "almalinux":
		return "AlmaLinux"
	}
	return d
}

// sourcePackage is what we know of a product's package in a distribution.
type sourcePackage struct {
	name  string
	epoch string // the archive's epoch, "" for none
}

// sourcePackages maps a fingerprint product and a distribution to the
// source package the archive builds it from. Red Hat's rebuilds use the
// "rhel" entry; an RPM epoch is written out ("0").
func sourcePackages() map[string]map[string]sourcePackage {
	return map[string]map[string]sourcePackage{
		"openssh": {
			"debian": {"openssh", "1"},
			"ubuntu": {"openssh", "1"},
			"rhel":   {"openssh", "0"},
		},
		"isc bind": {
			"debian": {"bind9", "1"},
			"ubuntu": {"bind9", "1"},
			"rhel":   {"bind", "32"},
		},
		"apache httpd": {
			"debian": {"apache2", ""},
			"ubuntu": {"apache2", ""},
			"rhel":   {"httpd", "0"},
		},
		"nginx": {
			"debian": {"nginx", ""},
			"ubuntu": {"nginx", ""},
			"rhel":   {"nginx", "1"},
		},
	}
}

// debianReleases maps Debian's major version to its codename.
var debianReleases = map[string]string{
	"6": "squeeze", "7": "wheezy", "8": "jessie", "9": "stretch", "10": "buster",
	"11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky", "15": "duke",
}

// ubuntuReleases maps Ubuntu's version to its codename.
var ubuntuReleases = map[string]string{
	"10.04": "lucid", "12.04": "precise", "14.04": "trusty", "16.04": "xenial", "18.04": "bionic",
	"20.04": "focal", "20.10": "groovy", "21.04": "hirsute", "21.10": "impish", "22.04": "jammy",
	"22.10": "kinetic", "23.04": "lunar", "23.10": "mantic", "24.04": "noble", "24.10": "oracular",
	"25.04": "plucky", "25.10": "questing",
}

// ReleaseCodename maps a distribution's release number to its codename
// ("debian", "12" → "bookworm"; "ubuntu", "22.04" → "jammy"); a codename
// is returned as it is.
func ReleaseCodename(distro, number string) string {
	number = strings.ToLower(strings.TrimSpace(number))
	switch distro {
	case "debian":
		if c, ok := debianReleases[number]; ok {
			return c
		}
	case "ubuntu":
		if c, ok := ubuntuReleases[number]; ok {
			return c
		}
	}
	for _, c := range debianReleases {
		if c == number {
			return c
		}
	}
	for _, c := range ubuntuReleases {
		if c == number {
			return c
		}
	}
	return ""
}

var (
	// "Debian-2+deb12u3", "Ubuntu-3ubuntu0.10", "Raspbian-5+deb11u3"
	sshTagRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?:^|[\s_-])(Debian|Ubuntu|Raspbian)-([0-9][0-9A-Za-z.+~]*)`)
	})
	// OpenSSH identification string in a (possibly escaped) banner.
	sshBannerRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`SSH-[0-9.]+-OpenSSH_([0-9][A-Za-z0-9.]*)[ _-]+(Debian|Ubuntu|Raspbian)-([0-9][0-9A-Za-z.+~]*)`)
	})
	// BIND's version.bind: "9.18.49-1~deb12u3-Debian", "9.18.30-0ubuntu0.22.04.2-Ubuntu".
	bindRawRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(9\.[0-9]+\.[0-9]+(?:-[SP][0-9]+)?)-([0-9][0-9A-Za-z.+~]*)-(Debian|Ubuntu)$`)
	})
	// Red Hat's: "9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16", "9.16.23-RH".
	bindRedHatRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(9\.[0-9]+\.[0-9]+(?:-[SP][0-9]+)?)[ -]RedHat-([0-9][0-9A-Za-z._+~-]*)$`)
	})
	// The "upstream Tag" form our fingerprints write: "9.18.49 Debian-1~deb12u3".
	taggedRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\S+) (Debian|Ubuntu)-([0-9][0-9A-Za-z.+~]*)$`)
	})
	// Red Hat 9's: "9.16.23-RH".
	bindRHRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(9\.[0-9]+\.[0-9]+(?:-[SP][0-9]+)?)-RH$`)
	})
	// An HTTP Server header naming a distribution: "Apache/2.4.62 (Debian)".
	serverOSRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`(?i)Server: *(Apache|nginx)/([0-9][0-9.]*) \((Debian|Ubuntu|Red Hat Enterprise Linux|Red Hat|CentOS Stream|CentOS|Rocky Linux|AlmaLinux)\)`)
	})
	debRelRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`deb([0-9]{1,2})u[0-9]+`) })
	ubuntuRelRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`ubuntu[0-9.]*?([0-9]{2}\.[0-9]{2})(?:\.[0-9]+)*$`) })
	elRelRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[.+]el([0-9]{1,2})(?:[._+]|$)`) })
)

// maxBannerScan bounds how much of a banner DistroPackage reads.
const maxBannerScan = 4096

// DistroPackage works out the distribution package behind a fingerprint:
// its product ("OpenSSH"), version (as the fingerprint gives it: "9.2p1",
// "9.2p1 Debian-2+deb12u3", "9.18.49-1~deb12u3-Debian") and banner (the
// reply it kept). ok is false when nothing says the software comes from a
// distribution. See the file comment for what each product's banner
// reveals.
func DistroPackage(product, version, banner string) (Package, bool) {
	prod := strings.ToLower(strings.TrimSpace(product))
	version = strings.TrimSpace(version)
	if len(banner) > maxBannerScan {
		banner = banner[:maxBannerScan]
	}
	switch prod {
	case "openssh":
		return sshPackage(version, banner)
	case "isc bind":
		return bindPackage(version)
	case "apache httpd", "nginx":
		return httpPackage(prod, version, banner)
	}
	return Package{}, false
}

func sshPackage(version, banner string) (Package, bool) {
	upstream, _, _ := strings.Cut(version, " ")
	var distro, rev string
	if m := sshTagRE().FindStringSubmatch(version); m != nil {
		distro, rev = m[1], m[2]
	} else if m := sshBannerRE().FindStringSubmatch(banner); m != nil {
		if upstream == "" {
			upstream = m[1]
		}
		if m[1] != upstream {
			return Package{}, false // the banner is another service's
		}
		distro, rev = m[2], m[3]
	}
	if distro == "" {
		return elPackage("openssh", upstream, version, banner)
	}
	if upstream == "" {
		return Package{}, false
	}
	return debPackage("openssh", strings.ToLower(distro), upstream, rev, distro+"-"+rev)
}

func bindPackage(version string) (Package, bool) {
	if m := taggedRE().FindStringSubmatch(version); m != nil {
		return debPackage("isc bind", strings.ToLower(m[2]), m[1], m[3], m[2]+"-"+m[3])
	}
	if m := bindRawRE().FindStringSubmatch(version); m != nil {
		return debPackage("isc bind", strings.ToLower(m[3]), m[1], m[2], m[3]+"-"+m[2])
	}
	if m := bindRedHatRE().FindStringSubmatch(version); m != nil {
		p := Package{Distro: "rhel", Source: "bind", Upstream: m[1], Tag: "RedHat-" + m[2]}
		if r := elRelRE().FindStringSubmatch(m[2]); r != nil {
			p.Release = "el" + r[1]
		}
		// The package version-release is in the tag, without its epoch
		// (32 in RHEL).
		if v, err := ParseRPMVersion("32:" + m[2]); err == nil && v.Release != "" {
			p.Version, p.EpochAssumed = v.String(), true
		}
		return p, true
	}
	if m := bindRHRE().FindStringSubmatch(version); m != nil {
		return Package{Distro: "rhel", Source: "bind", Upstream: m[1], Tag: "RH"}, true
	}
	return Package{}, false
}

// debPackage builds a Debian or Ubuntu package from an upstream version
// and a revision.
func debPackage(product, distro, upstream, rev, tag string) (Package, bool) {
	if distro == "raspbian" {
		// Raspbian rebuilds Debian with its own revisions and security
		// process; Debian's data does not apply.
		return Package{Distro: "raspbian", Upstream: upstream, Tag: tag}, true
	}
	src, ok := sourcePackages()[product][distro]
	if !ok {
		return Package{}, false
	}
	p := Package{Distro: distro, Source: src.name, Upstream: upstream, Tag: tag}
	if rev == "" {
		return p, true
	}
	p.Release = releaseOfRevision(distro, rev)
	v := upstream + "-" + rev
	if src.epoch != "" {
		v = src.epoch + ":" + v
		p.EpochAssumed = true
	}
	if _, err := ParseDebVersion(v); err != nil {
		return Package{Distro: distro, Source: src.name, Upstream: upstream, Tag: tag}, true
	}
	p.Version = v
	return p, true
}

// releaseOfRevision reads the release a revision was built for, when it
// says: Debian's stable updates carry "debNuM" ("2+deb12u3", "1~deb12u3"),
// Ubuntu's some backports "ubuntu0.22.04.2". Backports ("~bpo12+1") are not
// the release itself: "".
func releaseOfRevision(distro, rev string) string {
	if strings.Contains(rev, "bpo") {
		return ""
	}
	switch distro {
	case "debian":
		if m := debRelRE().FindStringSubmatch(rev); m != nil {
			return debianReleases[m[1]]
		}
	case "ubuntu":
		if m := ubuntuRelRE().FindStringSubmatch(rev); m != nil {
			return ubuntuReleases[m[1]]
		}
	}
	return ""
}

func httpPackage(prod, version, banner string) (Package, bool) {
	upstream, _, _ := strings.Cut(version, " ")
	if p, ok := elPackage(prod, upstream, version, banner); ok {
		return p, true
	}
	m := serverOSRE().FindStringSubmatch(banner)
	if m == nil || (upstream != "" && m[2] != upstream) {
		return Package{}, false
	}
	if upstream == "" {
		upstream = m[2]
	}
	var distro string
	switch strings.ToLower(m[3]) {
	case "debian":
		distro = "debian"
	case "ubuntu":
		distro = "ubuntu"
	case "red hat", "red hat enterprise linux":
		distro = "rhel"
	case "centos":
		distro = "centos"
	case "centos stream":
		distro = "centos-stream"
	case "rocky linux":
		distro = "rocky"
	case "almalinux":
		distro = "almalinux"
	}
	key := distro
	if RedHatFamily(distro) || distro == "centos-stream" {
		key = "rhel"
	}
	src, ok := sourcePackages()[prod][key]
	if !ok {
		return Package{}, false
	}
	return Package{Distro: distro, Source: src.name, Upstream: upstream, Tag: "(" + m[3] + ")"}, true
}
