package fingerprint

import (
	"bytes"
	"encoding/binary"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// probe is one way of making a service talk. run uses the connection it is
// given (fresh, or the silent banner connection) and may dial more. It
// returns the probe queue to continue with when it changes the session's
// transport (only the TLS probe does), or nil.
type probe struct {
	run func(s *session, c net.Conn) []string
}

// probes is the table of probes by name, built on first use.
var probes = sync.OnceValue(func() map[string]probe {
	return map[string]probe{
		"banner":       {run: runBannerOnly},
		"http":         {run: httpProbe("/")},
		"http-version": {run: httpProbe("/version")},
		"tls":          {run: runTLS},
		"redis":        {run: simple(KindRedis, redisRequest, redisComplete, parseRedis)},
		"memcached":    {run: simple(KindMemcached, func(*session) []byte { return []byte("version\r\n") }, lineComplete, nil)},
		"mongodb":      {run: runMongo},
		"postgresql":   {run: runPostgres},
		"mssql":        {run: simple(KindMSSQL, func(*session) []byte { return mssqlPrelogin() }, tdsComplete, parseMSSQLPrelogin)},
		"smb":          {run: runSMB(false)},
		"smb-netbios":  {run: runSMB(true)},
		"rdp":          {run: simple(KindRDP, func(*session) []byte { return rdpRequest }, tpktComplete, parseRDP)},
		"ldap":         {run: simple(KindLDAP, func(*session) []byte { return ldapRootDSE() }, ldapComplete, parseLDAP)},
		"mqtt":         {run: runMQTT},
		"dns":          {run: simple(KindDNS, func(*session) []byte { return dnsVersionBind }, dnsComplete, parseDNS)},
	}
})

// genericProbes run, in this order, after a port's own hints; the cheap
// and common ones first. TotalTimeout decides how far down a silent port
// gets.
var genericProbes = []string{"http", "tls", "redis", "memcached", "mongodb", "postgresql", "mssql", "smb", "rdp", "ldap", "mqtt", "dns"}

// followup names the probe that puts a version on a service first
// recognised without one.
func followup(service string) (probe string, ok bool) {
	switch service {
	case "docker", "kubernetes":
		return "http-version", true
	case "redis", "mongodb":
		return service, true
	}
	return "", false
}

type bannerHint int

const (
	bannerMaybe bannerHint = iota // wait BannerWait
	bannerYes                     // server speaks first: wait Timeout
	bannerNo                      // client speaks first: do not wait
)

type portHint struct {
	banner bannerHint
	probes []string // tried first, before genericProbes
	inner  []string // inside TLS, when TLS succeeds
}

// portHints is the port table, built on first use.
var portHints = sync.OnceValue(func() map[uint16]portHint {
	m := map[uint16]portHint{}
	hint := func(h portHint, ports ...uint16) {
		for _, p := range ports {
			m[p] = h
		}
	}
	hint(portHint{banner: bannerYes}, 21, 22, 23, 25, 110, 143, 587, 2525, 2222, 3306, 5900, 5901, 5902, 5903)
	hint(portHint{banner: bannerNo, probes: []string{"http"}}, 80, 81, 591, 3000, 5000, 8000, 8008, 8080, 8081, 8088, 8888, 9000, 9090, 9200)
	hint(portHint{banner: bannerNo, probes: []string{"tls"}, inner: []string{"http"}}, 443, 4443, 8443, 9443, 10443)
	hint(portHint{banner: bannerNo, probes: []string{"tls"}, inner: []string{"banner", "http"}}, 465, 990, 992, 993, 995)
	hint(portHint{banner: bannerNo, probes: []string{"redis"}}, 6379)
	hint(portHint{banner: bannerNo, probes: []string{"mongodb"}}, 27017, 27018, 27019)
	hint(portHint{banner: bannerNo, probes: []string{"memcached"}}, 11211)
	hint(portHint{banner: bannerNo, probes: []string{"http-version", "http"}}, 2375)
	hint(portHint{banner: bannerNo, probes: []string{"tls"}, inner: []string{"http-version", "http"}}, 2376, 6443, 10250, 10257, 10259)
	hint(portHint{banner: bannerNo, probes: []string{"rdp"}}, 3389)
	hint(portHint{banner: bannerNo, probes: []string{"smb"}}, 445)
	hint(portHint{banner: bannerNo, probes: []string{"smb-netbios"}}, 139)
	hint(portHint{banner: bannerNo, probes: []string{"ldap"}}, 389, 3268)
	hint(portHint{banner: bannerNo, probes: []string{"tls"}, inner: []string{"ldap"}}, 636, 3269)
	hint(portHint{banner: bannerNo, probes: []string{"mqtt"}}, 1883)
	hint(portHint{banner: bannerNo, probes: []string{"tls"}, inner: []string{"mqtt"}}, 8883)
	hint(portHint{banner: bannerNo, probes: []string{"dns"}}, 53)
	hint(portHint{banner: bannerNo, probes: []string{"postgresql"}}, 5432)
	hint(portHint{banner: bannerNo, probes: []string{"mssql"}}, 1433)
	return m
})

func hintFor(port uint16) portHint { return portHints()[port] }

// simple is a probe that sends one request and parses one reply.
func simple(kind string, req func(*session) []byte, complete func([]byte) bool, parse func([]byte) (facts, error)) func(*session, net.Conn) []string {
	return func(s *session, c net.Conn) []string {
		raw := s.exchange(c, req(s), complete)
		if len(raw) == 0 {
			return nil
		}
		var f facts
		if parse != nil {
			f, _ = parse(raw)
		}
		s.evaluate(kind, raw, f)
		return nil
	}
}

func runBannerOnly(s *session, c net.Conn) []string {
	raw, _ := s.read(c, s.p.o.Timeout, bannerComplete)
	if len(raw) > 0 {
		s.banner(c, raw)
	}
	return nil
}

// ---- HTTP ----

func httpProbe(path string) func(*session, net.Conn) []string {
	return func(s *session, c net.Conn) []string {
		raw := s.exchange(c, s.httpRequest(path), httpComplete)
		if len(raw) == 0 {
			return nil
		}
		f, err := parseHTTPResponse(raw)
		if err != nil {
			s.evaluate(KindBanner, raw, parseBanner(raw))
			return nil
		}
		f.set("path", path)
		if !s.tls && tlsRequired(f) {
			// A TLS server that answers plain HTTP with an explanation;
			// identify what is inside instead of the error page.
			s.addExtra("http.server", f["header.server"])
			if len(raw) > 0 && s.firstRaw == nil {
				s.firstRaw = raw
			}
			return append([]string{"tls"}, genericProbes...)
		}
		s.evaluate(KindHTTP, raw, f)
		return nil
	}
}

// tlsRequiredRE matches the error pages that web servers send when plain
// HTTP reaches a TLS port (nginx, Apache httpd, Go net/http, others).
var tlsRequiredRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)plain HTTP request was sent to HTTPS port|speaking plain HTTP to an SSL-enabled server|HTTP request to an HTTPS server|This combination of host and port requires TLS|use the HTTPS scheme`)
})

func tlsRequired(f facts) bool {
	return (f["status"] == "400" || f["status"] == "497") && tlsRequiredRE().MatchString(f["body"])
}

func (s *session) httpRequest(path string) []byte {
	host := s.host
	if host == "" {
		host = s.addr.Addr().String()
		if s.addr.Addr().Is6() {
			host = "[" + host + "]"
		}
	}
	if p := s.addr.Port(); !(p == 80 && !s.tls) && !(p == 443 && s.tls) {
		host += ":" + strconv.Itoa(int(p))
	}
	var b strings.Builder
	b.WriteString("GET " + path + " HTTP/1.1\r\n")
	b.WriteString("Host: " + host + "\r\n")
	b.WriteString("User-Agent: " + s.p.o.UserAgent + "\r\n")
	b.WriteString("Accept: */*\r\nConnection: close\r\n\r\n")
	return []byte(b.String())
}

// ---- TLS ----

func runTLS(s *session, c net.Conn) []string {
	tc, rec, err := s.handshake(c, []string{"h2", "http/1.1"})
	if err != nil {
		if len(rec) > 0 {
			// Not TLS, but it talked: maybe a cleartext server-first
			// service on a TLS port.
			s.evaluate(KindBanner, rec, parseBanner(rec))
		}
		return nil
	}
	s.tls = true
	st := tc.ConnectionState()
	f := tlsFacts(st)
	for _, k := range []string{"tls.version", "tls.alpn", "tls.cert.subject", "tls.cert.issuer", "tls.cert.sans", "tls.cert.not_after"} {
		s.addExtra(k, f[k])
	}
	f["port"] = strconv.Itoa(int(s.addr.Port()))
	if m, ok := s.p.rules.Match(KindTLS, f); ok {
		s.tlsMatch = &m
	}
	inner := hintFor(s.addr.Port()).inner
	if len(inner) == 0 {
		inner = []string{"http", "banner"}
	}
	// Hand the connection to the first inner probe unless the server
	// chose HTTP/2, which our HTTP/1.1 probe cannot speak.
	if st.NegotiatedProtocol != "h2" {
		s.pending = tc
	}
	return inner
}

// ---- Redis ----

func redisRequest(*session) []byte {
	return []byte("*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n")
}

// redisComplete reports two whole RESP replies.
func redisComplete(b []byte) bool {
	n := 0
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return false
		}
		line := b[:i]
		b = b[i+2:]
		if len(line) > 0 && line[0] == '$' {
			l, err := strconv.Atoi(string(line[1:]))
			if err != nil {
				return true
			}
			if l >= 0 {
				if len(b) < l+2 {
					return false
				}
				b = b[l+2:]
			}
		}
		if n++; n >= 2 {
			return true
		}
	}
	return false
}

func lineComplete(b []byte) bool { return bytes.HasSuffix(b, []byte("\n")) }

// ---- MongoDB ----

// bsonInt1Doc is a BSON document {<cmd>: 1, $db: "admin"} (or without $db).
func bsonInt1Doc(cmd string, withDB bool) []byte {
	var e bytes.Buffer
	e.WriteByte(0x10)
	e.WriteString(cmd)
	e.WriteByte(0)
	e.Write([]byte{1, 0, 0, 0})
	if withDB {
		e.WriteByte(0x02)
		e.WriteString("$db\x00")
		e.Write([]byte{6, 0, 0, 0})
		e.WriteString("admin\x00")
	}
	e.WriteByte(0)
	doc := make([]byte, 4, 4+e.Len())
	binary.LittleEndian.PutUint32(doc, uint32(4+e.Len()))
	return append(doc, e.Bytes()...)
}

func mongoHeader(body []byte, op uint32) []byte {
	h := make([]byte, 16, 16+len(body))
	binary.LittleEndian.PutUint32(h[0:], uint32(16+len(body)))
	binary.LittleEndian.PutUint32(h[4:], 0x52414d50) // request id "RAMP"
	binary.LittleEndian.PutUint32(h[12:], op)
	return append(h, body...)
}

func mongoOpMsg(cmd string) []byte {
	body := []byte{0, 0, 0, 0, 0} // flagBits, section kind 0
	return mongoHeader(append(body, bsonInt1Doc(cmd, true)...), opMsg)
}

func mongoOpQuery(cmd string) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0})
	b.WriteString("admin.$cmd\x00")
	b.Write([]byte{0, 0, 0, 0})             // skip
	b.Write([]byte{0xff, 0xff, 0xff, 0xff}) // return -1
	b.Write(bsonInt1Doc(cmd, false))
	return mongoHeader(b.Bytes(), 2004)
}

func mongoComplete(b []byte) bool {
	return len(b) >= 4 && int(binary.LittleEndian.Uint32(b)) <= len(b)
}

// runMongo asks buildInfo over OP_MSG (MongoDB 3.6+) and falls back to
// OP_QUERY on a new connection for older servers.
func runMongo(s *session, c net.Conn) []string {
	raw := s.exchange(c, mongoOpMsg("buildInfo"), mongoComplete)
	f, err := parseMongo(raw)
	if err != nil && !expired(s.ctx) {
		if c2, derr := s.dial(); derr == nil {
			if r2 := s.exchange(c2, mongoOpQuery("buildinfo"), mongoComplete); len(r2) > 0 {
				raw = r2
				f, _ = parseMongo(r2)
			}
			c2.Close()
		}
	}
	if len(raw) > 0 {
		s.evaluate(KindMongoDB, raw, f)
	}
	return nil
}

// ---- PostgreSQL ----

var pgSSLRequest = []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}

func pgStartup() []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0, 0, 3, 0, 0})
	b.WriteString("user\x00rampart\x00database\x00rampart\x00application_name\x00rampart-fingerprint\x00\x00")
	out := b.Bytes()
	binary.BigEndian.PutUint32(out, uint32(len(out)))
	return out
}

// pgComplete: an ErrorResponse, an authentication request other than OK,
// or ReadyForQuery.
func pgComplete(b []byte) bool {
	for len(b) >= 5 {
		l := int(binary.BigEndian.Uint32(b[1:5]))
		if l < 4 || len(b)-1 < l {
			return false
		}
		switch b[0] {
		case 'E', 'Z':
			return true
		case 'R':
			if l >= 8 && binary.BigEndian.Uint32(b[5:9]) != 0 {
				return true
			}
		}
		b = b[1+l:]
	}
	return false
}

func runPostgres(s *session, c net.Conn) []string {
	ans := s.exchange(c, pgSSLRequest, func(b []byte) bool { return len(b) >= 1 })
	if len(ans) == 0 {
		return nil
	}
	ssl := ""
	switch ans[0] {
	case 'S':
		ssl = "supported"
		// The server now expects a TLS handshake; start over in clear.
		c.Close()
		var err error
		if c, err = s.dial(); err != nil {
			return nil
		}
		defer c.Close()
	case 'N':
		ssl = "refused"
	default:
		// Perhaps an old server's ErrorResponse, perhaps not PostgreSQL.
		f, err := parsePostgres(ans)
		if err != nil {
			s.evaluate(KindBanner, ans, parseBanner(ans))
			return nil
		}
		s.evaluate(KindPostgres, ans, f)
		return nil
	}
	raw := s.exchange(c, pgStartup(), pgComplete)
	f, err := parsePostgres(raw)
	if err != nil {
		if len(raw) > 0 {
			s.evaluate(KindBanner, raw, parseBanner(raw))
		}
		return nil
	}
	f.set("pg.ssl", ssl)
	s.evaluate(KindPostgres, raw, f)
	return nil
}

// ---- MSSQL ----

func mssqlPrelogin() []byte {
	type opt struct {
		tok  byte
		data []byte
	}
	opts := []opt{
		{0x00, []byte{0, 0, 0, 0, 0, 0}}, // VERSION (client)
		{0x01, []byte{0x02}},             // ENCRYPTION: not supported
		{0x02, []byte{0}},                // INSTOPT: default instance
		{0x03, []byte{0, 0, 0, 0}},       // THREADID
		{0x04, []byte{0}},                // MARS off
	}
	table := len(opts)*5 + 1
	var hdr, data bytes.Buffer
	for _, o := range opts {
		hdr.WriteByte(o.tok)
		var x [4]byte
		binary.BigEndian.PutUint16(x[:2], uint16(table+data.Len()))
		binary.BigEndian.PutUint16(x[2:], uint16(len(o.data)))
		hdr.Write(x[:])
		data.Write(o.data)
	}
	hdr.WriteByte(0xff)
	payload := append(hdr.Bytes(), data.Bytes()...)
	pkt := []byte{0x12, 0x01, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(pkt[2:], uint16(8+len(payload)))
	return append(pkt, payload...)
}

func tdsComplete(b []byte) bool {
	return len(b) >= 8 && int(binary.BigEndian.Uint16(b[2:4])) <= len(b)
}

// ---- SMB ----

// smb2Negotiate offers SMB 2.0.2 to 3.0.2 (3.1.1 needs negotiate contexts
// that tell us nothing more here).
func smb2Negotiate() []byte {
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint16(h[14:], 1) // credits requested
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body[0:], 36)
	dialects := []uint16{0x0202, 0x0210, 0x0300, 0x0302}
	binary.LittleEndian.PutUint16(body[2:], uint16(len(dialects)))
	binary.LittleEndian.PutUint16(body[4:], 1) // signing enabled
	copy(body[12:28], "rampart-fingerpr")      // client GUID
	for _, d := range dialects {
		body = binary.LittleEndian.AppendUint16(body, d)
	}
	return netbiosWrap(append(h, body...))
}

// smb1Negotiate is the multi-protocol negotiate that older servers need
// and newer ones answer with SMB2.
func smb1Negotiate() []byte {
	h := make([]byte, 32)
	copy(h, "\xffSMB")
	h[4] = 0x72                                   // NEGOTIATE
	h[9] = 0x18                                   // flags: case-insensitive, canonical paths
	binary.LittleEndian.PutUint16(h[10:], 0xc853) // flags2: unicode, NT status, long names, ext security
	var d bytes.Buffer
	for _, n := range []string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"} {
		d.WriteByte(0x02)
		d.WriteString(n)
		d.WriteByte(0)
	}
	body := []byte{0} // word count
	body = binary.LittleEndian.AppendUint16(body, uint16(d.Len()))
	return netbiosWrap(append(append(h, body...), d.Bytes()...))
}

func netbiosWrap(msg []byte) []byte {
	out := []byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}
	return append(out, msg...)
}

// netbiosSessionRequest asks for a session with *SMBSERVER, which Windows
// and Samba accept on port 139.
func netbiosSessionRequest() []byte {
	enc := func(name string) []byte {
		n := []byte(name + strings.Repeat(" ", 16))[:16]
		out := []byte{32}
		for _, c := range n {
			out = append(out, 'A'+c>>4, 'A'+c&0x0f)
		}
		return append(out, 0)
	}
	body := append(enc("*SMBSERVER"), enc("RAMPART")...)
	return append([]byte{0x81, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}

func nbssComplete(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	l := int(b[1]&1)<<16 | int(b[2])<<8 | int(b[3])
	return len(b) >= 4+l
}

func runSMB(netbios bool) func(*session, net.Conn) []string {
	return func(s *session, c net.Conn) []string {
		var pre []byte
		if netbios {
			pre = s.exchange(c, netbiosSessionRequest(), nbssComplete)
			if len(pre) == 0 || pre[0] != 0x82 {
				if len(pre) > 0 {
					f, _ := parseSMB(pre)
					s.evaluate(KindSMB, pre, f)
				}
				return nil
			}
		}
		raw := s.exchange(c, smb2Negotiate(), nbssComplete)
		f, err := parseSMB(raw)
		if err == nil && f["smb.protocol"] == "2" && f["smb.dialect"] != "" && !expired(s.ctx) {
			// Same connection: ask for an NTLM challenge, which names the
			// OS version and the host.
			if ch := s.exchange(c, smb2SessionSetup(ntlmNegotiate()), nbssComplete); len(ch) > 0 {
				if nf, err := parseNTLMChallenge(ch); err == nil {
					for k, v := range nf {
						f[k] = v
					}
				}
			}
		}
		if (err != nil || f["smb.protocol"] == "") && !expired(s.ctx) && !netbios {
			// Perhaps SMB1 only: try the multi-protocol negotiate.
			if c2, derr := s.dial(); derr == nil {
				if r2 := s.exchange(c2, smb1Negotiate(), nbssComplete); len(r2) > 0 {
					raw = r2
					f, _ = parseSMB(r2)
				}
				c2.Close()
			}
		}
		if len(raw) > 0 {
			s.evaluate(KindSMB, raw, f)
		}
		return nil
	}
}

// ---- RDP ----

// rdpRequest is a TPKT/X.224 Connection Request with an RDP negotiation
// request for TLS and CredSSP.
var rdpRequest = []byte{
	0x03, 0x00, 0x00, 0x13, // TPKT, length 19
	0x0e, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00, // X.224 CR
	0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00, // RDP_NEG_REQ: TLS|CredSSP
}

func tpktComplete(b []byte) bool {
	return len(b) >= 4 && b[0] == 3 && int(binary.BigEndian.Uint16(b[2:4])) <= len(b)
}

// ---- LDAP ----

func berTLV(tag byte, content []byte) []byte {
	l := len(content)
	var out []byte
	switch {
	case l < 0x80:
		out = []byte{tag, byte(l)}
	case l < 0x100:
		out = []byte{tag, 0x81, byte(l)}
	default:
		out = []byte{tag, 0x82, byte(l >> 8), byte(l)}
	}
	return append(out, content...)
}

// ldapRootDSE is an anonymous base-scope search of the root DSE.
func ldapRootDSE() []byte {
	var attrs []byte
	for _, a := range []string{"*", "+", "vendorName", "vendorVersion", "namingContexts", "supportedLDAPVersion",
		"defaultNamingContext", "dnsHostName", "serverName", "domainControllerFunctionality",
		"forestFunctionality", "supportedCapabilities", "objectClass", "isGlobalCatalogReady"} {
		attrs = append(attrs, berTLV(0x04, []byte(a))...)
	}
	var req []byte
	req = append(req, berTLV(0x04, nil)...)                   // base ""
	req = append(req, berTLV(0x0a, []byte{0})...)             // scope base
	req = append(req, berTLV(0x0a, []byte{0})...)             // never deref
	req = append(req, berTLV(0x02, []byte{0})...)             // size limit
	req = append(req, berTLV(0x02, []byte{5})...)             // time limit 5s
	req = append(req, berTLV(0x01, []byte{0})...)             // types only: false
	req = append(req, berTLV(0x87, []byte("objectClass"))...) // (objectClass=*)
	req = append(req, berTLV(0x30, attrs)...)
	msg := append(berTLV(0x02, []byte{1}), berTLV(0x63, req)...)
	return berTLV(0x30, msg)
}

func ldapComplete(b []byte) bool {
	f, err := parseLDAP(b)
	if err != nil {
		return false
	}
	_, done := f["ldap.result_code"]
	return done
}

// ---- MQTT ----

func mqttString(s string) []byte {
	return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...)
}

func mqttPacket(first byte, body []byte) []byte {
	out := []byte{first}
	l := len(body)
	for {
		d := byte(l % 128)
		l /= 128
		if l > 0 {
			d |= 0x80
		}
		out = append(out, d)
		if l == 0 {
			break
		}
	}
	return append(out, body...)
}

func mqttConnect() []byte {
	var b []byte
	b = append(b, mqttString("MQTT")...)
	b = append(b, 4, 0x02, 0, 30) // level 3.1.1, clean session, keepalive 30s
	b = append(b, mqttString("rampart-fingerprint")...)
	return mqttPacket(0x10, b)
}

const mqttVersionTopic = "$SYS/broker/version"

func mqttSubscribe() []byte {
	b := []byte{0, 1} // packet id
	b = append(b, mqttString(mqttVersionTopic)...)
	b = append(b, 0) // QoS 0
	return mqttPacket(0x82, b)
}

// mqttWhole reports that b holds whole packets only.
func mqttWhole(b []byte) bool {
	f, err := parseMQTT(b)
	return err == nil && len(f) > 0
}

// runMQTT connects anonymously; when the broker accepts, it subscribes to
// the broker's version topic (retained on Mosquitto), then disconnects.
func runMQTT(s *session, c net.Conn) []string {
	raw := s.exchange(c, mqttConnect(), mqttWhole)
	f, err := parseMQTT(raw)
	if err != nil {
		if len(raw) > 0 {
			s.evaluate(KindBanner, raw, parseBanner(raw))
		}
		return nil
	}
	if f["mqtt.return_code"] == "0" && !expired(s.ctx) {
		more := s.exchange(c, mqttSubscribe(), func(b []byte) bool {
			g, err := parseMQTT(b)
			if err != nil {
				return false
			}
			for k := range g {
				if strings.HasPrefix(k, "mqtt.publish.") {
					return true
				}
			}
			return false
		})
		if len(more) > 0 {
			if g, err := parseMQTT(more); err == nil {
				for k, v := range g {
					if _, dup := f[k]; !dup {
						f[k] = v
					}
				}
			}
		}
		s.write(c, []byte{0xe0, 0})
	}
	s.evaluate(KindMQTT, raw, f)
	return nil
}

// ---- DNS ----

// dnsVersionBind asks "version.bind. CH TXT" over TCP.
var dnsVersionBind = []byte{
	0x00, 0x1e, // length 30
	0x52, 0x50, 0x00, 0x00, // id, flags (no recursion)
	0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x07, 'v', 'e', 'r', 's', 'i', 'o', 'n', 0x04, 'b', 'i', 'n', 'd', 0x00,
	0x00, 0x10, 0x00, 0x03, // TXT, CH
}

func dnsComplete(b []byte) bool {
	return len(b) >= 2 && int(binary.BigEndian.Uint16(b))+2 <= len(b)
}
