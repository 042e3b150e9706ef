package svc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaRsync = meta("svc.rsync-open-modules", finding.High,
	"rsync daemon modules readable without a password", "Mô-đun rsync đọc được không cần mật khẩu",
	"The rsync daemon lists its modules to anyone, and at least one module accepts a client without authentication. Whatever the module shares (backups, web roots, home directories) can be copied in full, and a module that is not read only can be overwritten. A listing whose modules all require a password still tells an attacker what is there (low severity).",
	"Dịch vụ rsync liệt kê các mô-đun cho bất kỳ ai, và ít nhất một mô-đun chấp nhận máy khách không cần xác thực. Mọi thứ mô-đun chia sẻ (bản sao lưu, thư mục web, thư mục người dùng) đều có thể bị sao chép toàn bộ, và mô-đun không đặt read only có thể bị ghi đè. Danh sách mô-đun dù đều yêu cầu mật khẩu vẫn cho kẻ tấn công biết có gì ở đó (mức thấp).",
	"Give every module 'auth users' and a 'secrets file', set 'list = no', 'read only = yes' and 'hosts allow' to the machines that synchronize, or carry rsync over SSH instead of the daemon; block port 873 at the firewall.",
	"Đặt 'auth users' và 'secrets file' cho mọi mô-đun, đặt 'list = no', 'read only = yes' và 'hosts allow' chỉ gồm các máy cần đồng bộ, hoặc dùng rsync qua SSH thay cho dịch vụ rsync; chặn cổng 873 tại tường lửa.",
	"CWE-306", "CWE-200")

// RsyncModule is one line of a daemon's module list.
type RsyncModule struct {
	Name    string
	Comment string
}

// ErrNotRsync says a greeting is not an rsync daemon's.
var ErrNotRsync = errors.New("svc: not an rsync daemon greeting")

// ParseRsyncGreeting reads "@RSYNCD: <major>.<minor>[ <digests>]" and
// returns the protocol version.
func ParseRsyncGreeting(line string) (string, error) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "@RSYNCD: ")
	if !ok {
		return "", ErrNotRsync
	}
	v, _, _ := strings.Cut(rest, " ")
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major == "" || minor == "" || len(v) > 16 || strings.Trim(major+minor, "0123456789") != "" {
		return "", ErrNotRsync
	}
	return v, nil
}

// ParseRsyncModules reads the lines a daemon sends for the module list:
// "name<TAB or spaces>comment" lines, up to "@RSYNCD: EXIT". Message of the
// day lines before the list have no separator and are skipped; an
// "@ERROR" line is returned as an error.
func ParseRsyncModules(lines []string) ([]RsyncModule, error) {
	var out []RsyncModule
	for _, l := range lines {
		l = strings.TrimRight(l, "\r\n")
		switch {
		case strings.HasPrefix(l, "@RSYNCD: EXIT"):
			return out, nil
		case strings.HasPrefix(l, "@ERROR"):
			return out, fmt.Errorf("svc: rsync: %s", l)
		case strings.HasPrefix(l, "@"):
			continue
		}
		name, comment, ok := strings.Cut(l, "\t")
		if !ok {
			// rsync pads the name to 15 characters with spaces.
			if len(l) < 16 || l[15] != ' ' {
				continue
			}
			name, comment = l[:15], l[16:]
		}
		name = strings.TrimSpace(name)
		if name == "" || len(name) > 255 || strings.ContainsAny(name, " /") {
			continue
		}
		out = append(out, RsyncModule{Name: name, Comment: strings.TrimSpace(comment)})
	}
	return out, nil
}

// rsyncSession opens a daemon session: greeting read, our version sent.
func rsyncSession(ctx context.Context, env *check.Env, t check.Target) (io.ReadWriteCloser, *bufio.Reader, string, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, nil, "", err
	}
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	line, err := readLine(r)
	if err != nil && line == "" {
		c.Close()
		return nil, nil, "", nil
	}
	v, err := ParseRsyncGreeting(line)
	if err != nil {
		c.Close()
		return nil, nil, "", nil
	}
	// Protocol 30: no digest negotiation is needed for what we ask.
	if _, err := io.WriteString(c, "@RSYNCD: 30.0\n"); err != nil {
		c.Close()
		return nil, nil, "", fmt.Errorf("%w: %s: %v", check.ErrUnreachable, t.Addr, err)
	}
	return c, r, v, nil
}

// maxRsyncModules bounds how many listed modules are tried.
const maxRsyncModules = 8

// runRsync asks the daemon for its module list, then asks for each listed
// module (up to 8) whether it needs authentication: "@RSYNCD: OK" means it
// does not, "@RSYNCD: AUTHREQD" that it does. The connection is closed
// right after that answer: no file list, no transfer.
func runRsync(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, r, version, err := rsyncSession(ctx, env, t)
	if err != nil || c == nil {
		return nil, err
	}
	_, _ = io.WriteString(c, "#list\n")
	var lines []string
	for len(lines) < 1000 {
		l, err := readLine(r)
		if l != "" || err == nil {
			lines = append(lines, l)
		}
		if err != nil || strings.HasPrefix(l, "@RSYNCD: EXIT") || strings.HasPrefix(l, "@ERROR") {
			break
		}
	}
	c.Close()
	mods, _ := ParseRsyncModules(lines)
	if len(mods) == 0 {
		return nil, nil // "list = no" everywhere, or nothing shared
	}
	var open, locked, names []string
	for i, mod := range mods {
		names = append(names, mod.Name)
		if i >= maxRsyncModules {
			continue
		}
		state, err := rsyncModuleAuth(ctx, env, t, mod.Name)
		if err != nil {
			return nil, err
		}
		switch state {
		case "open":
			open = append(open, mod.Name)
		case "auth":
			locked = append(locked, mod.Name)
		}
	}
	fields := map[string]string{"protocol": version, "modules": strings.Join(names, ", ")}
	ev := check.Evidence{Request: "@RSYNCD: 30.0, #list; then each module's name", Response: printable([]byte(strings.Join(lines, "\n"))), Fields: fields}
	if len(locked) > 0 {
		fields["password_required"] = strings.Join(locked, ", ")
	}
	if len(open) > 0 {
		fields["no_password"] = strings.Join(open, ", ")
		return []check.Result{result(m, m.Severity, fmt.Sprintf("rsync on %s serves module %s without a password", t.Addr, strings.Join(open, ", ")), ev)}, nil
	}
	return []check.Result{result(m, finding.Low, fmt.Sprintf("rsync on %s lists %d module(s) to anyone (%s)", t.Addr, len(mods), strings.Join(names, ", ")), ev)}, nil
}

// rsyncModuleAuth opens module name and reads the daemon's answer: "open",
// "auth", or "" for a refusal (@ERROR: access denied, unknown module).
func rsyncModuleAuth(ctx context.Context, env *check.Env, t check.Target, name string) (string, error) {
	c, r, _, err := rsyncSession(ctx, env, t)
	if err != nil || c == nil {
		return "", err
	}
	defer c.Close()
	if _, err := io.WriteString(c, name+"\n"); err != nil {
		return "", nil
	}
	for range 100 { // a message of the day may come first
		l, err := readLine(r)
		switch {
		case strings.HasPrefix(l, "@RSYNCD: OK"):
			return "open", nil
		case strings.HasPrefix(l, "@RSYNCD: AUTHREQD"):
			return "auth", nil
		case strings.HasPrefix(l, "@ERROR"), strings.HasPrefix(l, "@RSYNCD: EXIT"):
			return "", nil
		}
		if err != nil {
			return "", nil
		}
	}
	return "", nil
}
