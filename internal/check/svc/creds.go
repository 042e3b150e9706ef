package svc

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// Default and empty credentials are tried only when the organization's
// scan policy opts in (Options.Credentials), a few per service, never
// enough to lock an account (at most three attempts, one connection each,
// the first success ends the run), and a password that worked is never
// kept: the evidence names the account and says "empty password" or "the
// product's default password".

var metaCreds = meta("svc.default-credentials", finding.Critical,
	"Service accepts an empty or default password", "Dịch vụ chấp nhận mật khẩu rỗng hoặc mặc định",
	"An account of the service accepts no password or the password the product ships with (PostgreSQL trust or postgres/postgres, MySQL or MariaDB root without a password, Tomcat manager, Grafana admin/admin, RabbitMQ guest/guest, Jenkins without login, phpMyAdmin as root, Microsoft SQL Server sa without a password or with the container quickstart's example password, MikroTik RouterOS admin without a password on its REST API, the factory logins of routers and IP cameras, SSH or FTP device defaults). These are the first thing botnets and intruders try; such an account gives the data or the host away. The check runs only when the organization's scan policy allows credential attempts; the password is not stored.",
	"Một tài khoản của dịch vụ chấp nhận mật khẩu rỗng hoặc mật khẩu mặc định của sản phẩm (PostgreSQL trust hoặc postgres/postgres, MySQL hay MariaDB root không mật khẩu, Tomcat manager, Grafana admin/admin, RabbitMQ guest/guest, Jenkins không cần đăng nhập, phpMyAdmin với root, sa của Microsoft SQL Server không mật khẩu hoặc với mật khẩu ví dụ trong hướng dẫn chạy container, admin của MikroTik RouterOS không mật khẩu qua REST API, tài khoản xuất xưởng của router và camera IP, mật khẩu mặc định SSH hoặc FTP của thiết bị). Đây là những gì botnet và kẻ xâm nhập thử đầu tiên; tài khoản như vậy làm mất dữ liệu hoặc cả máy chủ. Kiểm tra chỉ chạy khi chính sách quét của tổ chức cho phép thử thông tin đăng nhập; mật khẩu không được lưu lại.",
	"Set a strong, unique password on the account now (or disable it), remove trust and empty-password entries (PostgreSQL pg_hba.conf, MySQL accounts without authentication_string), delete product default users (RabbitMQ guest, Tomcat example users), require login for Jenkins, give SQL Server's sa a strong password or disable it (ALTER LOGIN sa DISABLE) and prefer Windows authentication, give MikroTik's admin a password and limit the www and www-ssl services to management addresses (/ip service), change the factory password of routers and cameras (and update their firmware), and keep administration interfaces off the internet.",
	"Đặt ngay mật khẩu mạnh, riêng cho tài khoản (hoặc vô hiệu hóa nó), bỏ các mục trust và mật khẩu rỗng (pg_hba.conf của PostgreSQL, tài khoản MySQL không có authentication_string), xóa người dùng mặc định của sản phẩm (guest của RabbitMQ, người dùng mẫu của Tomcat), bắt buộc đăng nhập với Jenkins, đặt mật khẩu mạnh cho sa của SQL Server hoặc vô hiệu hóa nó (ALTER LOGIN sa DISABLE) và ưu tiên xác thực Windows, đặt mật khẩu cho admin của MikroTik và chỉ cho phép dịch vụ www và www-ssl từ địa chỉ quản trị (/ip service), đổi mật khẩu xuất xưởng của router và camera (và cập nhật firmware), và không để giao diện quản trị truy cập được từ Internet.",
	"CWE-1392", "CWE-521", "CWE-258")

// Options tune the family; pass them as env.Extra["svc"] (Options or
// *Options). The zero value runs no credential attempt.
type Options struct {
	// Credentials allows svc.default-credentials to try the shipped
	// empty and default passwords: set from the organization's scan
	// policy, off unless it opts in.
	Credentials bool
}

func optionsOf(env *check.Env) Options {
	if env == nil {
		return Options{}
	}
	switch o := env.Extra[Family].(type) {
	case Options:
		return o
	case *Options:
		if o != nil {
			return *o
		}
	}
	return Options{}
}

// ErrCredentialsOff is what svc.default-credentials returns when the scan
// policy does not opt in: an error, so the run does not count as covering
// the target and an earlier finding is not taken as fixed.
var ErrCredentialsOff = errors.New("svc: credential attempts are off (the organization's scan policy does not opt in)")

// maxAttempts bounds the passwords tried on one service in one scan.
const maxAttempts = 3

//go:embed credentials.txt
var credentialsText string

// Credential is one entry of the shipped list.
type Credential struct {
	Service, User, Password string
}

// ParseCredentials reads the shipped list: "service user password" per
// line, "-" for an empty password, '#' comments.
func ParseCredentials(text string) ([]Credential, error) {
	var out []Credential
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[1]) > 64 || len(f[2]) > 64 {
			return nil, fmt.Errorf("svc: credentials line %d: want service, user and password", i+1)
		}
		if f[2] == "-" {
			f[2] = ""
		}
		out = append(out, Credential{Service: f[0], User: f[1], Password: f[2]})
	}
	return out, nil
}

var shippedCredentials = sync.OnceValue(func() []Credential {
	c, err := ParseCredentials(credentialsText)
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return c
})

// credentialsFor returns the first maxAttempts entries for service.
func credentialsFor(service string) []Credential {
	var out []Credential
	for _, c := range shippedCredentials() {
		if c.Service == service && len(out) < maxAttempts {
			out = append(out, c)
		}
	}
	return out
}

// What let us in, as the evidence says it: never the password itself.
const (
	loginEmpty     = "empty"
	loginDefault   = "default (from the shipped list)"
	loginTrust     = "none asked (trust authentication)"
	loginAnonymous = "no login at all"
)

// passwordKind says what worked without saying the password.
func passwordKind(p string) string {
	if p == "" {
		return loginEmpty
	}
	return loginDefault
}

// credResult reports that account on what ("postgresql", "tomcat-manager")
// let us in; how is one of the login constants.
func credResult(m check.Meta, t check.Target, what, account, how string, ev check.Evidence) check.Result {
	if ev.Fields == nil {
		ev.Fields = map[string]string{}
	}
	ev.Fields["service"], ev.Fields["account"], ev.Fields["password"] = what, account, how
	var title string
	switch how {
	case loginEmpty:
		title = fmt.Sprintf("%s on %s: account %q accepts an empty password", what, t.Addr, account)
	case loginTrust:
		title = fmt.Sprintf("%s on %s: account %q is let in without a password (trust)", what, t.Addr, account)
	case loginAnonymous:
		title = fmt.Sprintf("%s on %s lets anyone in without logging in", what, t.Addr)
	default:
		title = fmt.Sprintf("%s on %s: account %q accepts the product's default password", what, t.Addr, account)
	}
	r := result(m, m.Severity, title, ev)
	r.Subject = what + ":" + account
	return r
}

// credCheck is svc.default-credentials.
type credCheck struct{}

func (credCheck) Meta() check.Meta { return metaCreds }

// credService names the protocol the check speaks to t, "" for none.
func credService(t check.Target) string {
	switch s := strings.ToLower(t.Service); s {
	case "postgresql", "mysql", "ssh", "ftp", "mssql":
		return s
	case "ms-sql-s":
		return "mssql"
	case "http", "https", "http-alt", "https-alt":
		return "http"
	case "", "unknown", "tcpwrapped":
		switch t.Addr.Port() {
		case 5432:
			return "postgresql"
		case 3306:
			return "mysql"
		case 22:
			return "ssh"
		case 21:
			return "ftp"
		case 1433:
			return "mssql"
		case 8080, 3000, 15672:
			return "http"
		}
	}
	return ""
}

func (credCheck) Applies(t check.Target) bool {
	return t.Kind == check.TargetService && credService(t) != ""
}

func (credCheck) Run(ctx context.Context, env *check.Env, t check.Target) ([]check.Result, error) {
	if !optionsOf(env).Credentials {
		return nil, ErrCredentialsOff
	}
	m := metaCreds
	switch credService(t) {
	case "postgresql":
		return credPostgres(ctx, env, t, m)
	case "mysql":
		return credMySQL(ctx, env, t, m)
	case "ssh":
		return credSSH(ctx, env, t, m)
	case "ftp":
		return credFTP(ctx, env, t, m)
	case "mssql":
		return credMSSQL(ctx, env, t, m)
	case "http":
		return credWeb(ctx, env, t, m)
	}
	return nil, nil
}
