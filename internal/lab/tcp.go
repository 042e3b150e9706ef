package lab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

var errTooMany = errors.New("lab: too many commands")

// session reads lines from a client with a cap on each line, a deadline
// on each read and a cap on the number of commands.
type session struct {
	c   net.Conn
	r   *bufio.Reader
	end time.Time
	n   int
}

func newSession(c net.Conn) *session {
	return &session{c: c, r: bufio.NewReaderSize(c, maxLine), end: time.Now().Add(connLifetime)}
}

func (s *session) deadline() time.Time {
	d := time.Now().Add(idleTimeout)
	if d.After(s.end) {
		d = s.end
	}
	return d
}

// line reads one line without its CR LF. A line longer than maxLine is an
// error (bufio.ErrBufferFull) and ends the session.
func (s *session) line() (string, error) {
	if s.n++; s.n > maxCommands {
		return "", errTooMany
	}
	_ = s.c.SetReadDeadline(s.deadline())
	b, err := s.r.ReadSlice('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// read reads exactly n bytes (n is already capped by the caller).
func (s *session) read(n int) ([]byte, error) {
	_ = s.c.SetReadDeadline(s.deadline())
	b := make([]byte, n)
	_, err := io.ReadFull(s.r, b)
	return b, err
}

func (s *session) write(str string) error {
	_ = s.c.SetWriteDeadline(s.deadline())
	_, err := io.WriteString(s.c, str)
	return err
}

// ---- Redis ----

const redisVersion = "6.0.16"

// redisCommand reads one command, as a RESP array or an inline command.
// ok is false when the client should be dropped.
func (s *session) redisCommand() ([]string, bool) {
	line, err := s.line()
	if err != nil {
		return nil, false
	}
	if !strings.HasPrefix(line, "*") {
		// Redis hangs up on what looks like HTTP (cross-protocol attacks).
		if strings.HasPrefix(line, "POST ") || strings.HasPrefix(line, "Host:") {
			return nil, false
		}
		return strings.Fields(line), true
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 || n > 16 {
		_ = s.write("-ERR Protocol error: invalid multibulk length\r\n")
		return nil, false
	}
	args := make([]string, 0, n)
	for range n {
		h, err := s.line()
		if err != nil || !strings.HasPrefix(h, "$") {
			_ = s.write("-ERR Protocol error: expected '$'\r\n")
			return nil, false
		}
		size, err := strconv.Atoi(h[1:])
		if err != nil || size < 0 || size > maxLine {
			_ = s.write("-ERR Protocol error: invalid bulk length\r\n")
			return nil, false
		}
		b, err := s.read(size + 2)
		if err != nil {
			return nil, false
		}
		args = append(args, string(b[:size]))
	}
	return args, true
}

func bulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func redisInfo(section string) string {
	sections := map[string]string{
		"server": "# Server\r\nredis_version:" + redisVersion + "\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n" +
			"redis_build_id:a1b2c3d4e5f60718\r\nredis_mode:standalone\r\nos:Linux 5.4.0-150-generic x86_64\r\n" +
			"arch_bits:64\r\nmultiplexing_api:epoll\r\ngcc_version:9.4.0\r\nprocess_id:1\r\ntcp_port:6379\r\n" +
			"uptime_in_seconds:864000\r\nuptime_in_days:10\r\nexecutable:/usr/bin/redis-server\r\nconfig_file:/etc/redis/redis.conf\r\n",
		"clients":  "# Clients\r\nconnected_clients:3\r\nblocked_clients:0\r\n",
		"memory":   "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory:0\r\n",
		"keyspace": "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n",
	}
	if s, ok := sections[strings.ToLower(section)]; ok {
		return s
	}
	return sections["server"] + "\r\n" + sections["clients"] + "\r\n" + sections["memory"] + "\r\n" + sections["keyspace"]
}

var redisKeys = sync.OnceValue(func() map[string]string {
	return map[string]string{
		"session:cong-dan:1024": `{"ho_ten":"Nguyễn Văn A (demo)","cccd":"001099000000"}`,
		"config:smtp":           "smtp://mail.hcm-demo.gov.vn:25",
		"counter:luot-truy-cap": "48213",
	}
})

// redis speaks enough RESP for scanners: PING, ECHO, INFO, AUTH (no
// password is set), SELECT, DBSIZE, KEYS, GET, CONFIG GET, QUIT.
func redis(c net.Conn) {
	s := newSession(c)
	for {
		args, ok := s.redisCommand()
		if !ok {
			return
		}
		if len(args) == 0 {
			continue
		}
		var reply string
		switch cmd := strings.ToUpper(args[0]); cmd {
		case "PING":
			reply = "+PONG\r\n"
			if len(args) > 1 {
				reply = bulk(args[1])
			}
		case "ECHO":
			if len(args) != 2 {
				reply = "-ERR wrong number of arguments for 'echo' command\r\n"
			} else {
				reply = bulk(args[1])
			}
		case "INFO":
			sec := ""
			if len(args) > 1 {
				sec = args[1]
			}
			reply = bulk(redisInfo(sec))
		case "AUTH":
			reply = "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
		case "SELECT":
			reply = "+OK\r\n"
		case "DBSIZE":
			reply = ":" + strconv.Itoa(len(redisKeys())) + "\r\n"
		case "KEYS":
			reply = "*" + strconv.Itoa(len(redisKeys())) + "\r\n"
			for _, k := range []string{"config:smtp", "counter:luot-truy-cap", "session:cong-dan:1024"} {
				reply += bulk(k)
			}
		case "GET":
			if v, ok := redisKeys()[strings.Join(args[1:], " ")]; ok && len(args) == 2 {
				reply = bulk(v)
			} else {
				reply = "$-1\r\n"
			}
		case "CONFIG":
			if len(args) == 3 && strings.EqualFold(args[1], "GET") {
				switch strings.ToLower(args[2]) {
				case "requirepass":
					reply = "*2\r\n" + bulk("requirepass") + bulk("")
				case "protected-mode":
					reply = "*2\r\n" + bulk("protected-mode") + bulk("no")
				default:
					reply = "*0\r\n"
				}
			} else {
				reply = "-ERR demo lab: CONFIG is read-only\r\n"
			}
		case "QUIT":
			_ = s.write("+OK\r\n")
			return
		default:
			reply = fmt.Sprintf("-ERR unknown command `%.32s`, with args beginning with: \r\n", strings.Map(printableRune, args[0]))
		}
		if s.write(reply) != nil {
			return
		}
	}
}

func printableRune(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return -1
	}
	return r
}

// ---- memcached ----

// memcached speaks the text protocol's read-only commands.
func memcached(c net.Conn) {
	s := newSession(c)
	for {
		line, err := s.line()
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) == 0 {
			_ = s.write("ERROR\r\n")
			continue
		}
		var reply string
		switch strings.ToLower(f[0]) {
		case "version":
			reply = "VERSION 1.6.9\r\n"
		case "stats":
			reply = "STAT pid 1\r\nSTAT uptime 864000\r\nSTAT version 1.6.9\r\nSTAT libevent 2.1.12-stable\r\n" +
				"STAT pointer_size 64\r\nSTAT curr_connections 2\r\nSTAT total_connections 917\r\n" +
				"STAT cmd_get 120312\r\nSTAT get_hits 110921\r\nSTAT curr_items 1024\r\nSTAT total_items 48213\r\n" +
				"STAT bytes 1048576\r\nSTAT limit_maxbytes 67108864\r\nSTAT threads 4\r\nEND\r\n"
		case "get", "gets":
			reply = "END\r\n"
		case "quit":
			return
		default:
			reply = "ERROR\r\n"
		}
		if s.write(reply) != nil {
			return
		}
	}
}

// ---- FTP ----

// ftp is an FTP control connection that lets anyone log in anonymously.
// It has no data connections: listing and transfers are refused.
func ftp(c net.Conn) {
	s := newSession(c)
	if s.write("220 (vsFTPd 2.3.4)\r\n") != nil {
		return
	}
	user, loggedIn := "", false
	for {
		line, err := s.line()
		if err != nil {
			return
		}
		cmd, arg, _ := strings.Cut(line, " ")
		var reply string
		switch strings.ToUpper(cmd) {
		case "USER":
			user, loggedIn = strings.ToLower(strings.TrimSpace(arg)), false
			reply = "331 Please specify the password.\r\n"
		case "PASS":
			switch {
			case user == "":
				reply = "503 Login with USER first.\r\n"
			case user == "anonymous" || user == "ftp":
				loggedIn = true
				reply = "230 Login successful.\r\n"
			default:
				reply = "530 Login incorrect.\r\n"
			}
		case "SYST":
			reply = "215 UNIX Type: L8\r\n"
		case "FEAT":
			reply = "211-Features:\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"
		case "PWD", "XPWD":
			if loggedIn {
				reply = "257 \"/\" is the current directory\r\n"
			} else {
				reply = "530 Please login with USER and PASS.\r\n"
			}
		case "TYPE":
			reply = "200 Switching to Binary mode.\r\n"
		case "NOOP":
			reply = "200 NOOP ok.\r\n"
		case "PASV", "EPSV", "PORT", "EPRT", "LIST", "NLST", "RETR", "STOR", "MLSD":
			reply = "425 Use PORT or PASV first.\r\n"
		case "QUIT":
			_ = s.write("221 Goodbye.\r\n")
			return
		default:
			reply = "500 Unknown command.\r\n"
		}
		if s.write(reply) != nil {
			return
		}
	}
}

// ---- Telnet ----

const (
	iac  = 255
	will = 251
	do   = 253
)

// telnet negotiates options, shows an old Ubuntu login banner and refuses
// every login.
func telnet(hostname string) func(net.Conn) {
	label, _, _ := strings.Cut(hostname, ".")
	return func(c net.Conn) {
		s := newSession(c)
		nego := string([]byte{iac, will, 1, iac, will, 3, iac, do, 24, iac, do, 31})
		if s.write(nego+"Ubuntu 14.04.6 LTS\r\n"+label+" login: ") != nil {
			return
		}
		for tries := 0; tries < 3; tries++ {
			if _, err := s.telnetLine(); err != nil {
				return
			}
			if s.write("Password: ") != nil {
				return
			}
			if _, err := s.telnetLine(); err != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
			if s.write("\r\nLogin incorrect\r\n"+label+" login: ") != nil {
				return
			}
		}
	}
}

// telnetLine reads a line and drops telnet commands from it.
func (s *session) telnetLine() (string, error) {
	line, err := s.line()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if line[i] == iac && i+2 < len(line) {
			i += 2
			continue
		}
		if line[i] >= 0x20 && line[i] < 0x7f {
			b.WriteByte(line[i])
		}
	}
	return b.String(), nil
}

// ---- SMTP ----

// smtp is a mail server that offers no STARTTLS and accepts no mail.
func smtp(hostname string) func(net.Conn) {
	return func(c net.Conn) {
		s := newSession(c)
		if s.write("220 "+hostname+" ESMTP Postfix (Ubuntu)\r\n") != nil {
			return
		}
		greeted, from := false, false
		for {
			line, err := s.line()
			if err != nil {
				return
			}
			cmd, _, _ := strings.Cut(line, " ")
			var reply string
			switch strings.ToUpper(cmd) {
			case "EHLO":
				greeted = true
				reply = "250-" + hostname + "\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n" +
					"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250 SMTPUTF8\r\n"
			case "HELO":
				greeted = true
				reply = "250 " + hostname + "\r\n"
			case "MAIL":
				if !greeted {
					reply = "503 5.5.1 Error: send HELO/EHLO first\r\n"
				} else {
					from = true
					reply = "250 2.1.0 Ok\r\n"
				}
			case "RCPT":
				if !from {
					reply = "503 5.5.1 Error: need MAIL command\r\n"
				} else {
					reply = "550 5.7.1 Recipient address rejected: the demo lab accepts no mail\r\n"
				}
			case "DATA":
				reply = "503 5.5.1 Error: need RCPT command\r\n"
			case "RSET":
				from = false
				reply = "250 2.0.0 Ok\r\n"
			case "NOOP":
				reply = "250 2.0.0 Ok\r\n"
			case "VRFY":
				reply = "252 2.0.0 Cannot VRFY user\r\n"
			case "AUTH":
				reply = "503 5.5.1 Error: authentication not enabled\r\n"
			case "QUIT":
				_ = s.write("221 2.0.0 Bye\r\n")
				return
			default: // STARTTLS included: Postfix without TLS does not know it
				reply = "502 5.5.2 Error: command not recognized\r\n"
			}
			if s.write(reply) != nil {
				return
			}
		}
	}
}
