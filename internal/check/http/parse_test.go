package http_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	rhttp "github.com/rampart-cert/rampart/internal/check/http"
)

func TestParseServerHeader(t *testing.T) {
	tests := []struct {
		name, v string
		want    []rhttp.Product
	}{
		{"", "Apache/2.4.49 (Unix)", []rhttp.Product{{"Apache", "2.4.49"}}},
		{"", "Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f PHP/7.4.3", []rhttp.Product{{"Apache", "2.4.41"}, {"OpenSSL", "1.1.1f"}, {"PHP", "7.4.3"}}},
		{"", "nginx/1.18.0", []rhttp.Product{{"nginx", "1.18.0"}}},
		{"", "Microsoft-IIS/10.0", []rhttp.Product{{"Microsoft-IIS", "10.0"}}},
		{"", "PHP/7.4.3", []rhttp.Product{{"PHP", "7.4.3"}}},
		{"", "Drupal 7 (http://drupal.org)", []rhttp.Product{{"Drupal", "7"}}},
		{"", "Apache/2.2.15 (CentOS) (Red Hat 5) mod_ssl/2.2.15", []rhttp.Product{{"Apache", "2.2.15"}, {"mod_ssl", "2.2.15"}}},
		{"ASP.NET", "4.0.30319", []rhttp.Product{{"ASP.NET", "4.0.30319"}}},
		{"", "nginx", nil},
		{"", "Apache", nil},
		{"", "Express", nil},
		{"", "ASP.NET", nil},
		{"", "cloudflare", nil},
		{"", "Apache/2 (Unix)", []rhttp.Product{{"Apache", "2"}}},
		{"", "gws", nil},
		{"", "Server/abc", nil},
	}
	for _, tt := range tests {
		if got := rhttp.ParseServerHeader(tt.name, tt.v); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseServerHeader(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestHSTSMaxAge(t *testing.T) {
	tests := []struct {
		v    string
		age  int64
		okay bool
	}{
		{"max-age=31536000; includeSubDomains", 31536000, true},
		{`max-age="600"`, 600, true},
		{"includeSubDomains; MAX-AGE = 15552000", 15552000, true},
		{"max-age=abc", 0, false},
		{"includeSubDomains", 0, false},
		{"max-age=-1", 0, false},
	}
	for _, tt := range tests {
		age, ok := rhttp.HSTSMaxAge(tt.v)
		if age != tt.age || ok != tt.okay {
			t.Errorf("HSTSMaxAge(%q) = %d, %t", tt.v, age, ok)
		}
	}
}

func TestParseEnv(t *testing.T) {
	vars, ok := rhttp.ParseEnv([]byte("# app\nAPP_KEY=base64:xyz\nexport DB_PASSWORD='p'\nDB_HOST=localhost\nEMPTY_SECRET=\n"))
	if !ok || len(vars) != 4 {
		t.Fatalf("ParseEnv = %v, %t", vars, ok)
	}
	want := []bool{true, true, false, false}
	for i, v := range vars {
		if v.Secret != want[i] {
			t.Errorf("%s secret = %t", v.Key, v.Secret)
		}
	}
	for _, bad := range []string{
		"<html><body>APP_KEY=1\nDB_PASSWORD=2</body></html>",
		"just one=line",
		"Welcome to our site\nPlease log in\nA=1\n",
		"",
	} {
		if _, ok := rhttp.ParseEnv([]byte(bad)); ok {
			t.Errorf("ParseEnv(%q) accepted", bad)
		}
	}
}

func TestBackupKind(t *testing.T) {
	tar := make([]byte, 512)
	copy(tar[257:], "ustar")
	tests := []struct {
		body, want string
	}{
		{"PK\x03\x04rest", "zip"},
		{"\x1f\x8b\x08\x00", "gzip"},
		{"7z\xbc\xaf\x27\x1c..", "7z"},
		{"Rar!\x1a\x07\x00", "rar"},
		{string(tar), "tar"},
		{"-- MySQL dump 10.13\n-- Host: x\nCREATE TABLE a (id int);", "sql"},
		{"\xef\xbb\xbf-- phpMyAdmin SQL Dump\n", "sql"},
		{"SET SQL_MODE = \"NO_AUTO_VALUE_ON_ZERO\";\n", "sql"},
		{"<!doctype html><html><body>-- MySQL dump</body></html>", ""},
		{"Not found", ""},
		{"-- just a comment", ""},
		{"BZh", ""},
	}
	for _, tt := range tests {
		if got := rhttp.BackupKind([]byte(tt.body)); got != tt.want {
			t.Errorf("BackupKind(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestDirectoryListing(t *testing.T) {
	tests := []struct {
		body, want string
	}{
		{`<html><head><title>Index of /files/</title></head><body><h1>Index of /files/</h1><hr><pre><a href="../">../</a>
<a href="a.pdf">a.pdf</a>  01-Jan-2026 10:00  1234</pre><hr></body></html>`, "nginx"},
		{`<html><head><title>Index of /img</title></head><body><h1>Index of /img</h1><ul><li><a href="/"> Parent Directory</a></li></ul></body></html>`, "apache"},
		{`<html><head><title>portal.gov.vn - /images/</title></head><body><H1>portal.gov.vn - /images/</H1><hr><pre><A HREF="/">[To Parent Directory]</A><br><br> 6/19/2026  2:31 PM        &lt;dir&gt; <A HREF="/images/a/">a</A></pre></body></html>`, "iis"},
		{`<!DOCTYPE HTML><html><head><title>Directory listing for /</title></head><body><h1>Directory listing for /</h1><ul><li><a href="x">x</a></li></ul></body></html>`, "python"},
		{`<html><head><title>Index of all our news</title></head><body>news</body></html>`, ""},
		{`<html><head><title>Index of /</title></head><body><p>Our site map</p></body></html>`, ""},
	}
	for _, tt := range tests {
		got, ok := rhttp.DirectoryListing([]byte(tt.body))
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("DirectoryListing(%.40q) = %q, %t; want %q", tt.body, got, ok, tt.want)
		}
	}
}

func TestBackupNames(t *testing.T) {
	names := strings.Join(rhttp.BackupNames("portal.sonv.gov.vn"), " ")
	for _, want := range []string{"portal.sonv.gov.vn.zip", "portal.zip", "backup.zip", "database.sql.gz"} {
		if !strings.Contains(names, want) {
			t.Errorf("BackupNames lacks %s", want)
		}
	}
	if strings.Contains(strings.Join(rhttp.BackupNames("127.0.0.1"), " "), "127.zip") {
		t.Error("BackupNames builds names from an IP address")
	}
}

func FuzzDirectoryListing(f *testing.F) {
	f.Add([]byte(`<title>Index of /x</title><h1>Index of /x</h1><a href="../">../</a>`))
	f.Add([]byte(`<pre><A HREF="/">[To Parent Directory]</A>`))
	f.Add([]byte(`<title>a - /b/</title><pre>&lt;dir&gt;`))
	f.Add([]byte(`<title>Directory listing for /</title>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		server, ok := rhttp.DirectoryListing(body)
		if ok != (server != "") {
			t.Fatalf("ok=%t server=%q", ok, server)
		}
	})
}

func FuzzParseEnv(f *testing.F) {
	f.Add([]byte("APP_KEY=x\nDB_PASSWORD=y\n"))
	f.Add([]byte("# c\nexport A=\"1\"\nB='2'\n\n"))
	f.Add([]byte("<html>A=1\nB=2"))
	f.Add([]byte("A=1\r\nB=2\r\n" + strings.Repeat("x", 70000)))
	f.Fuzz(func(t *testing.T, body []byte) {
		vars, ok := rhttp.ParseEnv(body)
		if ok && len(vars) < 2 {
			t.Fatalf("ok with %d vars", len(vars))
		}
		for _, v := range vars {
			if v.Key == "" || strings.ContainsAny(v.Key, "= \n") {
				t.Fatalf("bad key %q", v.Key)
			}
		}
		rhttp.BackupKind(body)
		rhttp.IsGitConfig(body)
		rhttp.IsGitHead(body)
	})
}

func FuzzServerHeaderVersion(f *testing.F) {
	for _, s := range []string{"Apache/2.4.49 (Unix)", "Apache/2.4.41 (Ubuntu) OpenSSL/1.1.1f PHP/7.4.3", "Drupal 7 (http://drupal.org)", "((((", "a/1 (b/2 (c/3)) d/4", "4.0.30319"} {
		f.Add("", s)
	}
	f.Add("ASP.NET", "4.0.30319")
	f.Fuzz(func(t *testing.T, name, v string) {
		ps := rhttp.ParseServerHeader(name, v)
		if len(ps) > 16 {
			t.Fatalf("%d products", len(ps))
		}
		for _, p := range ps {
			if p.Name == "" || p.Version == "" || p.Version[0] < '0' || p.Version[0] > '9' {
				t.Fatalf("bad product %+v from %q", p, v)
			}
			if utf8.ValidString(v) && !strings.Contains(v, p.Version) {
				t.Fatalf("version %q not in %q", p.Version, v)
			}
		}
		rhttp.HSTSMaxAge(v)
	})
}
