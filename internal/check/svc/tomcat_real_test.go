package svc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	rhttp "github.com/rampart-cert/rampart/internal/check/http"
	"github.com/rampart-cert/rampart/internal/check/http/site"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Debian's Tomcat 10 (packages tomcat10 and tomcat10-admin) as the
// fixture of the Tomcat checks: svc.default-credentials on the manager,
// svc.ajp-exposed, and http.admin-console-exposed.
const (
	tomcatHome  = "/usr/share/tomcat10"
	tomcatAdmin = "/usr/share/tomcat10-admin/manager"
	tomcatJava  = "/usr/lib/jvm/java-17-openjdk-amd64"
)

// tomcatService is one <Service> of the test's Tomcat: its own address,
// an HTTP connector, an AJP connector when ajp is not zero, and its own
// engine, users and webapps.
type tomcatService struct {
	name      string
	http, ajp netip.AddrPort
	access    string // the host's access log: one line a request
}

// requests counts the requests the service logged whose line holds path
// ("" for all).
func (s *tomcatService) requests(path string) int {
	b, _ := os.ReadFile(s.access)
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if len(l) > 0 && bytes.Contains(l, []byte(path)) {
			n++
		}
	}
	return n
}

// tomcatSpec says what one service has: a manager user (none: no manager
// deployed) and an AJP connector (ajpSecret "": none; "-": no secret
// required; else that secret).
type tomcatSpec struct {
	name, user, password, ajpSecret string
}

// tomcatAt runs Debian's Tomcat from /usr/share/tomcat10 as the test's
// own: CATALINA_BASE is a temporary directory with a server.xml of one
// <Service> a spec, each on a random 127.x address of its own with free
// ports, no shutdown port; the manager of tomcat10-admin is deployed by a
// context file (conf/<engine>/localhost/manager.xml, as Debian's
// /etc/tomcat10/Catalina/localhost/manager.xml does) behind the users the
// spec gives, in a LockOutRealm as Debian's server.xml has it. Tomcat runs
// as a child process of the test (catalina.sh run) and is killed at
// cleanup.
func tomcatAt(t *testing.T, specs ...tomcatSpec) map[string]*tomcatService {
	t.Helper()
	if _, err := os.Stat(tomcatHome + "/bin/catalina.sh"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Tomcat not installed: .ci/run installs the tomcat10 package, and CI must run this fixture")
		}
		t.Skip("Tomcat not installed (apt-get install tomcat10 tomcat10-admin)")
	}
	if _, err := os.Stat(tomcatAdmin + "/WEB-INF/web.xml"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Tomcat manager not installed: .ci/run installs the tomcat10-admin package")
		}
		t.Skip("Tomcat manager not installed (apt-get install tomcat10-admin)")
	}
	java := tomcatJava
	if _, err := os.Stat(java + "/bin/java"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/jvm/java-*-openjdk-*/bin/java"); len(m) > 0 {
			java = filepath.Dir(filepath.Dir(m[0]))
		} else if os.Getenv("CI") == "true" {
			t.Fatal("no OpenJDK under /usr/lib/jvm: tomcat10 depends on one")
		} else {
			t.Skip("no OpenJDK under /usr/lib/jvm")
		}
	}
	base := t.TempDir()
	for _, d := range []string{"conf", "logs", "temp", "work"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Debian's defaults for what the test does not change.
	for _, f := range []string{"web.xml", "catalina.properties", "context.xml"} {
		if err := os.Symlink(filepath.Join(tomcatHome, "etc", f), filepath.Join(base, "conf", f)); err != nil {
			t.Fatal(err)
		}
	}
	var resources, services strings.Builder
	out := map[string]*tomcatService{}
	for i, sp := range specs {
		var b [3]byte
		rand.Read(b[:])
		host := netip.AddrFrom4([4]byte{127, 10 + b[0]%200, b[1], 1 + b[2]%250})
		s := &tomcatService{name: sp.name, http: netip.AddrPortFrom(host, freePort(t, host.String())),
			access: filepath.Join(base, "logs", sp.name+"-access.log")}
		apps := filepath.Join(base, "webapps-"+sp.name)
		if err := os.MkdirAll(apps, 0o755); err != nil {
			t.Fatal(err)
		}
		users := filepath.Join(base, "conf", sp.name+"-users.xml")
		var u string
		if sp.user != "" {
			u = fmt.Sprintf(`  <user username=%q password=%q roles="manager-gui,manager-script"/>`+"\n", sp.user, sp.password)
			ctx := filepath.Join(base, "conf", sp.name, "localhost")
			if err := os.MkdirAll(ctx, 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(ctx, "manager.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<Context path="/manager" docBase=%q antiResourceLocking="false" privileged="true"/>
`, tomcatAdmin)
		}
		writeFile(t, users, `<?xml version="1.0" encoding="UTF-8"?>
<tomcat-users xmlns="http://tomcat.apache.org/xml" version="1.0">
  <role rolename="manager-gui"/>
  <role rolename="manager-script"/>
%s</tomcat-users>
`, u)
		fmt.Fprintf(&resources, `    <Resource name="Users%d" auth="Container" type="org.apache.catalina.UserDatabase"
      factory="org.apache.catalina.users.MemoryUserDatabaseFactory" pathname=%q readonly="true"/>
`, i, users)
		var ajp string
		if sp.ajpSecret != "" {
			s.ajp = netip.AddrPortFrom(host, freePort(t, host.String()))
			secret := `secretRequired="false"`
			if sp.ajpSecret != "-" {
				secret = fmt.Sprintf(`secret=%q`, sp.ajpSecret)
			}
			ajp = fmt.Sprintf(`    <Connector protocol="AJP/1.3" address="%s" port="%d" redirectPort="8443" %s/>`+"\n", host, s.ajp.Port(), secret)
		}
		fmt.Fprintf(&services, `  <Service name=%[1]q>
    <Connector protocol="HTTP/1.1" address="%[2]s" port="%[3]d" connectionTimeout="5000"/>
%[4]s    <Engine name=%[1]q defaultHost="localhost">
      <Realm className="org.apache.catalina.realm.LockOutRealm">
        <Realm className="org.apache.catalina.realm.UserDatabaseRealm" resourceName="Users%[5]d"/>
      </Realm>
      <Host name="localhost" appBase=%[6]q unpackWARs="false" autoDeploy="false" deployOnStartup="true">
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs" prefix="%[1]s-access" suffix=".log"
          rotatable="false" buffered="false" pattern="%%r %%s"/>
      </Host>
    </Engine>
  </Service>
`, sp.name, host, s.http.Port(), ajp, i, apps)
		out[sp.name] = s
	}
	writeFile(t, filepath.Join(base, "conf", "server.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <GlobalNamingResources>
%s  </GlobalNamingResources>
%s</Server>
`, resources.String(), services.String())

	// Tomcat's own log goes to a file the test reads for "Server startup".
	logFile := filepath.Join(base, "logs", "catalina.log")
	writeFile(t, filepath.Join(base, "conf", "logging.properties"), `handlers = java.util.logging.FileHandler
.level = INFO
java.util.logging.FileHandler.pattern = %s
java.util.logging.FileHandler.formatter = java.util.logging.SimpleFormatter
`, logFile)
	// catalina.sh run execs java, so the process startDaemon kills at
	// cleanup is Tomcat's; env sets the variables catalina.sh reads. The
	// connectors bind before the webapps are deployed and accept after:
	// the first port answering is not enough, Tomcat says when it is up.
	var first netip.AddrPort
	for _, s := range out {
		first = s.http
		break
	}
	startDaemon(t, first, "/usr/bin/env", "CATALINA_HOME="+tomcatHome, "CATALINA_BASE="+base, "CATALINA_TMPDIR="+filepath.Join(base, "temp"),
		"JAVA_HOME="+java, "JAVA_OPTS=-Xmx256m -XX:TieredStopAtLevel=1 -Duser.language=en -Djava.security.egd=file:/dev/./urandom",
		tomcatHome+"/bin/catalina.sh", "run")
	deadline := time.Now().Add(45 * time.Second)
	for {
		log, _ := os.ReadFile(logFile)
		if bytes.Contains(log, []byte("Server startup in")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Tomcat did not start:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, s := range out {
		for _, ap := range []netip.AddrPort{s.http, s.ajp} {
			if !ap.IsValid() {
				continue
			}
			c, err := net.DialTimeout("tcp", ap.String(), time.Second)
			if err != nil {
				t.Fatalf("Tomcat does not listen on %s: %v", ap, err)
			}
			c.Close()
		}
	}
	return out
}

// waitRequests waits (at most a second) until s logged n requests of
// path; Tomcat writes its access log line after the answer.
func (s *tomcatService) waitRequests(path string, n int) int {
	for range 20 {
		if s.requests(path) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s.requests(path)
}

func TestTomcatReal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Debian's Tomcat")
	}
	secret := make([]byte, 12)
	rand.Read(secret)
	strongPassword := fmt.Sprintf("Zq7-%x-long", secret)
	tc := tomcatAt(t,
		tomcatSpec{name: "weak", user: "tomcat", password: "tomcat", ajpSecret: "-"},
		tomcatSpec{name: "strong", user: "tomcat", password: strongPassword, ajpSecret: fmt.Sprintf("%x", secret)},
		tomcatSpec{name: "bare"})
	weak, strong, bare := tc["weak"], tc["strong"], tc["bare"]

	t.Run("CredentialsOff", func(t *testing.T) {
		rs, err := find("svc.default-credentials").Run(context.Background(), env(), target(weak.http, "http"))
		if !errors.Is(err, ErrCredentialsOff) || len(rs) != 0 {
			t.Fatalf("%+v %v", rs, err)
		}
		if n := weak.waitRequests("", 1); n != 0 {
			t.Fatalf("%d requests without the opt-in", n)
		}
	})
	t.Run("CredentialsDefault", func(t *testing.T) {
		rs := runCreds(t, target(weak.http, "http"))
		if len(rs) != 1 || rs[0].Subject != "tomcat-manager:tomcat" || rs[0].Evidence.Fields["service"] != "tomcat-manager" {
			t.Fatalf("manager with tomcat/tomcat: %+v", rs)
		}
		// The unauthenticated look, then the first pair of the list (the
		// other applications' paths are looked at too, and answer 404).
		if n := weak.waitRequests(" /manager/", 2); n != 2 {
			t.Fatalf("%d requests to the manager, want 2", n)
		}
	})
	t.Run("CredentialsStrong", func(t *testing.T) {
		if rs := runCreds(t, target(strong.http, "http")); len(rs) != 0 {
			t.Fatalf("manager with a strong password fired: %+v", rs)
		}
		want := 1 + len(credentialsFor("tomcat-manager"))
		if n := strong.waitRequests(" /manager/", want); n != want {
			t.Fatalf("%d requests to the manager, want %d (the look and each pair once)", n, want)
		}
	})
	t.Run("CredentialsNoManager", func(t *testing.T) {
		if rs := runCreds(t, target(bare.http, "http")); len(rs) != 0 {
			t.Fatalf("Tomcat without a manager fired: %+v", rs)
		}
	})

	t.Run("AJPWithoutSecret", func(t *testing.T) {
		rs := run(t, "svc.ajp-exposed", target(weak.ajp, "ajp13"))
		if len(rs) != 1 || rs[0].Evidence.Response != "CPong (41 42 00 01 09)" || rs[0].Severity != finding.High ||
			rs[0].Evidence.Fields["forwarded_status"] == "403" {
			t.Fatalf("AJP connector without a secret: %+v", rs)
		}
	})
	// A connector with a secret still answers CPing (Tomcat checks the
	// secret on forwarded requests only) but refuses a forwarded request
	// without it: reachable, guarded, reported low.
	t.Run("AJPWithSecret", func(t *testing.T) {
		rs := run(t, "svc.ajp-exposed", target(strong.ajp, "ajp13"))
		if len(rs) != 1 || rs[0].Evidence.Response != "CPong (41 42 00 01 09)" || rs[0].Severity != finding.Low ||
			rs[0].Evidence.Fields["forwarded_status"] != "403" {
			t.Fatalf("AJP connector with a secret: %+v", rs)
		}
	})
	// No AJP connector: the check run on Tomcat's HTTP connector (which
	// answers the CPing bytes with 400) and on the closed port 8009 of a
	// Tomcat without AJP finds nothing.
	t.Run("AJPNone", func(t *testing.T) {
		rs, err := find("svc.ajp-exposed").Run(context.Background(), env(), target(bare.http, "ajp13"))
		if err != nil || len(rs) != 0 {
			t.Fatalf("HTTP connector taken for AJP: %+v %v", rs, err)
		}
		closed := netip.AddrPortFrom(bare.http.Addr(), freePort(t, bare.http.Addr().String()))
		if rs, _ := find("svc.ajp-exposed").Run(context.Background(), env(), target(closed, "ajp13")); len(rs) != 0 {
			t.Fatalf("closed port fired: %+v", rs)
		}
	})

	t.Run("ConsoleLogin", func(t *testing.T) {
		rs := tomcatConsole(t, weak.http)
		if len(rs) != 1 || rs[0].Subject != "tomcat-manager" || rs[0].Severity != finding.Low ||
			rs[0].Evidence.Fields["access"] != "login-required" || !strings.Contains(rs[0].Evidence.Response, "401") {
			t.Fatalf("manager behind its login: %+v", rs)
		}
	})
	t.Run("ConsoleNotDeployed", func(t *testing.T) {
		if rs := tomcatConsole(t, bare.http); len(rs) != 0 {
			t.Fatalf("Tomcat without a manager fired: %+v", rs)
		}
	})
}

// tomcatConsole runs http.admin-console-exposed on a Tomcat HTTP connector.
func tomcatConsole(t *testing.T, ap netip.AddrPort) []check.Result {
	t.Helper()
	e := &check.Env{Timeout: 3 * time.Second, MaxRead: 1 << 20, Now: time.Now, Extra: map[string]any{}}
	tg := check.Target{Kind: check.TargetService, Addr: ap, Service: "http"}
	for _, c := range rhttp.Checks(site.NewCache()) {
		if c.Meta().ID != "http.admin-console-exposed" {
			continue
		}
		if !c.Applies(tg) {
			t.Fatalf("does not apply to %+v", tg)
		}
		rs, err := c.Run(context.Background(), e, tg)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	t.Fatal("http.admin-console-exposed not found")
	return nil
}
