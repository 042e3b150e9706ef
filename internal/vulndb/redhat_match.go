package vulndb

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

var rhelReleaseRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^el[0-9]{1,2}$`) })

// RedHatFamily reports whether Red Hat's security data applies to a
// distribution's packages: RHEL itself and its rebuilds that ship the
// same package versions (CentOS Linux, Rocky Linux, AlmaLinux). CentOS
// Stream runs ahead of RHEL and is not among them.
func RedHatFamily(distro string) bool {
	switch distro {
	case "rhel", "centos", "rocky", "almalinux":
		return true
	}
	return false
}

// backportedRPM decides for a package of the Red Hat family, from Red
// Hat's records (distribution "rhel"), comparing with RPM's ordering:
//
//   - Only records for the installed upstream version (DistroFix.Stream)
//     apply: one RHEL release carries several streams of some packages,
//     and a fix in one says nothing of another.
//   - With the package's version-release from the banner (BIND's
//     version.bind, an ".el9_4" tag), the release's record decides: fixed
//     when the installed version is at or after the fixed one. Without
//     the release, every candidate release must clear it.
//   - Without a package release (Apache's "(Red Hat Enterprise Linux)",
//     "(CentOS)"), a record of the same upstream version means Red Hat
//     backported the fix into the very version the banner shows: the
//     verdict is Unverified, naming the advisory and the first fixed
//     release, since only the installed release (rpm -q) can tell.
func (db *DB) backportedRPM(p Package, cve string) Backport {
	recs := db.distro[pkgKey{"rhel", p.Source, cve}]
	where := func(r DistroFix) string { return DistroName("rhel") + " " + r.Release }
	if p.Version == "" {
		var cands []DistroFix
		for _, r := range recs {
			if r.Stream == p.Upstream && (p.Release == "" || r.Release == p.Release) {
				cands = append(cands, r)
			}
		}
		if len(cands) == 0 {
			return Backport{Reason: fmt.Sprintf("the banner shows no %s package release and no Red Hat fix for %s in %s %s is known",
				DistroName(p.Distro), cve, p.Source, p.Upstream)}
		}
		slices.SortFunc(cands, func(a, b DistroFix) int { return strings.Compare(a.Release, b.Release) })
		var parts []string
		for _, r := range cands {
			s := fmt.Sprintf("in %s %s %s and later", where(r), r.Package, r.Fixed)
			if r.Advisory != "" {
				s = "by " + r.Advisory + " " + s
			}
			parts = append(parts, s)
		}
		return Backport{Unverified: true, By: cands[0], Reason: fmt.Sprintf("fixed %s; the banner does not show the package release, verify with `rpm -q %s`",
			strings.Join(parts, ", "), p.Source)}
	}
	inst, err := ParseRPMVersion(p.Version)
	if err != nil {
		return Backport{Reason: "the installed version does not parse: " + err.Error()}
	}
	var cands []DistroFix
	for _, r := range recs {
		if r.Stream == inst.Version && (p.Release == "" || r.Release == p.Release) {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		rel := ""
		if p.Release != "" {
			rel = " " + p.Release
		}
		return Backport{Reason: fmt.Sprintf("no Red Hat%s fix for %s in %s %s is known", rel, cve, p.Source, inst.Version)}
	}
	slices.SortFunc(cands, func(a, b DistroFix) int { return strings.Compare(a.Release, b.Release) })
	var out Backport
	for i, r := range cands {
		fv, err := ParseRPMVersion(r.Fixed)
		var v Backport
		switch {
		case err != nil:
			v = Backport{By: r, Reason: "the fixed version does not parse: " + err.Error()}
		case p.EpochAssumed && fv.Epoch != inst.Epoch:
			v = Backport{By: r, Reason: fmt.Sprintf("%s fixed %s in %s, whose epoch is not the %d assumed for %s", where(r), r.Package, r.Fixed, inst.Epoch, p.Tag)}
		case inst.Compare(fv) < 0:
			v = Backport{By: r, Reason: fmt.Sprintf("%s fixed it in %s; %s is older", where(r), r.Fixed, p.Version)}
		default:
			reason := fmt.Sprintf("fixed in %s %s", where(r), r.Fixed)
			if r.Advisory != "" {
				reason += " (" + r.Advisory + ")"
			}
			v = Backport{Fixed: true, By: r, Reason: reason}
		}
		if !v.Fixed {
			return v
		}
		if i == 0 {
			out = v
		}
	}
	return out
}

var elOnlyRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^el([0-9]{1,2})(?:_[0-9]+)?$`) })

// elPackage reads an RPM release with an el tag written right after the
// upstream version, in the fingerprint's version or the banner: a full
// release ("2.4.37-62.el8", "1.20.1-14.el9_2.1") gives the package
// version-release and the RHEL major, a bare tag ("8.0p1-el8") the major
// only. The product must be one whose Red Hat package is known.
func elPackage(prod, upstream, version, banner string) (Package, bool) {
	src, ok := sourcePackages()[prod]["rhel"]
	if upstream == "" || !ok {
		return Package{}, false
	}
	for _, s := range []string{version, banner} {
		from := 0
		for tries := 0; tries < 8; tries++ {
			i := strings.Index(s[from:], upstream+"-")
			if i < 0 {
				break
			}
			i += from
			from = i + len(upstream) + 1
			if i > 0 && (rpmAlnum(s[i-1]) || s[i-1] == '.') {
				continue // the end of another version
			}
			end := from
			for end < len(s) && end-from < maxRPMVersion && (rpmAlnum(s[end]) || strings.IndexByte("._+~^", s[end]) >= 0) {
				end++
			}
			tok := strings.TrimRight(s[from:end], ".")
			p := Package{Distro: "rhel", Source: src.name, Upstream: upstream, Tag: upstream + "-" + tok}
			if m := elOnlyRE().FindStringSubmatch(tok); m != nil {
				p.Release = "el" + m[1]
				return p, true
			}
			m := elRelRE().FindStringSubmatch(tok)
			if m == nil || !rpmDigit(tok[0]) {
				continue
			}
			p.Release = "el" + m[1]
			if v, err := ParseRPMVersion(src.epoch + ":" + upstream + "-" + tok); err == nil {
				p.Version, p.EpochAssumed = v.String(), true
			}
			return p, true
		}
	}
	return Package{}, false
}
