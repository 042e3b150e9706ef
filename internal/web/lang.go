package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/finding/catalog"
	"github.com/rampart-cert/rampart/internal/org"
)

//go:embed i18n/*.json
var catalogFS embed.FS

// The console's languages; the first is the default.
var languages = []string{"vi", "en"}

const defaultLang = "vi"

// catalogs holds one Lang per language.
type catalogs struct {
	langs map[string]*Lang
}

// zone is where dates are shown: Asia/Ho_Chi_Minh, or a fixed UTC+07:00
// when the system has no time zone database (Vietnam keeps no daylight
// saving, so the two agree).
var zone = sync.OnceValue(func() *time.Location {
	if l, err := time.LoadLocation("Asia/Ho_Chi_Minh"); err == nil {
		return l
	}
	return time.FixedZone("ICT", 7*3600)
})

func loadCatalogs() (*catalogs, error) {
	c := &catalogs{langs: map[string]*Lang{}}
	for _, code := range languages {
		b, err := catalogFS.ReadFile("i18n/" + code + ".json")
		if err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", code, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", code, err)
		}
		c.langs[code] = &Lang{Code: code, msgs: m}
	}
	return c, nil
}

func (c *catalogs) has(code string) bool { _, ok := c.langs[code]; return ok }

func (c *catalogs) get(code string) *Lang {
	if l, ok := c.langs[code]; ok {
		return l
	}
	return c.langs[defaultLang]
}

// keys lists a catalog's keys, sorted.
func (c *catalogs) keys(code string) []string {
	var out []string
	for k := range c.langs[code].msgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Lang is one language's messages and formats. Templates call its methods.
type Lang struct {
	Code string
	msgs map[string]string
}

// T returns the message for key, formatted with args (fmt verbs) when
// given. A missing key shows as the key itself (a test forbids it).
func (l *Lang) T(key string, args ...any) string {
	m, ok := l.msgs[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(m, args...)
	}
	return m
}

// Has reports whether the catalog has key.
func (l *Lang) Has(key string) bool { _, ok := l.msgs[key]; return ok }

// Sev, State, Kind and friends name an enumerated value: "sev.critical".
func (l *Lang) Sev(v any) string       { return l.T("sev." + fmt.Sprint(v)) }
func (l *Lang) State(v any) string     { return l.T("state." + fmt.Sprint(v)) }
func (l *Lang) OrgKind(v any) string   { return l.T("orgkind." + fmt.Sprint(v)) }
func (l *Lang) AssetKind(v any) string { return l.T("assetkind." + fmt.Sprint(v)) }
func (l *Lang) Crit(v any) string      { return l.T("crit." + fmt.Sprint(v)) }
func (l *Lang) Role(v any) string      { return l.T("role." + fmt.Sprint(v)) }
func (l *Lang) JobState(v any) string  { return l.T("job." + fmt.Sprint(v)) }
func (l *Lang) Action(v any) string    { return l.T("action." + fmt.Sprint(v)) }

// OrgName is an organization's name in this language (falling back to the
// other).
func (l *Lang) OrgName(o org.Organization) string { return l.Name(o.Name, o.NameEN) }

// Name picks the Vietnamese or English of a pair.
func (l *Lang) Name(vi, en string) string {
	if l.Code == "en" && en != "" || vi == "" {
		return en
	}
	return vi
}

// Text is a catalog text (a finding kind's, a framework's) in this
// language.
func (l *Lang) Text(t catalog.Text) string { return t.In(l.Code) }

// Date formats t as a date in Asia/Ho_Chi_Minh.
func (l *Lang) Date(t any) string { return l.format(t, "02/01/2006", "2006-01-02") }

// DateTime formats t as date and time in Asia/Ho_Chi_Minh.
func (l *Lang) DateTime(t any) string {
	return l.format(t, "15:04 02/01/2006", "2006-01-02 15:04")
}

func (l *Lang) format(v any, vi, en string) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x == nil {
			return "—"
		}
		t = *x
	default:
		return ""
	}
	if t.IsZero() {
		return "—"
	}
	if l.Code == "en" {
		return t.In(zone()).Format(en)
	}
	return t.In(zone()).Format(vi)
}

// Num formats an integer with the language's thousands separator.
func (l *Lang) Num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	sep := ","
	if l.Code == "vi" {
		sep = "."
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
