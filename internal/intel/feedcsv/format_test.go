package feedcsv

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPresets(t *testing.T) {
	want := []string{"blocklistde", "feodotracker", "openphish", "plain-domain", "plain-ip", "plain-url",
		"spamhaus-asndrop", "spamhaus-drop", "urlhaus"}
	if got := Presets(); !slices.Equal(got, want) {
		t.Fatalf("Presets() = %v", got)
	}
	for _, n := range want {
		f, err := Preset(n)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != n || f.Description == "" {
			t.Errorf("preset %s: name %q, description %q", n, f.Name, f.Description)
		}
	}
	for _, n := range []string{"nope", "", "../presets/urlhaus", "urlhaus.json"} {
		if _, err := Preset(n); err == nil || !strings.HasPrefix(err.Error(), "feedcsv:") {
			t.Errorf("Preset(%q): %v", n, err)
		}
	}
}

func TestParseFormatStrict(t *testing.T) {
	good := `{"delimiter": ",", "header": "line", "value": ["ip", "dst_ip"], "kind": "ip", "first_seen": {"column": 2}}`
	f, err := ParseFormat([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Value.Names, []string{"ip", "dst_ip"}) || f.FirstSeen.Column.Index != 2 {
		t.Fatalf("%+v", f)
	}
	bad := map[string]string{
		"unknown field":      `{"kind": "ip", "colour": "red"}`,
		"unknown nested":     `{"kind": "ip", "first_seen": {"column": 1, "zone": "x"}}`,
		"kind":               `{"kind": "ipv5"}`,
		"no kind":            `{}`,
		"delimiter":          `{"kind": "ip", "delimiter": "ab"}`,
		"quote delimiter":    `{"kind": "ip", "delimiter": "\""}`,
		"header":             `{"kind": "ip", "header": "top"}`,
		"names, no header":   `{"kind": "ip", "delimiter": ",", "value": "ip"}`,
		"plain list column":  `{"kind": "ip", "value": 2}`,
		"category":           `{"kind": "ip", "category": "evil"}`,
		"category map":       `{"kind": "ip", "delimiter": ",", "category_column": 1, "category_map": {"x": "evil"}}`,
		"map without column": `{"kind": "ip", "category_map": {"x": "c2"}}`,
		"tlp":                `{"kind": "ip", "tlp": "purple"}`,
		"confidence":         `{"kind": "ip", "confidence": 101}`,
		"negative index":     `{"kind": "ip", "delimiter": ",", "value": -1}`,
		"fraction index":     `{"kind": "ip", "delimiter": ",", "value": 1.5}`,
		"empty name":         `{"kind": "ip", "delimiter": ",", "header": "line", "value": ""}`,
		"layout":             `{"kind": "ip", "delimiter": ",", "first_seen": {"column": 1, "layout": "yyyy-mm-dd"}}`,
		"detail key":         `{"kind": "ip", "delimiter": ",", "detail": [{"column": 1}]}`,
		"detail twice":       `{"kind": "ip", "delimiter": ",", "detail": [{"column": 1, "key": "a"}, {"column": 2, "key": "A"}]}`,
		"trailing":           `{"kind": "ip", "trailing": {"separator": "", "keys": ["a"]}}`,
		"comment header":     `{"kind": "ip", "header": "comment"}`,
		"max line":           `{"kind": "ip", "max_line": 10}`,
		"two objects":        `{"kind": "ip"} {"kind": "ip"}`,
	}
	for name, in := range bad {
		if _, err := ParseFormat([]byte(in)); err == nil || !strings.HasPrefix(err.Error(), "feedcsv:") {
			t.Errorf("%s: %s accepted (%v)", name, in, err)
		}
	}
}

func TestColumnJSONRoundTrip(t *testing.T) {
	for _, c := range []Column{Col(0), Col(7), Named("url"), Named("dateadded", "Dateadded (UTC)")} {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Column
		if err := json.Unmarshal(b, &back); err != nil || back.Index != c.Index || !slices.Equal(back.Names, c.Names) {
			t.Errorf("%v → %s → %v (%v)", c, b, back, err)
		}
	}
}

func TestFormatFromYAML(t *testing.T) {
	in := `
name: partner
delimiter: ";"
comments: ["#"]
header: line
value: [indicator, value]
kind: auto
category: c2
tlp: amber
confidence: 75
first_seen: {column: 2, layout: "2006-01-02"}
labels:
  - {column: family, prefix: malware}
detail:
  - {column: port}
`
	dec := yaml.NewDecoder(strings.NewReader(in))
	dec.KnownFields(true)
	var f Format
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Value.Names, []string{"indicator", "value"}) || f.FirstSeen.Column.Index != 2 || *f.Confidence != 75 ||
		f.Labels[0].Column.Names[0] != "family" {
		t.Fatalf("%+v", f)
	}
	recs := collect(t, f, "value;family;seen;port\nevil.example;Emotet;2026-12-01;8080\n")
	if len(recs) != 1 || recs[0].Labels[0] != "malware:emotet" || recs[0].Detail["port"] != "8080" || recs[0].FirstSeen.Day() != 1 {
		t.Fatalf("%+v", recs)
	}
	dec = yaml.NewDecoder(strings.NewReader("kind: ip\ncolour: red\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err == nil {
		t.Fatal("unknown YAML field accepted")
	}
}

func TestSplitFields(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  error
	}{
		{`a,b,,c`, []string{"a", "b", "", "c"}, nil},
		{`"a,1","b""q",""`, []string{"a,1", `b"q`, ""}, nil},
		{`"x" ,  "y"  `, []string{"x", "y"}, nil},
		{`"Basic realm=\"\"OpenWebif\"\"",next`, []string{`Basic realm=""OpenWebif""`, "next"}, nil},
		{`"C:\dir\",z`, []string{`C:\dir\`, "z"}, nil},
		{`"a"b",c`, []string{`a"b`, "c"}, nil},
		{`x"y,z`, []string{`x"y`, "z"}, nil},
		{`"open,still`, nil, ErrOpenQuote},
		{``, []string{""}, nil},
		{`a,`, []string{"a", ""}, nil},
	}
	for _, c := range cases {
		got, err := SplitFields(nil, c.in, ',')
		if err != c.err || (err == nil && !slices.Equal(got, c.want)) {
			t.Errorf("SplitFields(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if got := splitBlanks(nil, " a\t b  c "); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("splitBlanks %q", got)
	}
}
