package svc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// phpMyAdminAt runs Debian's phpMyAdmin (package phpmyadmin, under
// /usr/share/phpmyadmin) in an apache2 of the test's own with mod_php, on
// a random 127.x address and port, against a MariaDB of the test's own
// (mariadbAt) whose root has rootPassword. The alias /phpmyadmin points at
// a directory of symbolic links to /usr/share/phpmyadmin in which only
// index.php (so phpMyAdmin's root is that directory) and
// libraries/vendor_config.php (the file Debian's package keeps for
// exactly this: where the configuration, cache and temporary files are)
// are the test's own, so the config.inc.php the test writes is read
// instead of /etc/phpmyadmin's. That configuration is a cookie login to
// the test's MariaDB over TCP, with AllowNoPassword as XAMPP-style bundles
// set it.
//
// posts counts the login attempts apache2 logged (POST requests).
func phpMyAdminAt(t *testing.T, rootPassword string) (addr netip.AddrPort, posts func() int) {
	t.Helper()
	const pma = "/usr/share/phpmyadmin"
	apache := needBinary(t, "apache2", "apache2")
	if _, err := os.Stat(pma + "/index.php"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("phpMyAdmin not installed: .ci/run installs the phpmyadmin package, and CI must run this fixture")
		}
		t.Skip("phpMyAdmin not installed (apt-get install phpmyadmin libapache2-mod-php php-mysql)")
	}
	phpMod, _ := filepath.Glob("/usr/lib/apache2/modules/libphp*.so")
	if len(phpMod) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mod_php not installed: .ci/run installs libapache2-mod-php")
		}
		t.Skip("mod_php not installed (apt-get install libapache2-mod-php)")
	}
	if os.Geteuid() != 0 {
		t.Skip("the phpMyAdmin fixture runs apache2's children as www-data")
	}
	db := mariadbAt(t, rootPassword)

	dir := t.TempDir()
	// apache2's children (www-data) read the configuration and the links.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	root := filepath.Join(dir, "phpmyadmin")
	for _, d := range []string{root, filepath.Join(root, "libraries"), filepath.Join(dir, "htdocs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(from, to string) {
		entries, err := os.ReadDir(from)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			switch e.Name() {
			case "index.php", "libraries", "vendor_config.php":
				continue
			}
			if err := os.Symlink(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	link(pma, root)
	link(pma+"/libraries", filepath.Join(root, "libraries"))
	index, err := os.ReadFile(pma + "/index.php")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "index.php"), "%s", index)
	vendor, err := os.ReadFile(pma + "/libraries/vendor_config.php")
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "tmp")
	sessions := filepath.Join(dir, "sessions")
	for _, d := range []string{tmp, sessions} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o777)
	}
	config := filepath.Join(dir, "config.inc.php")
	v := strings.NewReplacer("/etc/phpmyadmin/config.inc.php", config, "/var/lib/phpmyadmin/tmp/", tmp+"/").Replace(string(vendor))
	if v == string(vendor) {
		t.Fatal("vendor_config.php: Debian's paths not found")
	}
	writeFile(t, filepath.Join(root, "libraries", "vendor_config.php"), "%s", v)
	secret := make([]byte, 16)
	rand.Read(secret)
	writeFile(t, config, `<?php
$cfg['blowfish_secret'] = '%s';
$i = 1;
$cfg['Servers'][$i]['auth_type'] = 'cookie';
$cfg['Servers'][$i]['host'] = '%s';
$cfg['Servers'][$i]['port'] = '%d';
$cfg['Servers'][$i]['connect_type'] = 'tcp';
$cfg['Servers'][$i]['compress'] = false;
$cfg['Servers'][$i]['AllowNoPassword'] = true;
$cfg['VersionCheck'] = false;
$cfg['TempDir'] = '%s';
`, hex.EncodeToString(secret), db.Addr(), db.Port(), tmp)

	// A random 127.x address of the test's own, and a free port on it.
	var b [3]byte
	rand.Read(b[:])
	host := netip.AddrFrom4([4]byte{127, 10 + b[0]%200, b[1], 1 + b[2]%250})
	addr = netip.AddrPortFrom(host, freePort(t, host.String()))
	access := filepath.Join(dir, "access.log")
	posts = func() int {
		b, _ := os.ReadFile(access)
		return bytes.Count(b, []byte(`"POST `))
	}
	mods := "/usr/lib/apache2/modules"
	writeFile(t, filepath.Join(dir, "apache2.conf"), `ServerRoot %[1]s
DefaultRuntimeDir %[1]s
PidFile %[1]s/apache2.pid
ErrorLog %[1]s/error.log
LogLevel warn
Listen %[2]s
ServerName rampart-test.local
User www-data
Group www-data
LoadModule mpm_prefork_module %[3]s/mod_mpm_prefork.so
LoadModule authz_core_module %[3]s/mod_authz_core.so
LoadModule dir_module %[3]s/mod_dir.so
LoadModule mime_module %[3]s/mod_mime.so
LoadModule alias_module %[3]s/mod_alias.so
CustomLog %[1]s/access.log "%%h \"%%r\" %%>s"
LoadModule php_module %[4]s
StartServers 2
MinSpareServers 1
MaxSpareServers 4
TypesConfig /etc/mime.types
DocumentRoot %[1]s/htdocs
<Directory />
  AllowOverride None
  Require all denied
</Directory>
<Directory %[1]s/htdocs>
  Require all granted
</Directory>
<FilesMatch ".+\.php$">
  SetHandler application/x-httpd-php
</FilesMatch>
Alias /phpmyadmin %[5]s
<Directory %[5]s>
  Options FollowSymLinks
  DirectoryIndex index.php
  Require all granted
  php_admin_value session.save_path %[6]s
  php_admin_value upload_tmp_dir %[7]s
</Directory>
`, dir, addr, mods, phpMod[len(phpMod)-1], root, sessions, tmp)
	cmd := exec.Command(apache, "-f", filepath.Join(dir, "apache2.conf"), "-DFOREGROUND")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache2 exited: %s\n%s", out, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 did not listen on %s: %s", addr, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// phpMyAdmin answers its login page (the first request compiles its
	// templates, so wait for it).
	for time.Now().Before(deadline.Add(15 * time.Second)) {
		resp, err := http.Get("http://" + addr.String() + "/phpmyadmin/")
		if err == nil {
			body := make([]byte, 64<<10)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr, posts
			}
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("phpMyAdmin answered %d: %s\n%s", resp.StatusCode, body[:n], log)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("phpMyAdmin did not answer on %s", addr)
	return addr, posts
}

func TestCredentialsPhpMyAdmin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MariaDB and apache2 with phpMyAdmin")
	}
	weak, posts := phpMyAdminAt(t, "")
	rs := runCreds(t, target(weak, "http"))
	if len(rs) != 1 || rs[0].Subject != "phpmyadmin:root" || rs[0].Evidence.Fields["password"] != loginEmpty ||
		rs[0].Evidence.Fields["path"] != "/phpmyadmin/" {
		t.Fatalf("root without a password: %+v", rs)
	}
	if n := posts(); n != 1 {
		t.Fatalf("%d login attempts, the first should have worked", n)
	}
	strong, posts := phpMyAdminAt(t, "Vq8-long-unguessable-9")
	if rs := runCreds(t, target(strong, "http")); len(rs) != 0 {
		t.Fatalf("root with a strong password fired: %+v", rs)
	}
	// Apache writes its log line after the answer: give it a moment.
	for range 20 {
		if posts() >= maxAttempts {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := posts(); n != maxAttempts {
		t.Fatalf("%d login attempts, want the %d of the shipped list and no more", n, maxAttempts)
	}
}

// The login page of Debian's phpMyAdmin 5.2 (cut down): the form, its
// token and the hidden fields are what ParsePMALogin reads.
const pmaLoginSample = `<!doctype html><html lang="en" dir="ltr"><head><title>phpMyAdmin</title></head><body class="loginform">
<form method="post" id="login_form" action="index.php?route=/" name="login_form" class="disableAjax hide js-show">
<fieldset class="pma-fieldset"><legend>Log in</legend>
<input type="hidden" name="set_session" value="9i3c0q5kq4dbj1v1dlg8l4vm2h">
<input type="text" name="pma_username" id="input_username" value="" size="24" class="textfield" autocomplete="username">
<input type="password" name="pma_password" id="input_password" value="" size="24" class="textfield" autocomplete="current-password">
<input type="hidden" name="server" value="1"></fieldset>
<input class="btn btn-primary" value="Log in" type="submit" id="input_go">
<input type="hidden" name="route" value="/"><input type="hidden" name="token" value="3b2f3c4a5d6e7f80">
</form></body></html>`

func TestParsePMALogin(t *testing.T) {
	f, ok := ParsePMALogin([]byte(pmaLoginSample))
	if !ok || f.Action != "index.php?route=/" || f.Fields.Get("token") != "3b2f3c4a5d6e7f80" || f.Fields.Get("set_session") == "" || f.Fields.Has("input_go") {
		t.Fatalf("%+v %v", f, ok)
	}
	if _, ok := ParsePMALogin([]byte(`<form><input name="user"><input type="password" name="pass"></form>`)); ok {
		t.Fatal("another login form taken for phpMyAdmin's")
	}
	if isPMAHome([]byte(pmaLoginSample)) || !isPMAHome([]byte(`<div id="pma_navigation"></div><a href="index.php?route=/logout" class="logout">`)) {
		t.Fatal("isPMAHome")
	}
	if got := resolve("/phpmyadmin/", "http://elsewhere.example/phpmyadmin/index.php?route=/&server=1"); got != "/phpmyadmin/index.php?route=/&server=1" {
		t.Fatalf("resolve: %s", got)
	}
}

func FuzzParsePMALogin(f *testing.F) {
	f.Add([]byte(pmaLoginSample))
	f.Add([]byte(`<form><input name=pma_username><input name=pma_password></form`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if form, ok := ParsePMALogin(b); ok && (!form.Fields.Has("pma_username") || len(form.Fields) > 64) {
			t.Fatalf("%+v", form)
		}
		_ = isPMAHome(b)
		_ = pmaLogout(b)
	})
}
