package svc

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// device is a fake router or camera: it asks for Basic or Digest (our own
// server side of RFC 7616 with MD5 and qop=auth) on path, in realm, and
// lets user/password in to page. Every request that carries credentials
// counts as an attempt. lockAfter > 0 locks the account after that many
// failures, as Hikvision and Dahua firmware do, with a banner.
type device struct {
	realm, server, path, page string
	digest                    bool
	user, password            string
	lockAfter                 int32

	attempts atomic.Int32
	failed   atomic.Int32
	mu       sync.Mutex
	nonces   map[string]bool
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// authorized checks the request's credentials; a Digest nonce is good once.
func (d *device) authorized(r *http.Request) (present, ok bool) {
	a := r.Header.Get("Authorization")
	if a == "" {
		return false, false
	}
	if !d.digest {
		u, p, ok := r.BasicAuth()
		return true, ok && u == d.user && p == d.password
	}
	if !strings.HasPrefix(a, "Digest ") {
		return true, false
	}
	chs := ParseChallenges([]string{a})
	if len(chs) != 1 {
		return true, false
	}
	p := chs[0].Params
	d.mu.Lock()
	fresh := d.nonces[p["nonce"]]
	delete(d.nonces, p["nonce"])
	d.mu.Unlock()
	if !fresh || p["uri"] != r.URL.RequestURI() || p["realm"] != d.realm || p["qop"] != "auth" || p["username"] != d.user {
		return true, false
	}
	ha1 := md5hex(d.user + ":" + d.realm + ":" + d.password)
	ha2 := md5hex(r.Method + ":" + p["uri"])
	want := md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	return true, p["response"] == want
}

func (d *device) serve(t *testing.T) netip.AddrPort {
	d.nonces = map[string]bool{}
	return serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if d.server != "" {
			w.Header().Set("Server", d.server)
		}
		if r.URL.RequestURI() != d.path {
			http.NotFound(w, r)
			return
		}
		present, ok := d.authorized(r)
		if present {
			d.attempts.Add(1)
		}
		if ok && (d.lockAfter == 0 || d.failed.Load() < d.lockAfter) {
			w.Write([]byte(d.page))
			return
		}
		if present {
			d.failed.Add(1)
		}
		if d.digest {
			b := make([]byte, 16)
			rand.Read(b)
			nonce := hex.EncodeToString(b)
			d.mu.Lock()
			d.nonces[nonce] = true
			d.mu.Unlock()
			w.Header().Add("WWW-Authenticate", `Digest qop="auth", realm="`+d.realm+`", nonce="`+nonce+`", opaque="5ccc069c403ebaf9f0171e9517f40e41", algorithm=MD5, stale="FALSE"`)
			w.Header().Add("WWW-Authenticate", `Basic realm="`+d.realm+`"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+d.realm+`"`)
		}
		w.WriteHeader(http.StatusUnauthorized)
		if d.lockAfter > 0 && d.failed.Load() >= d.lockAfter {
			w.Write([]byte(`<?xml version="1.0"?><userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString><lockStatus>lock</lockStatus><unlockTime>1800</unlockTime></userCheck>`))
			return
		}
		w.Write([]byte("401 Unauthorized"))
	})
}

const (
	hikPage   = `<?xml version="1.0" encoding="UTF-8"?><userCheck><statusValue>200</statusValue><statusString>OK</statusString></userCheck>`
	dahuaPage = "serialNumber=4K03A9APAZ12345\r\ndeviceType=IPC-HDW1230S\r\nprocessor=S2L\r\n"
	axisPage  = "root.Brand.Brand=AXIS\nroot.Brand.ProdFullName=AXIS M3045-V Network Camera\n"
	router    = "<html><head><title>Router</title></head><frameset><frame src=\"/userRpm/MenuRpm.htm\"></frameset></html>"
)

// weakDevices are fakes of each family that keep a factory default.
func weakDevices() map[string]*device {
	return map[string]*device{
		"tplink-router:admin":      {realm: "TP-LINK Wireless N Router WR841N", path: "/", page: router, user: "admin", password: "admin"},
		"dlink-router:admin":       {realm: "DIR-615", path: "/", page: router, user: "admin", password: ""},
		"netgear-router:admin":     {realm: "NETGEAR R7000", path: "/", page: router, user: "admin", password: "password"},
		"hikvision-camera:admin":   {realm: "DS-2CD2032-I", server: "App-webs/", path: "/ISAPI/Security/userCheck", page: hikPage, digest: true, user: "admin", password: "12345"},
		"dahua-camera:888888":      {realm: "Login to 4K03A9APAZ12345", path: "/cgi-bin/magicBox.cgi?action=getSystemInfo", page: dahuaPage, digest: true, user: "888888", password: "888888"},
		"axis-camera:root":         {realm: "AXIS_ACCC8E012345", path: "/axis-cgi/param.cgi?action=list&group=Brand", page: axisPage, digest: true, user: "root", password: "pass"},
		"hikvision-camera:admin#b": {realm: "HIKVISION", path: "/ISAPI/Security/userCheck", page: hikPage, user: "admin", password: "12345"},
	}
}

func TestCredentialsDevicesFire(t *testing.T) {
	for name, d := range weakDevices() {
		t.Run(name, func(t *testing.T) {
			rs := runCreds(t, target(d.serve(t), "http"))
			want, _, _ := strings.Cut(name, "#")
			if len(rs) != 1 || rs[0].Subject != want || rs[0].Evidence.Fields["product"] == "" {
				t.Fatalf("want %s: %+v", want, rs)
			}
			if d.digest && !strings.Contains(rs[0].Evidence.Request, "Digest") {
				t.Errorf("Digest offered, Basic used: %s", rs[0].Evidence.Request)
			}
			if n := d.attempts.Load(); n < 1 || n > maxAttempts {
				t.Fatalf("%d attempts", n)
			}
		})
	}
}

// Hardened devices (the default changed, an account that locks with a
// banner, a site-wide Basic realm of no known family) must not fire, and
// never see more than three attempts.
func TestCredentialsDevicesHardened(t *testing.T) {
	for name, d := range weakDevices() {
		t.Run("changed/"+name, func(t *testing.T) {
			d.password = "Vq8-long-unguessable-9"
			if rs := runCreds(t, target(d.serve(t), "http")); len(rs) != 0 {
				t.Fatalf("fired: %+v", rs)
			}
			if n := d.attempts.Load(); n < 1 || n > maxAttempts {
				t.Fatalf("%d attempts, want 1 to %d", n, maxAttempts)
			}
		})
	}
	t.Run("lockout", func(t *testing.T) {
		// Locks after one failure: even the right default is refused
		// afterwards, and the banner stops us at once.
		d := &device{realm: "Login to 4K03A9APAZ12345", path: "/cgi-bin/magicBox.cgi?action=getSystemInfo", page: dahuaPage, digest: true, user: "888888", password: "888888", lockAfter: 1}
		if rs := runCreds(t, target(d.serve(t), "http")); len(rs) != 0 {
			t.Fatalf("fired: %+v", rs)
		}
		if n := d.attempts.Load(); n != 1 {
			t.Fatalf("%d attempts after a lockout banner, want 1", n)
		}
	})
	t.Run("unknown realm", func(t *testing.T) {
		d := &device{realm: "Restricted area", path: "/", page: router, user: "admin", password: "admin"}
		if rs := runCreds(t, target(d.serve(t), "http")); len(rs) != 0 {
			t.Fatalf("fired: %+v", rs)
		}
		if n := d.attempts.Load(); n != 0 {
			t.Fatalf("%d attempts on a realm of no known family", n)
		}
	})
	t.Run("login page after 200", func(t *testing.T) {
		// A device that answers 200 with its login form again is no login.
		d := &device{realm: "NETGEAR R7000", path: "/", page: `<form><input type="password" name="pw"></form>`, user: "admin", password: "password"}
		if rs := runCreds(t, target(d.serve(t), "http")); len(rs) != 0 {
			t.Fatalf("fired: %+v", rs)
		}
	})
}

// RFC 7616 section 3.9.1 and RFC 2617 section 3.5.
func TestDigestVectors(t *testing.T) {
	ch := Challenge{Scheme: "digest", Params: map[string]string{"realm": "http-auth@example.org", "qop": "auth, auth-int",
		"nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"}}
	for algo, want := range map[string]string{"MD5": "8ca523f5e9506fed4657c9700eebdbec", "SHA-256": "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"} {
		ch.Params["algorithm"] = algo
		a, err := digestAuthorization(ch, "GET", "/dir/index.html", "Mufasa", "Circle of Life", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")
		if err != nil || !strings.Contains(a, `response="`+want+`"`) {
			t.Errorf("%s: %s %v", algo, a, err)
		}
	}
	old := ParseChallenges([]string{`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`})
	a, err := digestAuthorization(old[0], "GET", "/dir/index.html", "Mufasa", "Circle Of Life", "0a4f113b")
	if err != nil || !strings.Contains(a, `response="6629fae49393a05397450978507c4ef1"`) {
		t.Errorf("RFC 2617: %s %v", a, err)
	}
	if _, err := digestAuthorization(Challenge{Scheme: "digest", Params: map[string]string{"nonce": "x", "qop": "auth-int"}}, "GET", "/", "a", "b", ""); err == nil {
		t.Error("auth-int only was answered")
	}
}

func TestParseChallenges(t *testing.T) {
	chs := ParseChallenges([]string{`Negotiate, Digest realm="a, b", nonce="n\"1", qop="auth", Basic realm=x`, `Bearer`})
	if len(chs) != 4 || chs[0].Scheme != "negotiate" || chs[1].Scheme != "digest" || chs[1].Params["realm"] != "a, b" ||
		chs[1].Params["nonce"] != `n"1` || chs[2].Scheme != "basic" || chs[2].Params["realm"] != "x" || chs[3].Scheme != "bearer" {
		t.Fatalf("%+v", chs)
	}
}

func FuzzParseChallenges(f *testing.F) {
	f.Add(`Digest qop="auth", realm="DS-2CD2032-I", nonce="4e5468694e7a42694e7a4d364f4449354d7a6b354d513d3d", stale="FALSE"`)
	f.Add(`Basic realm="TP-LINK Wireless N Router WR841N"`)
	f.Add(`Digest realm="Login to 4K03A9APAZ12345", qop="auth", nonce="1404567283", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	f.Add(`Negotiate, NTLM, Basic realm=x,,=`)
	f.Fuzz(func(t *testing.T, s string) {
		chs := ParseChallenges([]string{s})
		if len(chs) > maxChallenges {
			t.Fatalf("%d challenges", len(chs))
		}
		for _, ch := range chs {
			if ch.Scheme == "digest" {
				_, _ = digestAuthorization(ch, "GET", "/", "admin", "admin", "")
			}
		}
	})
}

// Every family and phpMyAdmin has between one and three shipped defaults.
func TestShippedDeviceCredentials(t *testing.T) {
	services := []string{"phpmyadmin"}
	for _, f := range deviceFamilies {
		services = append(services, f.service)
	}
	for _, s := range services {
		if n := len(credentialsFor(s)); n == 0 || n > maxAttempts {
			t.Errorf("%s: %d entries", s, n)
		}
	}
}
