package fingerprint

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fake servers: each speaks just enough of its protocol, on a loopback
// listener, to answer our probes the way the real product does.

type handler func(c net.Conn)

// serve starts a listener on 127.0.0.1 port 0 running h per connection.
func serve(t testing.TB, h handler) string {
	t.Helper()
	return serveOn(t, "127.0.0.1:0", h)
}

func serveOn(t testing.TB, addr string, h handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				h(c)
			}()
		}
	}()
	t.Cleanup(func() {
		close(done)
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// drain reads until the peer closes or the deadline passes.
func drain(c net.Conn) { io.Copy(io.Discard, c) }

func banner(text string) handler {
	return func(c net.Conn) {
		io.WriteString(c, text)
		drain(c)
	}
}

// readHTTPRequest reads one request head and returns its request line.
func readHTTPRequest(r *bufio.Reader) (string, bool) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", false
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			return "", false
		}
		if l == "\r\n" || l == "\n" {
			break
		}
	}
	return strings.TrimSpace(line), true
}

type httpReply struct {
	status  string
	headers []string
	body    string
}

// httpServer answers each request path from routes (key "" is the
// default); a request that is not HTTP gets the connection closed.
func httpServer(routes map[string]httpReply) handler {
	return func(c net.Conn) {
		r := bufio.NewReader(c)
		line, ok := readHTTPRequest(r)
		if !ok || !strings.HasPrefix(line, "GET ") {
			return
		}
		path := strings.Fields(line)[1]
		rep, ok := routes[path]
		if !ok {
			rep = routes[""]
		}
		if rep.status == "" {
			rep.status = "200 OK"
		}
		var b strings.Builder
		fmt.Fprintf(&b, "HTTP/1.1 %s\r\n", rep.status)
		for _, h := range rep.headers {
			b.WriteString(h + "\r\n")
		}
		fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(rep.body), rep.body)
		io.WriteString(c, b.String())
	}
}

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func fakeCert(t testing.TB) tls.Certificate {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(7),
			Subject:      pkix.Name{CommonName: "fake.example"},
			DNSNames:     []string{"fake.example"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// tlsWrap runs h inside a TLS server session.
func tlsWrap(t testing.TB, alpn []string, h handler) handler {
	cfg := &tls.Config{Certificates: []tls.Certificate{fakeCert(t)}, NextProtos: alpn}
	return func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return
		}
		h(tc)
	}
}

// ---- binary protocol replies ----

func mysqlHandshake(version string) []byte {
	var p bytes.Buffer
	p.WriteByte(10)
	p.WriteString(version + "\x00")
	p.Write([]byte{0x2a, 0, 0, 0})    // connection id 42
	p.WriteString("abcdefgh\x00")     // auth data part 1 + filler
	p.Write([]byte{0xff, 0xff})       // capabilities low
	p.WriteByte(0xff)                 // charset
	p.Write([]byte{0x02, 0x00})       // status
	p.Write([]byte{0xff, 0xdf})       // capabilities high (PLUGIN_AUTH set)
	p.WriteByte(21)                   // auth data length
	p.Write(make([]byte, 10))         // reserved
	p.WriteString("ijklmnopqrst\x00") // auth data part 2
	p.WriteString("caching_sha2_password\x00")
	n := p.Len()
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}, p.Bytes()...)
}

func mysqlError(code uint16, msg string) []byte {
	p := []byte{0xff, byte(code), byte(code >> 8)}
	p = append(p, msg...)
	n := len(p)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0}, p...)
}

// bsonDocBytes builds a BSON document from ordered key/value pairs
// (string, float64, int32, bool or a nested [][2]any).
func bsonDocBytes(kv ...any) []byte {
	var e bytes.Buffer
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			e.WriteByte(0x02)
			e.WriteString(k + "\x00")
			binary.Write(&e, binary.LittleEndian, int32(len(v)+1))
			e.WriteString(v + "\x00")
		case float64:
			e.WriteByte(0x01)
			e.WriteString(k + "\x00")
			binary.Write(&e, binary.LittleEndian, v)
		case int32:
			e.WriteByte(0x10)
			e.WriteString(k + "\x00")
			binary.Write(&e, binary.LittleEndian, v)
		case bool:
			e.WriteByte(0x08)
			e.WriteString(k + "\x00")
			if v {
				e.WriteByte(1)
			} else {
				e.WriteByte(0)
			}
		case []byte: // nested document, already encoded
			e.WriteByte(0x03)
			e.WriteString(k + "\x00")
			e.Write(v)
		}
	}
	e.WriteByte(0)
	out := binary.LittleEndian.AppendUint32(nil, uint32(4+e.Len()))
	return append(out, e.Bytes()...)
}

func mongoServer(version string) handler {
	return func(c net.Conn) {
		for {
			var hdr [16]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil {
				return
			}
			l := int(binary.LittleEndian.Uint32(hdr[:]))
			if l < 16 || l > 1<<20 {
				return
			}
			if _, err := io.CopyN(io.Discard, c, int64(l-16)); err != nil {
				return
			}
			doc := bsonDocBytes(
				"version", version,
				"gitVersion", "8d8a4a5e8ea0b4b1c4b9e1f0c7a8d8e3a1b5c6d7",
				"versionArray", bsonDocBytes("0", int32(7), "1", int32(0), "2", int32(5), "3", int32(0)),
				"maxBsonObjectSize", int32(16777216),
				"ok", 1.0,
			)
			body := append([]byte{0, 0, 0, 0, 0}, doc...)
			reply := mongoHeader(body, opMsg)
			binary.LittleEndian.PutUint32(reply[8:], binary.LittleEndian.Uint32(hdr[4:])) // responseTo
			c.Write(reply)
		}
	}
}

func pgMsg(typ byte, body []byte) []byte {
	out := []byte{typ, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(out[1:], uint32(4+len(body)))
	return append(out, body...)
}

// postgresServer answers SSLRequest with 'N' and a StartupMessage with
// the given messages.
func postgresServer(reply ...[]byte) handler {
	return func(c net.Conn) {
		for {
			var l [4]byte
			if _, err := io.ReadFull(c, l[:]); err != nil {
				return
			}
			n := int(binary.BigEndian.Uint32(l[:]))
			if n < 8 || n > 10000 {
				return
			}
			body := make([]byte, n-4)
			if _, err := io.ReadFull(c, body); err != nil {
				return
			}
			if binary.BigEndian.Uint32(body) == 80877103 {
				c.Write([]byte{'N'})
				continue
			}
			for _, m := range reply {
				c.Write(m)
			}
			return
		}
	}
}

func mssqlServer(major, minor byte, build, sub uint16) handler {
	return func(c net.Conn) {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 0x12 {
			return
		}
		io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint16(hdr[2:]))-8)
		table := []byte{
			0x00, 0, 26, 0, 6,
			0x01, 0, 32, 0, 1,
			0x02, 0, 33, 0, 1,
			0x03, 0, 34, 0, 0,
			0x04, 0, 34, 0, 1,
			0xff,
		}
		data := []byte{major, minor, byte(build >> 8), byte(build), byte(sub >> 8), byte(sub), 0x02, 0x00, 0x00}
		payload := append(table, data...)
		pkt := []byte{0x04, 0x01, 0, 0, 0, 0, 0x01, 0}
		binary.BigEndian.PutUint16(pkt[2:], uint16(8+len(payload)))
		c.Write(append(pkt, payload...))
		drain(c)
	}
}

func smbServer(dialect uint16) handler {
	return smbServerNTLM(dialect, ntlmChallenge(10, 0, 20348, map[uint16]string{1: "FILESRV01", 2: "CORP", 3: "filesrv01.corp.example", 4: "corp.example", 5: "corp.example"}))
}

func smbServerNTLM(dialect uint16, ch []byte) handler {
	return func(c net.Conn) {
		var nb [4]byte
		if _, err := io.ReadFull(c, nb[:]); err != nil {
			return
		}
		io.CopyN(io.Discard, c, int64(int(nb[1])<<16|int(nb[2])<<8|int(nb[3])))
		h := make([]byte, 64)
		copy(h, "\xfeSMB")
		binary.LittleEndian.PutUint16(h[4:], 64)
		binary.LittleEndian.PutUint16(h[14:], 1)
		binary.LittleEndian.PutUint32(h[16:], 1) // response flag
		body := make([]byte, 65)
		binary.LittleEndian.PutUint16(body[0:], 65)
		binary.LittleEndian.PutUint16(body[2:], 0x01) // signing enabled
		binary.LittleEndian.PutUint16(body[4:], dialect)
		copy(body[8:24], "0123456789abcdef")
		binary.LittleEndian.PutUint32(body[24:], 0x2f)
		binary.LittleEndian.PutUint32(body[28:], 8<<20)
		binary.LittleEndian.PutUint32(body[32:], 8<<20)
		binary.LittleEndian.PutUint32(body[36:], 8<<20)
		ft := uint64(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC).UnixNano()/100) + 116444736000000000
		binary.LittleEndian.PutUint64(body[40:], ft)
		binary.LittleEndian.PutUint16(body[56:], 0x80)
		c.Write(netbiosWrap(append(h, body...)))
		// SESSION_SETUP: answer an NTLMSSP NEGOTIATE with a CHALLENGE.
		if _, err := io.ReadFull(c, nb[:]); err != nil {
			return
		}
		req := make([]byte, int(nb[1])<<16|int(nb[2])<<8|int(nb[3]))
		if _, err := io.ReadFull(c, req); err != nil || !bytes.Contains(req, ntlmSignature) {
			return
		}
		h2 := append([]byte(nil), h...)
		binary.LittleEndian.PutUint32(h2[8:], 0xc0000016) // MORE_PROCESSING_REQUIRED
		binary.LittleEndian.PutUint16(h2[12:], 1)
		sb := make([]byte, 8)
		binary.LittleEndian.PutUint16(sb[0:], 9)
		binary.LittleEndian.PutUint16(sb[4:], 64+8)
		binary.LittleEndian.PutUint16(sb[6:], uint16(len(ch)))
		c.Write(netbiosWrap(append(append(h2, sb...), ch...)))
		drain(c)
	}
}

func ntlmChallenge(major, minor byte, build uint16, av map[uint16]string) []byte {
	var ti []byte
	for _, id := range []uint16{2, 1, 4, 3, 5} {
		v, ok := av[id]
		if !ok {
			continue
		}
		var u []byte
		for _, r := range v {
			u = binary.LittleEndian.AppendUint16(u, uint16(r))
		}
		ti = binary.LittleEndian.AppendUint16(ti, id)
		ti = binary.LittleEndian.AppendUint16(ti, uint16(len(u)))
		ti = append(ti, u...)
	}
	ti = append(ti, 0, 0, 0, 0)
	m := append([]byte(nil), ntlmSignature...)
	m = binary.LittleEndian.AppendUint32(m, 2)
	m = append(m, 0, 0, 0, 0, 56, 0, 0, 0) // empty target name at 56
	m = binary.LittleEndian.AppendUint32(m, 0xe2898215)
	m = append(m, []byte("challeng")...)
	m = append(m, make([]byte, 8)...)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(ti)))
	m = binary.LittleEndian.AppendUint16(m, uint16(len(ti)))
	m = binary.LittleEndian.AppendUint32(m, 56)
	m = append(m, major, minor, byte(build), byte(build>>8), 0, 0, 0, 15)
	return append(m, ti...)
}

func rdpServer(reply []byte) handler {
	return func(c net.Conn) {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 3 {
			return
		}
		io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint16(hdr[2:]))-4)
		c.Write(reply)
		drain(c)
	}
}

var rdpWindowsCC = []byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00,
	0x02, 0x1f, 0x08, 0x00, 0x02, 0x00, 0x00, 0x00}

func vncServer(version string, types ...byte) handler {
	return func(c net.Conn) {
		io.WriteString(c, version)
		buf := make([]byte, 12)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		c.Write(append([]byte{byte(len(types))}, types...))
		drain(c)
	}
}

func ldapAttr(name string, vals ...string) []byte {
	var vs []byte
	for _, v := range vals {
		vs = append(vs, berTLV(0x04, []byte(v))...)
	}
	return berTLV(0x30, append(berTLV(0x04, []byte(name)), berTLV(0x31, vs)...))
}

func ldapServer(attrs ...[]byte) handler {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := berNext(buf[:n]); err != nil {
			return
		}
		var al []byte
		for _, a := range attrs {
			al = append(al, a...)
		}
		entry := berTLV(0x64, append(berTLV(0x04, nil), berTLV(0x30, al)...))
		done := berTLV(0x65, append(append(berTLV(0x0a, []byte{0}), berTLV(0x04, nil)...), berTLV(0x04, nil)...))
		id := berTLV(0x02, []byte{1})
		c.Write(append(berTLV(0x30, append(id, entry...)), berTLV(0x30, append(id, done...))...))
		drain(c)
	}
}

func mqttServer(returnCode byte, version string) handler {
	return func(c net.Conn) {
		buf := make([]byte, 1024)
		if n, err := c.Read(buf); err != nil || n < 2 || buf[0] != 0x10 {
			return
		}
		c.Write([]byte{0x20, 0x02, 0x00, returnCode})
		if returnCode != 0 {
			return
		}
		n, err := c.Read(buf)
		if err != nil || n < 2 || buf[0] != 0x82 {
			return
		}
		c.Write([]byte{0x90, 0x03, 0x00, 0x01, 0x00})
		body := append(mqttString(mqttVersionTopic), version...)
		c.Write(mqttPacket(0x31, body))
		drain(c)
	}
}

func dnsServer(txt string) handler {
	return func(c net.Conn) {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		q := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, q); err != nil || len(q) < 12 {
			return
		}
		m := append([]byte(nil), q[:2]...)
		m = append(m, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0)
		m = append(m, q[12:]...) // question
		m = append(m, 0xc0, 0x0c, 0x00, 0x10, 0x00, 0x03, 0, 0, 0, 0)
		rd := append([]byte{byte(len(txt))}, txt...)
		m = binary.BigEndian.AppendUint16(m, uint16(len(rd)))
		m = append(m, rd...)
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...))
		drain(c)
	}
}

func telnetServer(c net.Conn) {
	c.Write([]byte{iac, tDO, 24, iac, tDO, 32, iac, tDO, 35, iac, tDO, 39})
	buf := make([]byte, 64)
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Read(buf); err != nil {
		return
	}
	c.Write([]byte{iac, tWIL, 3, iac, tWIL, 1})
	io.WriteString(c, "Ubuntu 22.04.4 LTS\r\nfake login: ")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	drain(c)
}

// redisServer speaks RESP (arrays and inline commands) like redis-server:
// PING, INFO, and errors for the rest; it hangs up on "Host:" as Redis
// does to HTTP cross-protocol requests.
func redisServer(info string) handler {
	return func(c net.Conn) {
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			var args []string
			if strings.HasPrefix(line, "*") {
				var n int
				fmt.Sscanf(line[1:], "%d", &n)
				for i := 0; i < n; i++ {
					r.ReadString('\n')
					a, _ := r.ReadString('\n')
					args = append(args, strings.TrimRight(a, "\r\n"))
				}
			} else {
				args = strings.Fields(line)
			}
			if len(args) == 0 {
				continue
			}
			switch cmd := strings.ToUpper(args[0]); {
			case cmd == "PING":
				io.WriteString(c, "+PONG\r\n")
			case cmd == "INFO":
				fmt.Fprintf(c, "$%d\r\n%s\r\n", len(info), info)
			case cmd == "HOST:" || cmd == "POST":
				return
			case cmd == "GET" && len(args) != 2:
				io.WriteString(c, "-ERR wrong number of arguments for 'get' command\r\n")
			default:
				fmt.Fprintf(c, "-ERR unknown command '%s', with args beginning with: \r\n", args[0])
			}
		}
	}
}

const redisInfo = "# Server\r\nredis_version:7.2.4\r\nredis_git_sha1:00000000\r\nredis_mode:standalone\r\nos:Linux 6.8.0-31-generic x86_64\r\narch_bits:64\r\ntcp_port:6379\r\n"

func memcachedServer(c net.Conn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) == "version" {
			io.WriteString(c, "VERSION 1.6.21\r\n")
		} else {
			io.WriteString(c, "ERROR\r\n")
		}
	}
}

type peekConn struct {
	net.Conn
	r *bufio.Reader
}

func (p peekConn) Read(b []byte) (int, error) { return p.r.Read(b) }

// tlsOnlyNginx is nginx with "listen 8443 ssl": TLS clients get h, plain
// HTTP gets nginx's 400 page.
func tlsOnlyNginx(t testing.TB, h handler) handler {
	inner := tlsWrap(t, nil, h)
	return func(c net.Conn) {
		r := bufio.NewReader(c)
		first, err := r.Peek(1)
		if err != nil {
			return
		}
		pc := peekConn{Conn: c, r: r}
		if first[0] == 0x16 {
			inner(pc)
			return
		}
		readHTTPRequest(r)
		body := "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"
		fmt.Fprintf(c, "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	}
}

// netbiosSMB accepts a NetBIOS session request, then answers SMB2.
func netbiosSMB(dialect uint16) handler {
	smb := smbServer(dialect)
	return func(c net.Conn) {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil || hdr[0] != 0x81 {
			return
		}
		io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint16(hdr[2:])))
		c.Write([]byte{0x82, 0, 0, 0})
		smb(c)
	}
}
