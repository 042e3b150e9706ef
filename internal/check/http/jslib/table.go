// Package jslib recognises JavaScript libraries that web pages load, with
// their versions, and knows which versions carry published
// vulnerabilities. The table is data kept offline (no lookups at scan
// time); each entry cites the advisory it comes from.
package jslib

import (
	"regexp"
	"sync"
)

// Vuln is one published vulnerability of a library: versions from
// Introduced (inclusive, "" for the first) to Fixed (exclusive).
type Vuln struct {
	Introduced string
	Fixed      string
	IDs        []string // CVE first, then GHSA
	Summary    string
	KEV        bool // listed in CISA's Known Exploited Vulnerabilities catalog
	High       bool // worse than the usual client-side XSS: code execution, template injection
}

// Library is one library: how its files are named, how its banner reads,
// and its vulnerable ranges.
type Library struct {
	Name string // as people write it: "jQuery"
	// File matches a script URL's last path element (with any query) and
	// captures the version when the name carries it ("v").
	File string
	// Path matches CDN paths that carry the version in a directory
	// ("/jquery/3.4.1/jquery.min.js", "bootstrap@4.3.1/dist/js/…").
	Path string
	// Banner matches the file's own comment or version constant.
	Banner string
	// EOL is when the project stopped all support ("" while supported).
	EOL   string
	Vulns []Vuln

	once               sync.Once
	file, path, banner *regexp.Regexp
}

func (l *Library) compile() {
	l.once.Do(func() {
		l.file = regexp.MustCompile(l.File)
		if l.Path != "" {
			l.path = regexp.MustCompile(l.Path)
		}
		l.banner = regexp.MustCompile(l.Banner)
	})
}

// ver is the version syntax every pattern captures.
const ver = `(?P<v>\d+\.\d+(?:\.\d+)?)`

// Libraries is the table. Sources: the NVD records of each CVE and the
// GitHub advisory database; KEV from CISA's catalog.
var Libraries = []*Library{
	{
		Name:   "jQuery",
		File:   `(?i)^jquery(?:[.-]` + ver + `)?(?:\.slim)?(?:\.min)?\.js(?:\?(?:ver|v)=` + `(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/(?:jquery|jquery-dist)/` + ver + `/(?:dist/)?jquery(?:\.slim)?(?:\.min)?\.js|/jquery@` + ver + `/`,
		Banner: `(?:/\*!? jQuery v|jQuery JavaScript Library v)` + ver,
		Vulns: []Vuln{
			{Fixed: "1.6.3", IDs: []string{"CVE-2011-4969"}, Summary: "XSS through location.hash in selectors"},
			{Introduced: "1.4.2", Fixed: "1.9.0", IDs: []string{"CVE-2012-6708"}, Summary: "XSS: HTML in jQuery(strInput) not at the start"},
			{Introduced: "1.4.0", Fixed: "3.0.0", IDs: []string{"CVE-2015-9251"}, Summary: "cross-domain Ajax responses executed as script"},
			{Introduced: "1.1.4", Fixed: "3.4.0", IDs: []string{"CVE-2019-11358"}, Summary: "prototype pollution in jQuery.extend"},
			{Introduced: "1.2.0", Fixed: "3.5.0", IDs: []string{"CVE-2020-11022"}, Summary: "XSS through htmlPrefilter in DOM manipulation methods"},
			{Introduced: "1.0.3", Fixed: "3.5.0", IDs: []string{"CVE-2020-11023"}, Summary: "XSS through <option> elements passed to DOM manipulation methods", KEV: true},
		},
	},
	{
		Name:   "jQuery UI",
		File:   `(?i)^jquery-ui(?:[.-]` + ver + `)?(?:\.custom)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/jqueryui/` + ver + `/|/jquery-ui@` + ver + `/`,
		Banner: `jQuery UI - v` + ver,
		Vulns: []Vuln{
			{Fixed: "1.10.0", IDs: []string{"CVE-2010-5312"}, Summary: "XSS in the dialog title option"},
			{Fixed: "1.12.0", IDs: []string{"CVE-2016-7103"}, Summary: "XSS in the dialog closeText option"},
			{Fixed: "1.13.0", IDs: []string{"CVE-2021-41182", "CVE-2021-41183", "CVE-2021-41184"}, Summary: "XSS in the datepicker altField, text options and position of"},
			{Fixed: "1.13.2", IDs: []string{"CVE-2022-31160"}, Summary: "XSS when refreshing a checkboxradio with an HTML label"},
		},
	},
	{
		Name:   "Bootstrap",
		File:   `(?i)^bootstrap(?:[.-]` + ver + `)?(?:\.bundle)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/(?:twitter-)?bootstrap/` + ver + `/|/bootstrap@` + ver + `/`,
		Banner: `Bootstrap v` + ver + ` \(`,
		Vulns: []Vuln{
			{Fixed: "3.4.0", IDs: []string{"CVE-2018-14040", "CVE-2018-14041", "CVE-2018-14042"}, Summary: "XSS in the collapse data-parent, scrollspy target and tooltip data-container"},
			{Introduced: "4.0.0", Fixed: "4.1.2", IDs: []string{"CVE-2018-14040", "CVE-2018-14041", "CVE-2018-14042"}, Summary: "XSS in the collapse data-parent, scrollspy target and tooltip data-container"},
			{Fixed: "3.4.1", IDs: []string{"CVE-2019-8331"}, Summary: "XSS in the tooltip and popover data-template"},
			{Introduced: "4.0.0", Fixed: "4.3.1", IDs: []string{"CVE-2019-8331"}, Summary: "XSS in the tooltip and popover data-template"},
		},
	},
	{
		Name:   "AngularJS",
		File:   `(?i)^angular(?:[.-]` + ver + `)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/angular\.js/` + ver + `/|/angular@` + ver + `/`,
		Banner: `@license AngularJS v` + ver,
		EOL:    "2021-12-31",
		Vulns: []Vuln{
			{Fixed: "1.8.0", IDs: []string{"CVE-2020-7676"}, Summary: "XSS through <option> elements in jqLite"},
			{Introduced: "1.2.21", Fixed: "", IDs: []string{"CVE-2022-25844"}, Summary: "ReDoS through the currency filter posPre; no fixed 1.x release"},
			{Introduced: "1.2.21", Fixed: "", IDs: []string{"CVE-2023-26116"}, Summary: "ReDoS in angular.copy; no fixed 1.x release"},
			{Introduced: "1.0.0", Fixed: "", IDs: []string{"CVE-2023-26117"}, Summary: "ReDoS in $resource; no fixed 1.x release"},
			{Introduced: "1.4.9", Fixed: "", IDs: []string{"CVE-2023-26118"}, Summary: "ReDoS in input[url]; no fixed 1.x release"},
		},
	},
	{
		Name:   "Lodash",
		File:   `(?i)^lodash(?:[.-]` + ver + `)?(?:\.core)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/lodash\.js/` + ver + `/|/lodash@` + ver + `/`,
		Banner: `(?:var VERSION = '|@license Lodash v|lodash v)` + ver,
		Vulns: []Vuln{
			{Fixed: "4.17.5", IDs: []string{"CVE-2018-3721"}, Summary: "prototype pollution in merge, mergeWith and defaultsDeep"},
			{Fixed: "4.17.12", IDs: []string{"CVE-2019-10744"}, Summary: "prototype pollution in defaultsDeep", High: true},
			{Fixed: "4.17.21", IDs: []string{"CVE-2021-23337"}, Summary: "command injection through the template function", High: true},
		},
	},
	{
		Name:   "Moment.js",
		File:   `(?i)^moment(?:[.-]` + ver + `)?(?:-with-locales)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/moment\.js/` + ver + `/|/moment@` + ver + `/`,
		Banner: `//! version : ` + ver,
		Vulns: []Vuln{
			{Fixed: "2.11.2", IDs: []string{"CVE-2016-4055"}, Summary: "ReDoS in duration parsing"},
			{Fixed: "2.29.2", IDs: []string{"CVE-2022-24785"}, Summary: "path traversal in locale loading (server side)"},
			{Introduced: "2.18.0", Fixed: "2.29.4", IDs: []string{"CVE-2022-31129"}, Summary: "ReDoS in RFC 2822 date parsing"},
		},
	},
	{
		Name:   "Handlebars",
		File:   `(?i)^handlebars(?:[.-]v?` + ver + `)?(?:\.runtime)?(?:\.min)?\.js(?:\?(?:ver|v)=(?P<q>\d+\.\d+(?:\.\d+)?))?`,
		Path:   `(?i)/handlebars\.js/` + ver + `/|/handlebars@` + ver + `/`,
		Banner: `handlebars v` + ver,
		Vulns: []Vuln{
			{Fixed: "4.3.0", IDs: []string{"CVE-2019-19919"}, Summary: "prototype pollution leading to code execution in templates", High: true},
			{Fixed: "4.7.7", IDs: []string{"CVE-2021-23369", "CVE-2021-23383"}, Summary: "code execution when compiling untrusted templates", High: true},
		},
	},
}
