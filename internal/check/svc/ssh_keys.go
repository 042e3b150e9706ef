package svc

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaSSHHostKey = meta("svc.ssh-weak-host-key", finding.Medium,
	"SSH host key is weak or publicly known", "Khóa máy chủ SSH yếu hoặc đã bị công khai",
	"The SSH server proves its identity with a host key that is too weak (RSA under 2048 bits, DSA) or, worse, one whose private half is public because a vendor shipped the same key in every device (critical): anyone can then impersonate the server and read or change the sessions of administrators who log in.",
	"Máy chủ SSH chứng minh danh tính bằng khóa máy chủ quá yếu (RSA dưới 2048 bit, DSA) hoặc, nghiêm trọng hơn, khóa có phần bí mật đã bị công khai vì nhà sản xuất dùng cùng một khóa cho mọi thiết bị (mức nghiêm trọng): khi đó bất kỳ ai cũng có thể giả mạo máy chủ, đọc hoặc sửa phiên làm việc của quản trị viên đăng nhập.",
	"Generate new host keys on the device (ssh-keygen -A after removing the old ones; Ed25519, or RSA of 3072 bits), remove DSA keys (HostKey lines and ssh_host_dsa_key), update the firmware of devices that ship a fixed key, and tell administrators the new fingerprints.",
	"Tạo khóa máy chủ mới trên thiết bị (xóa khóa cũ rồi chạy ssh-keygen -A; dùng Ed25519 hoặc RSA 3072 bit), bỏ khóa DSA (dòng HostKey và tệp ssh_host_dsa_key), cập nhật firmware cho thiết bị dùng khóa cố định, và thông báo dấu vân tay mới cho quản trị viên.",
	"CWE-321", "CWE-326", "CVE-2008-0166")

var metaSSHPassword = meta("svc.ssh-password-auth", finding.Low,
	"SSH server accepts password logins", "Máy chủ SSH cho phép đăng nhập bằng mật khẩu",
	"The SSH server offers password (or keyboard-interactive) authentication to anyone who connects. Internet-facing SSH receives password guessing around the clock; one weak or reused password is enough, and it is the usual way into servers and devices. Keys or certificates cannot be guessed.",
	"Máy chủ SSH cho phép xác thực bằng mật khẩu (hoặc keyboard-interactive) với bất kỳ ai kết nối tới. SSH mở ra Internet bị dò mật khẩu liên tục; chỉ cần một mật khẩu yếu hoặc dùng lại là đủ, và đây là con đường thường gặp để xâm nhập máy chủ và thiết bị. Khóa hoặc chứng thư thì không thể đoán.",
	"Use public-key (or certificate) authentication only: PasswordAuthentication no and KbdInteractiveAuthentication no in sshd_config; if passwords must stay, allow SSH only from a VPN or management network and rate-limit attempts (fail2ban, MaxAuthTries).",
	"Chỉ dùng xác thực bằng khóa công khai (hoặc chứng thư): đặt PasswordAuthentication no và KbdInteractiveAuthentication no trong sshd_config; nếu buộc phải dùng mật khẩu, chỉ cho phép SSH từ VPN hoặc mạng quản trị và giới hạn số lần thử (fail2ban, MaxAuthTries).",
	"CWE-307", "CWE-309")

//go:embed ssh_badkeys.txt
var sshBadKeysText string

// ParseBadKeys reads the known-compromised host keys list: one
// "SHA256:<base64> <product>" per line, '#' comments.
func ParseBadKeys(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fp, product, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(fp, "SHA256:") || len(fp) != 50 {
			return nil, fmt.Errorf("svc: bad keys line %d: %q is not a SHA256 fingerprint", i+1, fp)
		}
		out[fp] = strings.TrimSpace(product)
	}
	return out, nil
}

// badKeys is the shipped list, parsed on first use.
var badKeys = sync.OnceValue(func() map[string]string {
	m, err := ParseBadKeys(sshBadKeysText)
	if err != nil {
		panic(err) // the shipped file is tested
	}
	return m
})

// sshAlgorithms is everything x/crypto/ssh implements, the insecure
// algorithms too: the scanner must talk to old servers to judge them.
func sshAlgorithms(cfg *ssh.Config) {
	sup, ins := ssh.SupportedAlgorithms(), ssh.InsecureAlgorithms()
	cfg.KeyExchanges = append(sup.KeyExchanges, ins.KeyExchanges...)
	cfg.Ciphers = append(sup.Ciphers, ins.Ciphers...)
	cfg.MACs = append(sup.MACs, ins.MACs...)
}

// hostKeyFormats maps the host-key algorithms a server offers to the key
// formats to read, one algorithm each (RSA once, by its best signature).
func hostKeyFormats(algs []string) map[string]string {
	out := map[string]string{}
	for _, a := range algs {
		var format string
		switch a {
		case "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa":
			format = "ssh-rsa"
		case "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521":
			format = a
		default:
			continue // certificates, security keys, unknown
		}
		if _, ok := out[format]; !ok {
			out[format] = a
		}
	}
	return out
}

// SSHHostKey is what a host key blob says.
type SSHHostKey struct {
	Type        string
	Bits        int    // RSA modulus or DSA p; 0 for curves
	Fingerprint string // "SHA256:" and the unpadded base64 of the blob's SHA-256
}

// judgeHostKey says what is wrong with k, if anything.
func judgeHostKey(k SSHHostKey, bad map[string]string) (finding.Severity, string) {
	if product, ok := bad[k.Fingerprint]; ok {
		return finding.Critical, "publicly known host key (" + product + ")"
	}
	switch k.Type {
	case "ssh-dss":
		return finding.Medium, fmt.Sprintf("DSA host key (%d bits)", k.Bits)
	case "ssh-rsa":
		switch {
		case k.Bits < 1024:
			return finding.High, fmt.Sprintf("RSA host key of %d bits", k.Bits)
		case k.Bits < 2048:
			return finding.Medium, fmt.Sprintf("RSA host key of %d bits", k.Bits)
		}
	}
	return "", ""
}

// runSSHHostKeys reads each host key the server offers (one key exchange
// per key type, stopped at the server's reply) and judges it.
func runSSHHostKeys(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	ident, kex, ok, err := sshHello(ctx, env, t)
	if err != nil || !ok {
		return nil, err
	}
	var out []check.Result
	for format, alg := range hostKeyFormats(kex.HostKey) {
		k, err := sshHostKey(ctx, env, t, kex, alg)
		if err != nil {
			return nil, err
		}
		if k == nil {
			continue // no key exchange we can start: judged by KEXINIT only
		}
		sev, why := judgeHostKey(*k, badKeys())
		if why == "" {
			continue
		}
		r := result(m, sev, fmt.Sprintf("SSH server on %s: %s", t.Addr, why), check.Evidence{
			Request:  "key exchange with host-key algorithm " + alg + " (stopped at the server's reply, before authentication)",
			Response: ident,
			Fields: map[string]string{"key_type": k.Type, "fingerprint": k.Fingerprint,
				"bits": fmt.Sprint(k.Bits), "server": ident}})
		r.Subject = format
		out = append(out, r)
	}
	return out, nil
}

// runSSHPassword asks which authentication methods the server offers: a
// "none" request for a user that does not exist answers with the list.
// When password or keyboard-interactive is listed, x/crypto/ssh asks our
// callback for a password and we stop there: no password is ever sent.
func runSSHPassword(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var offered []string
	errStop := errors.New("svc: method seen")
	cfg := &ssh.ClientConfig{User: "rampart-scan", ClientVersion: strings.TrimSpace(sshClientIdent),
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // the server's identity is not what this check judges
		Auth: []ssh.AuthMethod{
			ssh.PasswordCallback(func() (string, error) { offered = append(offered, "password"); return "", errStop }),
			ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
				offered = append(offered, "keyboard-interactive")
				return nil, errStop
			}),
		}}
	sshAlgorithms(&cfg.Config)
	cfg.HostKeyAlgorithms = append(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys...)
	_, _, _, err = ssh.NewClientConn(c, t.Addr.String(), cfg)
	if len(offered) == 0 {
		return nil, nil
	}
	_ = err
	return []check.Result{result(m, m.Severity, fmt.Sprintf("SSH server on %s accepts %s authentication", t.Addr, offered[0]),
		check.Evidence{Request: "SSH userauth \"none\" for a user that does not exist; no password sent",
			Response: "methods include " + strings.Join(offered, ", "),
			Fields:   map[string]string{"method": offered[0], "product": t.Product, "version": t.Version}})}, nil
}
