package jslib

import (
	"slices"
	"testing"
)

func TestFromURL(t *testing.T) {
	cases := []struct {
		url, lib, version, from string
	}{
		{"https://code.jquery.com/jquery-3.4.1.min.js", "jQuery", "3.4.1", FromPath},
		{"https://cdnjs.cloudflare.com/ajax/libs/jquery/1.12.4/jquery.min.js", "jQuery", "1.12.4", FromPath},
		{"https://cdn.jsdelivr.net/npm/jquery@3.5.1/dist/jquery.min.js", "jQuery", "3.5.1", FromPath},
		{"/wp-includes/js/jquery/jquery.min.js?ver=3.7.1", "jQuery", "3.7.1", FromQuery},
		{"/static/js/jquery.js", "jQuery", "", ""},
		{"https://ajax.googleapis.com/ajax/libs/jqueryui/1.12.1/jquery-ui.min.js", "jQuery UI", "1.12.1", FromPath},
		{"/js/jquery-ui-1.10.4.custom.min.js", "jQuery UI", "1.10.4", FromPath},
		{"https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js", "Bootstrap", "4.3.1", FromPath},
		{"https://cdn.jsdelivr.net/npm/bootstrap@5.3.2/dist/js/bootstrap.bundle.min.js", "Bootstrap", "5.3.2", FromPath},
		{"https://ajax.googleapis.com/ajax/libs/angularjs/1.7.9/angular.min.js", "AngularJS", "", ""},
		{"https://cdnjs.cloudflare.com/ajax/libs/angular.js/1.7.9/angular.min.js", "AngularJS", "1.7.9", FromPath},
		{"/assets/lodash-4.17.15.min.js", "Lodash", "4.17.15", FromPath},
		{"https://cdnjs.cloudflare.com/ajax/libs/moment.js/2.24.0/moment.min.js", "Moment.js", "2.24.0", FromPath},
		{"/js/handlebars-v4.0.11.js", "Handlebars", "4.0.11", FromPath},
	}
	for _, c := range cases {
		f, ok := FromURL(c.url)
		if !ok || f.Library.Name != c.lib || f.Version != c.version || f.From != c.from {
			name := ""
			if f.Library != nil {
				name = f.Library.Name
			}
			t.Errorf("FromURL(%s) = %s %q %q %v, want %s %q %q", c.url, name, f.Version, f.From, ok, c.lib, c.version, c.from)
		}
	}
	for _, u := range []string{"/js/jquery-migrate.min.js", "/js/app.js", "/js/myjquery-1.2.3.js", "/vendor/jquery.validate.min.js", "::bad"} {
		if f, ok := FromURL(u); ok {
			t.Errorf("FromURL(%s) = %s %s, want nothing", u, f.Library.Name, f.Version)
		}
	}
}

func TestBanners(t *testing.T) {
	cases := map[string][2]string{
		"/*! jQuery v3.4.1 | (c) JS Foundation and other contributors | jquery.org/license */":                        {"jQuery", "3.4.1"},
		"/*!\n * jQuery JavaScript Library v1.12.4\n * http://jquery.com/\n":                                          {"jQuery", "1.12.4"},
		"/*! jQuery UI - v1.12.1 - 2016-09-14\n* http://jqueryui.com":                                                 {"jQuery UI", "1.12.1"},
		"/*!\n  * Bootstrap v4.3.1 (https://getbootstrap.com/)\n":                                                     {"Bootstrap", "4.3.1"},
		"/**\n * @license AngularJS v1.7.9\n * (c) 2010-2018 Google, Inc.":                                            {"AngularJS", "1.7.9"},
		";(function() {\n  var undefined;\n  /** Used as the semantic version number. */\n  var VERSION = '4.17.15';": {"Lodash", "4.17.15"},
		"//! moment.js\n//! version : 2.24.0\n//! authors : Tim Wood":                                                 {"Moment.js", "2.24.0"},
		"/**!\n\n @license\n handlebars v4.0.11\n":                                                                    {"Handlebars", "4.0.11"},
	}
	for body, want := range cases {
		f, ok := FromBannerOf(nil, []byte(body))
		if !ok || f.Library.Name != want[0] || f.Version != want[1] {
			t.Errorf("banner %q: got %v %v, want %v", body[:20], f, ok, want)
		}
	}
	if _, ok := FromBannerOf(nil, []byte("function app(){ return 'jQuery is great'; }")); ok {
		t.Error("a script mentioning jQuery has a banner")
	}
}

func TestAffected(t *testing.T) {
	lib := func(name string) *Library {
		for _, l := range Libraries {
			if l.Name == name {
				return l
			}
		}
		t.Fatalf("no library %s", name)
		return nil
	}
	ids := func(vs []Vuln) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.IDs...)
		}
		return out
	}
	jq := lib("jQuery")
	if got := ids(jq.Affected("3.4.1")); !slices.Equal(got, []string{"CVE-2020-11022", "CVE-2020-11023"}) {
		t.Errorf("jQuery 3.4.1: %v", got)
	}
	if got := jq.Affected("3.5.0"); len(got) != 0 {
		t.Errorf("jQuery 3.5.0: %v", got)
	}
	if vs := jq.Affected("1.12.4"); len(vs) != 4 || FixedIn(vs) != "3.5.0" || !slices.ContainsFunc(vs, func(v Vuln) bool { return v.KEV }) {
		t.Errorf("jQuery 1.12.4: %v fixed in %s", ids(vs), FixedIn(vs))
	}
	bs := lib("Bootstrap")
	if vs := bs.Affected("4.1.0"); FixedIn(vs) != "4.3.1" || len(vs) != 2 {
		t.Errorf("Bootstrap 4.1.0: %v fixed in %s", ids(vs), FixedIn(vs))
	}
	if vs := bs.Affected("3.3.7"); FixedIn(vs) != "3.4.1" {
		t.Errorf("Bootstrap 3.3.7: %v fixed in %s", ids(vs), FixedIn(vs))
	}
	if vs := bs.Affected("5.3.2"); len(vs) != 0 {
		t.Errorf("Bootstrap 5.3.2: %v", ids(vs))
	}
	if vs := lib("AngularJS").Affected("1.8.3"); len(vs) == 0 || FixedIn(vs) != "" {
		t.Errorf("AngularJS 1.8.3: %v fixed in %q", ids(vs), FixedIn(vs))
	}
	if got := lib("Lodash").Affected(""); got != nil {
		t.Errorf("no version: %v", got)
	}
}

func TestScripts(t *testing.T) {
	html := `<html><head><script src="/a.js"></script><SCRIPT type="text/javascript" SRC='https://cdn.example/b.js'></SCRIPT>
<script src=/c.js async></script><script>var x = "<script src=/d.js>";</script><script src="/a.js"></script>
<p>Download jquery-1.4.2.js from our archive</p></head></html>`
	got := Scripts([]byte(html), 10)
	want := []string{"/a.js", "https://cdn.example/b.js", "/c.js", "/d.js"}
	if !slices.Equal(got, want) {
		t.Errorf("Scripts = %v, want %v", got, want)
	}
	if got := Scripts([]byte(html), 2); len(got) != 2 {
		t.Errorf("max 2: %v", got)
	}
}

func FuzzDetect(f *testing.F) {
	f.Add("/js/jquery-3.4.1.min.js?ver=1", []byte("/*! jQuery v3.4.1 | x */"))
	f.Add("https://cdn.jsdelivr.net/npm/bootstrap@4.3.1/dist/js/bootstrap.min.js", []byte(`<script src="/x.js"></script>`))
	f.Fuzz(func(t *testing.T, u string, body []byte) {
		if found, ok := FromURL(u); ok && found.Library == nil {
			t.Fatal("found without a library")
		}
		if found, ok := FromBannerOf(nil, body); ok && found.Version == "" {
			t.Fatal("banner without a version")
		}
		for _, s := range Scripts(body, 5) {
			if s == "" {
				t.Fatal("empty script src")
			}
		}
		for _, l := range Libraries {
			l.Affected(string(body[:min(len(body), 16)]))
		}
	})
}
