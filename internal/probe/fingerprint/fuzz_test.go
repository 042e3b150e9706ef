package fingerprint

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Every parser of bytes from a target has a fuzz target here. Seeds are
// realistic replies (the fakes' bytes and hand-written captures); the
// invariants are: no panic, no fact longer than maxFactLen, and (where a
// parser claims success) the facts it promises.

func checkFacts(t *testing.T, f facts) {
	t.Helper()
	for k, v := range f {
		if len(v) > maxFactLen {
			t.Fatalf("fact %s is %d bytes", k, len(v))
		}
	}
}

func FuzzParseMySQLHandshake(f *testing.F) {
	f.Add(mysqlHandshake("8.0.36"))
	f.Add(mysqlHandshake("5.5.5-10.11.6-MariaDB-0+deb12u1"))
	f.Add(mysqlError(1130, "Host '10.0.0.9' is not allowed to connect to this MySQL server"))
	f.Add([]byte("\x4a\x00\x00\x00\x0a5.7.44-log\x00"))
	f.Add([]byte{1, 0, 0, 0, 10})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseMySQLHandshake(b)
		if err == nil {
			checkFacts(t, fs)
			if fs["mysql.protocol"] == "" {
				t.Fatal("success without mysql.protocol")
			}
		}
	})
}

func FuzzParseMSSQLPrelogin(f *testing.F) {
	f.Add([]byte("\x04\x01\x00\x2b\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\x03\x00\x22\x00\x00\x04\x00\x22\x00\x01\xff\x10\x00\x03\xe8\x00\x06\x02\x00\x00"))
	f.Add(mssqlPrelogin())
	f.Add([]byte{0x04, 0x01, 0x00, 0x09, 0, 0, 1, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseMSSQLPrelogin(b)
		if err == nil {
			checkFacts(t, fs)
			if fs["mssql.version"] == "" {
				t.Fatal("success without a version")
			}
		}
	})
}

func FuzzParseMongo(f *testing.F) {
	doc := bsonDocBytes("version", "7.0.5", "gitVersion", "abc", "versionArray", bsonDocBytes("0", int32(7)), "ok", 1.0, "t", true)
	f.Add(mongoHeader(append([]byte{0, 0, 0, 0, 0}, doc...), opMsg))
	f.Add(mongoHeader(append(make([]byte, 20), doc...), opReply))
	f.Add(mongoOpMsg("buildInfo"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseMongo(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseBSON(f *testing.F) {
	f.Add(bsonDocBytes("a", "b", "n", int32(1), "d", 2.5, "sub", bsonDocBytes("x", "y")))
	f.Add(bsonInt1Doc("hello", true))
	f.Add([]byte{5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := facts{}
		_ = flattenBSON(b, "x", fs)
		checkFacts(t, fs)
		if len(fs) > maxJSONFacts {
			t.Fatalf("%d facts", len(fs))
		}
	})
}

func FuzzParseSMB(f *testing.F) {
	var resp bytes.Buffer
	h := make([]byte, 64)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	body := make([]byte, 65)
	binary.LittleEndian.PutUint16(body, 65)
	binary.LittleEndian.PutUint16(body[4:], 0x0311)
	resp.Write(netbiosWrap(append(h, body...)))
	f.Add(resp.Bytes())
	f.Add(smb2Negotiate())
	f.Add(smb1Negotiate())
	f.Add([]byte{0x82, 0, 0, 0})
	f.Add([]byte{0x83, 0, 0, 1, 0x82})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseSMB(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseNTLMChallenge(f *testing.F) {
	f.Add(ntlmChallenge(10, 0, 20348, map[uint16]string{1: "FILESRV01", 2: "CORP", 3: "filesrv01.corp.example"}))
	f.Add(ntlmChallenge(6, 1, 0, map[uint16]string{1: "SAMBA", 2: "WORKGROUP"}))
	f.Add(ntlmNegotiate())
	f.Add(smb2SessionSetup(ntlmNegotiate()))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseNTLMChallenge(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseRDP(f *testing.F) {
	f.Add(rdpWindowsCC)
	f.Add([]byte{0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0, 0, 0x12, 0x34, 0, 0x03, 0x00, 0x08, 0x00, 0x05, 0, 0, 0})
	f.Add([]byte{0x03, 0x00, 0x00, 0x0b, 0x06, 0xd0, 0, 0, 0x12, 0x34, 0})
	f.Add(rdpRequest)
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseRDP(b)
		if err == nil {
			checkFacts(t, fs)
			if fs["rdp.x224"] != "cc" {
				t.Fatal("success without a connection confirm")
			}
		}
	})
}

func FuzzParseLDAP(f *testing.F) {
	id := berTLV(0x02, []byte{1})
	entry := berTLV(0x64, append(berTLV(0x04, nil), berTLV(0x30, append(ldapAttr("objectClass", "top", "OpenLDAProotDSE"), ldapAttr("namingContexts", "dc=example,dc=org")...))...))
	done := berTLV(0x65, append(append(berTLV(0x0a, []byte{0}), berTLV(0x04, nil)...), berTLV(0x04, nil)...))
	f.Add(append(berTLV(0x30, append(id, entry...)), berTLV(0x30, append(id, done...))...))
	f.Add(berTLV(0x30, append(berTLV(0x02, []byte{0}), berTLV(0x78, append(append(berTLV(0x0a, []byte{2}), berTLV(0x04, nil)...), berTLV(0x04, []byte("00000057: LdapErr: DSID-0C09, comment: Error decoding"))...))...)))
	f.Add(ldapRootDSE())
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseLDAP(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseMQTT(f *testing.F) {
	f.Add([]byte{0x20, 0x02, 0x00, 0x00})
	f.Add([]byte{0x20, 0x02, 0x00, 0x05})
	f.Add([]byte{0x20, 0x03, 0x00, 0x00, 0x00})
	f.Add(append([]byte{0x90, 0x03, 0x00, 0x01, 0x00}, mqttPacket(0x31, append(mqttString(mqttVersionTopic), "mosquitto version 2.0.18"...))...))
	f.Add(mqttConnect())
	f.Add([]byte{0x20, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseMQTT(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseHTTPResponse(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: 40\r\n\r\n<html><title>Welcome</title></html>"))
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1a\r\n{\"version\":{\"number\":\"8\"}}\r\n0\r\n\r\n"))
	f.Add([]byte("HTTP/1.0 404 Not Found\n\n[1,2,{\"a\":null}]"))
	f.Add([]byte("HTTP/1.1 403 Forbidden\r\n\r\n{\"kind\":\"Status\",\"apiVersion\":\"v1\"}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseHTTPResponse(b)
		if err == nil {
			checkFacts(t, fs)
			if len(fs["status"]) != 3 {
				t.Fatalf("status %q", fs["status"])
			}
		}
		_ = httpComplete(b)
		_ = dechunk(b)
	})
}

func FuzzParseTelnet(f *testing.F) {
	f.Add([]byte{iac, tDO, 24, iac, tDO, 32, iac, tWIL, 1, 'l', 'o', 'g', 'i', 'n', ':', ' '})
	f.Add([]byte{iac, tSB, 24, 1, iac, tSE, iac, iac, 'x'})
	f.Add([]byte{iac})
	f.Add([]byte("\r\nUser Access Verification\r\n\r\nPassword: "))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, reply := parseTelnet(b)
		checkFacts(t, fs)
		if len(reply)%3 != 0 || len(reply) > 3*len(b) {
			t.Fatalf("reply of %d bytes", len(reply))
		}
	})
}

func FuzzParseDNS(f *testing.F) {
	m := []byte{0x52, 0x50, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 0}
	m = append(m, dnsVersionBind[14:]...)
	m = append(m, 0xc0, 0x0c, 0, 16, 0, 3, 0, 0, 0, 0, 0, 17, 16)
	m = append(m, "9.18.24-1-Debian"...)
	f.Add(append(binary.BigEndian.AppendUint16(nil, uint16(len(m))), m...))
	f.Add([]byte{0, 12, 0x52, 0x50, 0x80, 0x05, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(dnsVersionBind)
	f.Add([]byte{0, 20, 0, 0, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0e, 0xc0, 0x0e})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseDNS(b)
		if err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseVNC(f *testing.F) {
	f.Add([]byte("RFB 003.008\n"), []byte{2, 1, 2}, false)
	f.Add([]byte("RFB 003.003\n"), []byte{0, 0, 0, 2}, true)
	f.Add([]byte("RFB 003.889\n"), []byte{0, 0, 0, 0, 10, 't', 'o', 'o', ' ', 'm', 'a', 'n', 'y'}, false)
	f.Fuzz(func(t *testing.T, v, sec []byte, legacy bool) {
		if fs, err := parseVNC(v); err == nil {
			checkFacts(t, fs)
		}
		if fs, err := parseVNCSecurity(sec, legacy); err == nil {
			checkFacts(t, fs)
		}
	})
}

func FuzzParseRedis(f *testing.F) {
	f.Add([]byte("+PONG\r\n$88\r\n# Server\r\nredis_version:7.2.4\r\nredis_mode:standalone\r\nos:Linux 6.8.0 x86_64\r\narch_bits:64\r\n\r\n"))
	f.Add([]byte("-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"))
	f.Add([]byte("$-1\r\n$99999\r\nx"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parseRedis(b)
		if err == nil {
			checkFacts(t, fs)
		}
		_ = redisComplete(b)
	})
}

func FuzzParsePostgres(f *testing.F) {
	f.Add(pgMsg('R', []byte("\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00")))
	f.Add(pgMsg('E', []byte("SFATAL\x00VFATAL\x00C28000\x00Mno pg_hba.conf entry\x00Fauth.c\x00L542\x00RClientAuthentication\x00\x00")))
	f.Add(append(append(pgMsg('R', []byte{0, 0, 0, 0}), pgMsg('S', []byte("server_version\x0016.2\x00"))...), pgMsg('Z', []byte("I"))...))
	f.Add([]byte{'R', 0, 0, 0, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := parsePostgres(b)
		if err == nil {
			checkFacts(t, fs)
		}
		_ = pgComplete(b)
	})
}

func FuzzParseBanner(f *testing.F) {
	f.Add([]byte("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n"))
	f.Add([]byte("220-FileZilla Server 1.8.1\r\n220 Please visit\r\n"))
	f.Add(mysqlHandshake("8.0.36"))
	f.Add([]byte("RFB 003.008\n"))
	f.Add([]byte{iac, tDO, 24})
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := parseBanner(b)
		checkFacts(t, fs)
		if len(b) > 0 {
			_ = bannerComplete(b)
		}
		if e := EscapeBanner(b, BannerMax); len(e) > BannerMax {
			t.Fatalf("escaped banner %d bytes", len(e))
		}
	})
}

// FuzzRuleMatch runs the built-in rules over hostile facts: any reply
// text, and the same text in the fields the regexes read most.
func FuzzRuleMatch(f *testing.F) {
	rs := DefaultRules()
	f.Add("banner", "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")
	f.Add("http", "nginx/1.24.0 (Ubuntu)")
	f.Add("banner", "220 mail.example ESMTP Postfix (Ubuntu)\r\n")
	f.Add("dns", "9.18.24-1-Debian")
	f.Add("mssql", "16")
	f.Fuzz(func(t *testing.T, kind, v string) {
		fs := map[string]string{
			"raw": v, "line": v, "header.server": v, "json.version.number": v, "json.gitVersion": v,
			"mysql.server_version": v, "dns.txt": v, "mssql.version_major": v, "mssql.version": v,
			"redis.redis_version": v, "telnet.text": v, "telnet.iac": "1", "status": "200",
		}
		m, ok := rs.Match(kind, fs)
		if ok && m.Service == "" {
			t.Fatal("match without a service")
		}
		if m.CPE != "" && len(bytes.Split([]byte(m.CPE), []byte(":"))) < 13 {
			t.Fatalf("short CPE %q", m.CPE)
		}
	})
}

// FuzzParseRules feeds the YAML loader arbitrary documents: an analyst's
// file must give rules or an error, never a panic.
func FuzzParseRules(f *testing.F) {
	data, _ := builtinRules.ReadFile("rules/ssh.yaml")
	f.Add(data)
	f.Add([]byte("rules:\n  - id: a\n    service: b\n    probe: [banner, http]\n    match:\n      - regex: '(?P<v>x)'\n    version: '{{v}}'\n"))
	f.Add([]byte("rules: {}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs, err := ParseRules("f.yaml", b)
		if err == nil && rs != nil {
			rs.Match("banner", map[string]string{"raw": "x", "line": "x"})
		}
	})
}
