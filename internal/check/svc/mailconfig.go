package svc

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaFTPCleartext = meta("svc.ftp-cleartext", finding.Medium,
	"FTP without encryption", "FTP không mã hóa",
	"The FTP server refuses AUTH TLS: user names, passwords and files cross the network in clear text, where anyone on the path (a shared network, a compromised router) can read and reuse them.",
	"Máy chủ FTP từ chối lệnh AUTH TLS: tên người dùng, mật khẩu và tệp đi qua mạng dưới dạng văn bản rõ, ai ở trên đường truyền (mạng dùng chung, router bị chiếm quyền) cũng có thể đọc và dùng lại.",
	"Replace FTP with SFTP, or enable explicit FTPS and require it (vsftpd: ssl_enable=YES, force_local_logins_ssl=YES, force_local_data_ssl=YES; ProFTPD: TLSEngine on, TLSRequired on).",
	"Thay FTP bằng SFTP, hoặc bật FTPS tường minh và bắt buộc dùng (vsftpd: ssl_enable=YES, force_local_logins_ssl=YES, force_local_data_ssl=YES; ProFTPD: TLSEngine on, TLSRequired on).",
	"CWE-319")

var metaSMTPRelay = meta("svc.smtp-open-relay", finding.High,
	"SMTP open relay", "Máy chủ SMTP chuyển tiếp thư tự do (open relay)",
	"The mail server accepts, from an unauthenticated client, a message from an outside sender to an outside recipient: it relays mail for anyone. Spammers and phishers find open relays within hours; the server's address ends up on blocklists and the organization's own mail stops being delivered.",
	"Máy chủ thư chấp nhận, từ máy khách chưa xác thực, thư của người gửi bên ngoài tới người nhận bên ngoài: nó chuyển tiếp thư cho bất kỳ ai. Kẻ phát tán thư rác và lừa đảo tìm ra open relay chỉ trong vài giờ; địa chỉ máy chủ bị đưa vào danh sách chặn và thư của chính tổ chức không còn đến được người nhận.",
	"Relay only for your own networks and authenticated users (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, with mynetworks limited to your hosts; Exim: relay_from_hosts; Exchange: no anonymous relay on internet receive connectors).",
	"Chỉ chuyển tiếp cho mạng của mình và người dùng đã xác thực (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination, với mynetworks chỉ gồm máy của mình; Exim: relay_from_hosts; Exchange: không cho relay ẩn danh trên receive connector hướng Internet).",
	"CWE-269", "CWE-441")

var metaSMTPUsers = meta("svc.smtp-user-enumeration", finding.Low,
	"SMTP VRFY or EXPN reveals accounts", "Lệnh SMTP VRFY hoặc EXPN làm lộ tài khoản",
	"The mail server answers VRFY or EXPN differently for accounts that exist and for those that do not. Attackers use this to confirm user names for password guessing and phishing.",
	"Máy chủ thư trả lời lệnh VRFY hoặc EXPN khác nhau giữa tài khoản có thật và tài khoản không tồn tại. Kẻ tấn công dùng điều này để xác nhận tên người dùng cho việc dò mật khẩu và lừa đảo.",
	"Disable the commands (Postfix: disable_vrfy_command = yes; Sendmail: O PrivacyOptions=goaway; Exim: remove acl_smtp_vrfy/acl_smtp_expn accepts).",
	"Tắt các lệnh này (Postfix: disable_vrfy_command = yes; Sendmail: O PrivacyOptions=goaway; Exim: bỏ chấp nhận trong acl_smtp_vrfy/acl_smtp_expn).",
	"CWE-203", "CWE-200")

// runFTPCleartext asks for AUTH TLS (RFC 4217): 234 means the server can
// protect the session; any refusal means logins travel in clear text.
// The TLS handshake is not started: the question is whether it exists.
func runFTPCleartext(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	if isTLSTarget(t) {
		return nil, nil // implicit FTPS
	}
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	greet, err := ftpReply(r)
	if err != nil || !strings.HasPrefix(greet, "220") {
		return nil, nil
	}
	if _, err := io.WriteString(c, "AUTH TLS\r\n"); err != nil {
		return nil, nil
	}
	reply, err := ftpReply(r)
	if err != nil && reply == "" {
		return nil, nil
	}
	if strings.HasPrefix(reply, "234") {
		return nil, nil
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	if len(reply) < 3 || (reply[0] != '4' && reply[0] != '5') {
		return nil, nil // not an FTP answer
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("FTP server on %s refuses AUTH TLS: logins travel in clear text", t.Addr),
		check.Evidence{Request: "AUTH TLS", Response: printable([]byte(greet + "\n" + reply)),
			Fields: map[string]string{"auth_tls_reply": firstLine(reply), "product": t.Product, "version": t.Version}})}, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// smtpSession is an SMTP conversation with a transcript for evidence.
type smtpSession struct {
	w          io.Writer
	r          *bufio.Reader
	transcript []string
}

func (s *smtpSession) cmd(line string) (string, error) {
	if _, err := io.WriteString(s.w, line+"\r\n"); err != nil {
		return "", err
	}
	reply, err := ftpReply(s.r) // SMTP replies are multi-line the same way
	s.transcript = append(s.transcript, "> "+line, reply)
	return reply, err
}

// smtpOpen reads the greeting and says EHLO (HELO when EHLO is refused).
func smtpOpen(ctx context.Context, env *check.Env, t check.Target) (*smtpSession, func(), error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, nil, err
	}
	if c, err = wrapTLS(ctx, c, t); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	s := &smtpSession{w: c, r: bufio.NewReader(io.LimitReader(c, maxReply))}
	done := func() {
		_, _ = s.cmd("QUIT")
		stop()
		c.Close()
	}
	greet, err := ftpReply(s.r)
	s.transcript = append(s.transcript, greet)
	if err != nil || !strings.HasPrefix(greet, "220") {
		stop()
		c.Close()
		return nil, nil, nil
	}
	if reply, err := s.cmd("EHLO rampart-scanner.invalid"); err != nil || !strings.HasPrefix(reply, "250") {
		if reply, err = s.cmd("HELO rampart-scanner.invalid"); err != nil || !strings.HasPrefix(reply, "250") {
			done()
			return nil, nil, nil
		}
	}
	return s, done, nil
}

// Addresses of the relay test: reserved example domains (RFC 2606), so
// even a message that somehow went out would reach no one.
const (
	relayFrom = "rampart-relay-test@example.org"
	relayTo   = "rampart-relay-test@example.net"
)

// runSMTPRelay asks the server to take a message from an outside sender
// to an outside recipient and stops before DATA: an accepted RCPT proves
// the relay, and RSET then QUIT leave nothing queued.
func runSMTPRelay(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	s, done, err := smtpOpen(ctx, env, t)
	if err != nil || s == nil {
		return nil, err
	}
	defer done()
	if reply, err := s.cmd("MAIL FROM:<" + relayFrom + ">"); err != nil || !strings.HasPrefix(reply, "250") {
		return nil, nil
	}
	reply, err := s.cmd("RCPT TO:<" + relayTo + ">")
	_, _ = s.cmd("RSET")
	if err != nil || !(strings.HasPrefix(reply, "250") || strings.HasPrefix(reply, "251")) {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("SMTP server on %s accepts mail from %s to %s without authentication", t.Addr, relayFrom, relayTo),
		check.Evidence{Request: "EHLO, MAIL FROM:<" + relayFrom + ">, RCPT TO:<" + relayTo + ">, then RSET and QUIT (no DATA: nothing is sent)",
			Response: printable([]byte(strings.Join(s.transcript, "\n"))),
			Fields:   map[string]string{"rcpt_reply": firstLine(reply)}})}, nil
}

// runSMTPUsers asks VRFY and EXPN about accounts that exist almost
// everywhere (postmaster, RFC 5321 §4.5.1; root) and about one that cannot
// exist. A server that answers the first with 2xx (250, 251, or Postfix's
// 252 with the address) and the last with 5xx tells existing accounts from
// others: that is enumeration. One that answers both alike (252 for all,
// as Exchange does, or a catch-all 250) reveals nothing and is not
// reported.
func runSMTPUsers(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	s, done, err := smtpOpen(ctx, env, t)
	if err != nil || s == nil {
		return nil, err
	}
	defer done()
	var rnd [5]byte
	_, _ = rand.Read(rnd[:])
	nobody := "rampart-no-such-user-" + hex.EncodeToString(rnd[:])
	var open []string
	fields := map[string]string{}
	for _, c := range []string{"VRFY", "EXPN"} {
		known := ""
		for _, who := range []string{"postmaster", "root"} {
			reply, err := s.cmd(c + " " + who)
			if err != nil {
				break
			}
			if reply != "" && reply[0] == '2' {
				known = who
				fields[strings.ToLower(c)+"_"+who] = firstLine(reply)
				break
			}
		}
		if known == "" {
			continue
		}
		reply, err := s.cmd(c + " " + nobody)
		if err != nil {
			break
		}
		fields[strings.ToLower(c)+"_unknown"] = firstLine(reply)
		if strings.HasPrefix(reply, "55") {
			open = append(open, c)
		}
	}
	if len(open) == 0 {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("SMTP server on %s tells existing accounts from others with %s", t.Addr, strings.Join(open, " and ")),
		check.Evidence{Request: "VRFY and EXPN of postmaster or root, then of " + nobody, Response: printable([]byte(strings.Join(s.transcript, "\n"))), Fields: fields})}, nil
}
