package catalog

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/rampart-cert/rampart/internal/finding"
)

func kind(id string) Kind {
	fam, _, _ := strings.Cut(id, ".")
	return Kind{ID: id, Family: fam, Source: finding.SourceIntel, Severity: finding.High,
		Title:       Text{EN: "title " + id, VI: "tiêu đề " + id},
		Remediation: Text{EN: "fix", VI: "sửa"}}
}

func TestTextIn(t *testing.T) {
	for _, tc := range []struct {
		t          Text
		lang, want string
	}{
		{Text{EN: "a", VI: "b"}, "en", "a"},
		{Text{EN: "a", VI: "b"}, "vi", "b"},
		{Text{EN: "a", VI: "b"}, "fr", "b"},
		{Text{EN: "a"}, "vi", "a"},
		{Text{VI: "b"}, "en", "b"},
	} {
		if got := tc.t.In(tc.lang); got != tc.want {
			t.Errorf("%+v.In(%q) = %q, want %q", tc.t, tc.lang, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct {
		mod func(*Kind)
		ok  bool
	}{
		"valid":          {func(*Kind) {}, true},
		"prefix":         {func(k *Kind) { k.ID = "intel." }, true},
		"nested prefix":  {func(k *Kind) { k.ID = "import.nuclei." }, true},
		"no family dot":  {func(k *Kind) { k.ID = "intel" }, false},
		"upper case":     {func(k *Kind) { k.ID = "intel.Listed" }, false},
		"double dot":     {func(k *Kind) { k.ID = "import..x." }, false},
		"empty family":   {func(k *Kind) { k.Family = "" }, false},
		"bad severity":   {func(k *Kind) { k.Severity = "urgent" }, false},
		"bad source":     {func(k *Kind) { k.Source = "rumour" }, false},
		"no source":      {func(k *Kind) { k.Source = "" }, false},
		"title no vi":    {func(k *Kind) { k.Title.VI = "" }, false},
		"title no en":    {func(k *Kind) { k.Title.EN = "" }, false},
		"remedy no vi":   {func(k *Kind) { k.Remediation.VI = "" }, false},
		"no description": {func(k *Kind) { k.Description = Text{} }, true},
	} {
		k := kind("intel.blocklisted")
		tc.mod(&k)
		err := k.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidKind) {
			t.Errorf("%s: %v is not ErrInvalidKind", name, err)
		}
	}
}

func TestRegister(t *testing.T) {
	c := New()
	if err := c.Register(kind("intel.blocklisted")); err != nil {
		t.Fatal(err)
	}
	if err := c.Register(kind("intel.blocklisted")); !errors.Is(err, ErrDuplicateID) {
		t.Fatalf("second Register = %v, want ErrDuplicateID", err)
	}
	bad := kind("intel.x")
	bad.Title.VI = ""
	if err := c.Register(bad); !errors.Is(err, ErrInvalidKind) {
		t.Fatalf("Register(invalid) = %v, want ErrInvalidKind", err)
	}
	if _, ok := c.Get("intel.x"); ok {
		t.Fatal("an invalid kind was kept")
	}
	k, ok := c.Get("intel.blocklisted")
	if !ok || k.Title.EN != "title intel.blocklisted" {
		t.Fatalf("Get = %+v, %v", k, ok)
	}
}

func TestRegisterCopiesReferences(t *testing.T) {
	c := New()
	k := kind("intel.a")
	k.References = []string{"one"}
	if err := c.Register(k); err != nil {
		t.Fatal(err)
	}
	k.References[0] = "changed"
	if got, _ := c.Get("intel.a"); got.References[0] != "one" {
		t.Fatalf("the caller's slice changed the catalog: %v", got.References)
	}
}

func TestLookup(t *testing.T) {
	c := New()
	for _, id := range []string{"import.", "import.nuclei.", "import.nmap.open-port", "intel.blocklisted", "tls.cert-expired"} {
		if err := c.Register(kind(id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ id, want string }{
		{"intel.blocklisted", "intel.blocklisted"},              // exact
		{"import.nuclei.cve-2021-41773", "import.nuclei."},      // tool family
		{"import.nuclei.a.b.c", "import.nuclei."},               // deeper
		{"import.nuclei.", "import.nuclei."},                    // the prefix itself
		{"import.nmap.open-port", "import.nmap.open-port"},      // exact beats prefix
		{"import.nmap.http-title", "import."},                   // no tool family: any tool
		{"import.sarif.", "import."},                            // a prefix falls back to a shorter one
		{"import.nucleix.y", "import."},                         // prefixes match at dots only
		{"tls.cert-expired.extra", ""},                          // an exact kind is no prefix
		{"intel.exposed-service", ""},                           // no intel. family here
		{"", ""}, {".", ""}, {"import", ""}, {"zzz.a.b.c.", ""}, // odd input
	} {
		k, ok := c.Lookup(tc.id)
		if ok != (tc.want != "") || k.ID != tc.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tc.id, k.ID, ok, tc.want)
		}
	}
	if got := c.Title("import.nuclei.x", "vi"); got != "tiêu đề import.nuclei." {
		t.Errorf("Title = %q", got)
	}
	if k, ok := c.Describe("import.nuclei.cve-2021-41773", "Apache 2.4.49 path traversal"); !ok || k.ID != "import.nuclei." ||
		k.Title.In("vi") != "Apache 2.4.49 path traversal" || k.Remediation.VI != "sửa" {
		t.Errorf("Describe(prefix) = %+v, %v", k, ok)
	}
	if k, ok := c.Describe("intel.blocklisted", "1.2.3.4 on a list"); !ok || k.Title.EN != "title intel.blocklisted" {
		t.Errorf("Describe(exact) = %+v, %v: an exact kind keeps its own title", k, ok)
	}
	if k, ok := c.Describe("import.nuclei.x", ""); !ok || k.Title.EN != "title import.nuclei." {
		t.Errorf("Describe(prefix, no title) = %+v, %v", k, ok)
	}
	var nilCat *Catalog
	if got := nilCat.Title("x.y", "en"); got != "" {
		t.Errorf("nil Title = %q", got)
	}
	if _, ok := nilCat.Describe("x.y", "t"); ok || nilCat.All() != nil || nilCat.HasFamily("x") {
		t.Error("a nil catalog is not empty")
	}
}

func TestAllAndFamilies(t *testing.T) {
	c := New()
	for _, id := range []string{"tls.b", "intel.", "tls.a", "import.nuclei."} {
		if err := c.Register(kind(id)); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for _, k := range c.All() {
		ids = append(ids, k.ID)
	}
	if got, want := strings.Join(ids, " "), "import.nuclei. intel. tls.a tls.b"; got != want {
		t.Errorf("All = %s, want %s", got, want)
	}
	if got, want := strings.Join(c.Families(), " "), "import intel tls"; got != want {
		t.Errorf("Families = %s, want %s", got, want)
	}
	if !c.HasFamily("tls") || c.HasFamily("mail") {
		t.Error("HasFamily is wrong")
	}
}

func TestConcurrent(t *testing.T) {
	c := New()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				id := fmt.Sprintf("intel.k%d-%d", i, j)
				if err := c.Register(kind(id)); err != nil {
					t.Error(err)
				}
				c.Lookup(id + ".sub")
				c.All()
			}
		})
	}
	wg.Wait()
	if n := len(c.All()); n != 400 {
		t.Fatalf("%d kinds, want 400", n)
	}
}

// TestBuiltin: every built-in kind validates, has every text in both
// languages, a source other than scan, and a family that is its ID's first
// segment; the kinds the other sources need are there.
func TestBuiltin(t *testing.T) {
	c := Builtin()
	ks := c.All()
	if len(ks) != len(SourceKinds()) {
		t.Fatalf("Builtin holds %d kinds, SourceKinds %d", len(ks), len(SourceKinds()))
	}
	for _, k := range ks {
		if err := k.Validate(); err != nil {
			t.Error(err)
		}
		for name, tx := range map[string]Text{"title": k.Title, "description": k.Description, "remediation": k.Remediation} {
			if strings.TrimSpace(tx.EN) == "" || strings.TrimSpace(tx.VI) == "" || tx.EN == tx.VI {
				t.Errorf("%s: %s needs distinct en and vi: %+v", k.ID, name, tx)
			}
		}
		if k.Source == finding.SourceScan {
			t.Errorf("%s: built-in source kinds are not scan kinds", k.ID)
		}
		if fam, _, _ := strings.Cut(k.ID, "."); fam != k.Family {
			t.Errorf("%s: family %q, want %q", k.ID, k.Family, fam)
		}
		if strings.HasPrefix(k.ID, "dns.") {
			t.Errorf("%s: dns.* belongs to the DNS checks; protective DNS is pdns.*", k.ID)
		}
	}
	for _, tc := range []struct {
		id, want string
		src      finding.Source
	}{
		{"import.sarif.semgrep.go.lang.security.x", "import.sarif.", finding.SourceImport},
		{"import.nuclei.cve-2021-41773", "import.nuclei.", finding.SourceImport},
		{"import.nmap.ssl-enum-ciphers", "import.nmap.", finding.SourceImport},
		{"import.nmap.open-port", "import.nmap.open-port", finding.SourceImport},
		{"import.zap.40012", "import.", finding.SourceImport},
		{"intel.compromised-host", "intel.compromised-host", finding.SourceIntel},
		{"intel.malicious-content", "intel.malicious-content", finding.SourceIntel},
		{"intel.exposed-service", "intel.exposed-service", finding.SourceIntel},
		{"intel.blocklisted", "intel.blocklisted", finding.SourceIntel},
		{"intel.leaked-credentials", "intel.leaked-credentials", finding.SourceIntel},
		{"intel.minted-at-run-time", "intel.", finding.SourceIntel},
		{"sensor.attack-seen", "sensor.attack-seen", finding.SourceSensor},
		{"sensor.port-scan", "sensor.port-scan", finding.SourceSensor},
		{"sensor.indicator-hit", "sensor.indicator-hit", finding.SourceSensor},
		{"sensor.minted-at-run-time", "sensor.", finding.SourceSensor},
		{"pdns.blocked-query", "pdns.blocked-query", finding.SourceDNS},
		{"discovery.unregistered-asset", "discovery.unregistered-asset", finding.SourceDiscovery},
		{"monitor.website-down", "monitor.website-down", finding.SourceMonitor},
		{"monitor.cert-expiring", "monitor.cert-expiring", finding.SourceMonitor},
		{"manual.finding", "manual.finding", finding.SourceManual},
		{"manual.pentest-2026", "manual.", finding.SourceManual},
	} {
		k, ok := c.Lookup(tc.id)
		if !ok || k.ID != tc.want || k.Source != tc.src {
			t.Errorf("Lookup(%q) = %q %q, %v; want %q %q", tc.id, k.ID, k.Source, ok, tc.want, tc.src)
		}
	}
	if k := SourceKinds(); k[0].Title.EN == "" {
		t.Fatal("empty")
	} else {
		k[0].Title.EN = "changed"
		if SourceKinds()[0].Title.EN == "changed" {
			t.Error("SourceKinds shares state between calls")
		}
	}
}

// Every source but scan has at least one kind, so no source's findings
// lack texts.
func TestBuiltinCoversSources(t *testing.T) {
	have := map[finding.Source]bool{}
	for _, k := range SourceKinds() {
		have[k.Source] = true
	}
	for _, s := range finding.Sources {
		if s != finding.SourceScan && !have[s] {
			t.Errorf("source %s has no built-in kind", s)
		}
	}
}
