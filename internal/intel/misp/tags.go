package misp

import (
	"regexp"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/intel"
)

// TagMeaning is what a MISP tag says about the attributes it marks.
type TagMeaning struct {
	TLP        intel.TLP      // a tlp: tag
	Label      string         // "actor:apt28", "malware:xorist", "tool:mimikatz", "tag:type:osint"
	Confidence int            // 0-100 from misp:confidence-level or admiralty-scale; -1 when none
	Category   intel.Category // a hint: phishing, c2, spam, scanner or malware; "" when none
}

// galaxyPrefix maps MISP galaxies to label prefixes.
var galaxyPrefix = map[string]string{
	"threat-actor":                          "actor",
	"mitre-intrusion-set":                   "actor",
	"mitre-enterprise-attack-intrusion-set": "actor",
	"mitre-mobile-attack-intrusion-set":     "actor",
	"mitre-pre-attack-intrusion-set":        "actor",
	"microsoft-activity-group":              "actor",
	"malpedia":                              "malware",
	"ransomware":                            "malware",
	"botnet":                                "malware",
	"rat":                                   "malware",
	"banker":                                "malware",
	"stealer":                               "malware",
	"backdoor":                              "malware",
	"android":                               "malware",
	"exploit-kit":                           "malware",
	"cryptominers":                          "malware",
	"mitre-malware":                         "malware",
	"mitre-enterprise-attack-malware":       "malware",
	"mitre-mobile-attack-malware":           "malware",
	"tool":                                  "tool",
	"mitre-tool":                            "tool",
	"mitre-enterprise-attack-tool":          "tool",
	"mitre-mobile-attack-tool":              "tool",
}

// attackSuffix is the " - G0007" / " - S0089" ATT&CK ID after a cluster
// name.
var attackSuffix = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\s+-\s+[GSTgst]\d{4}(\.\d{3})?$`)
})

// confidence levels of the "misp" taxonomy and the admiralty scale's
// information credibility.
var confidenceLevels = map[string]int{
	`misp:confidence-level="completely-confident"`:                   100,
	`misp:confidence-level="usually-confident"`:                      75,
	`misp:confidence-level="fairly-confident"`:                       50,
	`misp:confidence-level="rarely-confident"`:                       25,
	`misp:confidence-level="unconfident"`:                            0,
	`admiralty-scale:information-credibility="1"`:                    100,
	`admiralty-scale:information-credibility="2"`:                    80,
	`admiralty-scale:information-credibility="3"`:                    60,
	`admiralty-scale:information-credibility="4"`:                    40,
	`admiralty-scale:information-credibility="5"`:                    20,
	`estimative-language:confidence-in-analytic-judgment="high"`:     80,
	`estimative-language:confidence-in-analytic-judgment="moderate"`: 50,
	`estimative-language:confidence-in-analytic-judgment="low"`:      20,
}

// ReadTag reads one MISP tag:
//
//   - tlp:white, tlp:clear, tlp:green, tlp:amber, tlp:amber+strict,
//     tlp:red give the TLP (other tlp: tags, such as tlp:ex:chr, nothing);
//   - misp-galaxy:<galaxy>="<name>" gives "actor:", "malware:" or "tool:"
//     and the cluster's name (without an ATT&CK ID suffix) for the threat
//     actor, malware and tool galaxies; other galaxies a "tag:" label;
//   - misp:confidence-level, admiralty-scale:information-credibility and
//     estimative-language confidence give the confidence;
//   - the other misp: tags are metadata of MISP's own exports
//     (misp:name, misp:category, misp:to_ids …) and give nothing;
//   - any other tag is the label "tag:<tag>", with a category hint when
//     it speaks of phishing, command and control, spam, scanning or
//     malware.
func ReadTag(name string) TagMeaning {
	m := TagMeaning{Confidence: -1}
	name = strings.TrimSpace(name)
	if name == "" {
		return m
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "tlp:") {
		if t, err := intel.ParseTLP(lower); err == nil {
			m.TLP = t
		}
		return m
	}
	if c, ok := confidenceLevels[lower]; ok {
		m.Confidence = c
		return m
	}
	if strings.HasPrefix(lower, "misp:") {
		return m
	}
	if rest, ok := strings.CutPrefix(lower, "misp-galaxy:"); ok {
		galaxy, value, _ := strings.Cut(rest, "=")
		value = strings.Trim(value, `"`)
		if p, ok := galaxyPrefix[galaxy]; ok && value != "" {
			value = attackSuffix().ReplaceAllString(value, "")
			m.Label = p + ":" + value
			if p == "malware" {
				m.Category = intel.CategoryMalware
			}
			return m
		}
	}
	m.Label = "tag:" + lower
	m.Category = tagCategory(lower)
	return m
}

// tagCategory finds a category hint in a taxonomy tag.
func tagCategory(t string) intel.Category {
	switch {
	case strings.Contains(t, "phish"):
		return intel.CategoryPhishing
	case hasWord(t, "c2", "c&c", "cnc") || strings.Contains(t, "command-and-control") ||
		strings.Contains(t, "command and control"):
		return intel.CategoryC2
	case strings.Contains(t, "spam"):
		return intel.CategorySpam
	case strings.Contains(t, "scanner") || strings.Contains(t, "scanning"):
		return intel.CategoryScanner
	case strings.Contains(t, "malware") || strings.Contains(t, "ransom") || strings.Contains(t, "trojan"):
		return intel.CategoryMalware
	}
	return ""
}

// hasWord reports whether t has one of the words, split at anything but
// letters, digits and '&'.
func hasWord(t string, words ...string) bool {
	isWord := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '&' }
	for i := 0; i < len(t); {
		if !isWord(t[i]) {
			i++
			continue
		}
		j := i
		for j < len(t) && isWord(t[j]) {
			j++
		}
		for _, w := range words {
			if t[i:j] == w {
				return true
			}
		}
		i = j
	}
	return false
}
