package svc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaSMBSigning = meta("svc.smb-signing-not-required", finding.Medium,
	"SMB signing not required", "SMB không bắt buộc ký gói tin",
	"The SMB server enables message signing but does not require it (or does not offer it). Without signing, an attacker who can relay or intercept traffic (NTLM relay with tools such as ntlmrelayx, or a man in the middle) can act on file shares and services with the victim's identity; relaying to servers that do not require signing is a standard step of Active Directory compromise.",
	"Máy chủ SMB có hỗ trợ nhưng không bắt buộc ký gói tin (hoặc không hỗ trợ). Khi không ký, kẻ tấn công có thể chuyển tiếp hoặc chặn lưu lượng (tấn công NTLM relay bằng các công cụ như ntlmrelayx, hoặc đứng giữa) để thao tác trên thư mục chia sẻ và dịch vụ dưới danh tính nạn nhân; chuyển tiếp tới máy chủ không bắt buộc ký là bước quen thuộc khi chiếm quyền Active Directory.",
	"Require signing: Windows Group Policy \"Microsoft network server: Digitally sign communications (always)\" (RequireSecuritySignature=1), Samba 'server signing = mandatory'; and keep SMB off the internet.",
	"Bắt buộc ký: trên Windows bật chính sách \"Microsoft network server: Digitally sign communications (always)\" (RequireSecuritySignature=1), trên Samba đặt 'server signing = mandatory'; và không để SMB truy cập được từ Internet.",
	"CWE-294", "CWE-345")

var metaSMBv1 = meta("svc.smbv1-enabled", finding.Medium,
	"SMB version 1 enabled", "Giao thức SMB phiên bản 1 còn bật",
	"The server still accepts the SMB1 (NT LM 0.12) dialect. SMB1 has no protection against downgrade, weak integrity checks, and carried the wormable EternalBlue and EternalRomance vulnerabilities (WannaCry, NotPetya); Microsoft has deprecated it since 2014.",
	"Máy chủ vẫn chấp nhận giao thức SMB1 (NT LM 0.12). SMB1 không chống hạ cấp, kiểm tra toàn vẹn yếu, và là nơi có các lỗ hổng lây lan kiểu sâu EternalBlue, EternalRomance (WannaCry, NotPetya); Microsoft đã ngừng khuyến nghị từ năm 2014.",
	"Disable SMB1: Windows Set-SmbServerConfiguration -EnableSMB1Protocol $false (or remove the SMB1 feature), Samba 'server min protocol = SMB2_10' or later; upgrade devices that speak only SMB1.",
	"Tắt SMB1: trên Windows chạy Set-SmbServerConfiguration -EnableSMB1Protocol $false (hoặc gỡ tính năng SMB1), trên Samba đặt 'server min protocol = SMB2_10' trở lên; nâng cấp thiết bị chỉ hỗ trợ SMB1.",
	"CWE-327", "CVE-2017-0144", "CVE-2017-0145")

// SMB2 commands and statuses we use.
const (
	cmdNegotiate       = 0
	cmdSessionSetup    = 1
	cmdLogoff          = 2
	cmdTreeConnect     = 3
	cmdCreate          = 5
	cmdClose           = 6
	cmdRead            = 8
	cmdWrite           = 9
	statusSuccess      = 0
	statusMoreProc     = 0xC0000016
	smb2HeaderLen      = 64
	smbSigningEnabled  = 0x01
	smbSigningRequired = 0x02
)

// smbDialects are offered in NEGOTIATE: 2.0.2 to 3.0.2 (3.1.1 needs
// negotiate contexts and says nothing more about signing).
var smbDialects = []uint16{0x0202, 0x0210, 0x0300, 0x0302}

// SMB2NegotiateResponse is what a NEGOTIATE response tells.
type SMB2NegotiateResponse struct {
	Status       uint32
	SecurityMode uint16
	Dialect      uint16
	Capabilities uint32
	ServerGUID   [16]byte
	SecurityBlob []byte
}

// SigningRequired reports the server's signing rule.
func (r *SMB2NegotiateResponse) SigningRequired() bool {
	return r.SecurityMode&smbSigningRequired != 0
}

// ErrNotSMB says a reply is not the SMB message expected.
var ErrNotSMB = errors.New("svc: not an SMB reply")

// smb2Header builds a request header.
func smb2Header(cmd uint16, msgID uint64, credit uint16, tree uint32, session uint64) []byte {
	h := make([]byte, smb2HeaderLen)
	copy(h, "\xfeSMB")
	binary.LittleEndian.PutUint16(h[4:], 64)
	binary.LittleEndian.PutUint16(h[6:], credit) // credit charge
	binary.LittleEndian.PutUint16(h[12:], cmd)
	binary.LittleEndian.PutUint16(h[14:], 31) // credits requested
	binary.LittleEndian.PutUint64(h[24:], msgID)
	binary.LittleEndian.PutUint32(h[32:], 0xfeff) // process id
	binary.LittleEndian.PutUint32(h[36:], tree)
	binary.LittleEndian.PutUint64(h[40:], session)
	return h
}

// nbss frames an SMB message in a NetBIOS session message (direct TCP).
func nbss(msg []byte) []byte {
	return append([]byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

// smb2NegotiateRequest offers smbDialects with signing enabled.
func smb2NegotiateRequest() []byte {
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body[0:], 36)
	binary.LittleEndian.PutUint16(body[2:], uint16(len(smbDialects)))
	binary.LittleEndian.PutUint16(body[4:], smbSigningEnabled)
	binary.LittleEndian.PutUint32(body[8:], 0x7f) // capabilities a client usually names
	copy(body[12:28], "RampartScanner!!")         // client GUID
	for _, d := range smbDialects {
		body = binary.LittleEndian.AppendUint16(body, d)
	}
	return nbss(append(smb2Header(cmdNegotiate, 0, 0, 0, 0), body...))
}

// readNBSS reads one NetBIOS session message (at most maxReply bytes).
func readNBSS(c net.Conn) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return nil, err
	}
	if hdr[0] != 0 {
		return nil, fmt.Errorf("%w: NetBIOS message type 0x%02x", ErrNotSMB, hdr[0])
	}
	n := int(hdr[1])<<16 | int(hdr[2])<<8 | int(hdr[3])
	if n > maxReply {
		return nil, fmt.Errorf("%w: message of %d bytes", ErrNotSMB, n)
	}
	msg := make([]byte, n)
	_, err := io.ReadFull(c, msg)
	return msg, err
}

// ParseSMB2Header returns the command, status and session of an SMB2
// response, and its body.
func ParseSMB2Header(msg []byte) (cmd uint16, status uint32, session uint64, tree uint32, body []byte, err error) {
	if len(msg) < smb2HeaderLen || !bytes.Equal(msg[:4], []byte("\xfeSMB")) || binary.LittleEndian.Uint16(msg[4:]) != 64 {
		return 0, 0, 0, 0, nil, ErrNotSMB
	}
	if binary.LittleEndian.Uint32(msg[16:])&0x01 == 0 {
		return 0, 0, 0, 0, nil, fmt.Errorf("%w: not a response", ErrNotSMB)
	}
	return binary.LittleEndian.Uint16(msg[12:]), binary.LittleEndian.Uint32(msg[8:]),
		binary.LittleEndian.Uint64(msg[40:]), binary.LittleEndian.Uint32(msg[36:]), msg[smb2HeaderLen:], nil
}

// ParseSMB2Negotiate reads an SMB2 NEGOTIATE response (header included).
func ParseSMB2Negotiate(msg []byte) (*SMB2NegotiateResponse, error) {
	cmd, status, _, _, body, err := ParseSMB2Header(msg)
	if err != nil {
		return nil, err
	}
	if cmd != cmdNegotiate {
		return nil, fmt.Errorf("%w: command %d", ErrNotSMB, cmd)
	}
	r := &SMB2NegotiateResponse{Status: status}
	if status != statusSuccess {
		return r, nil
	}
	if len(body) < 64 || binary.LittleEndian.Uint16(body) != 65 {
		return nil, fmt.Errorf("%w: negotiate body", ErrNotSMB)
	}
	r.SecurityMode = binary.LittleEndian.Uint16(body[2:])
	r.Dialect = binary.LittleEndian.Uint16(body[4:])
	copy(r.ServerGUID[:], body[8:24])
	r.Capabilities = binary.LittleEndian.Uint32(body[24:])
	off, n := int(binary.LittleEndian.Uint16(body[56:])), int(binary.LittleEndian.Uint16(body[58:]))
	if n > 0 && off >= smb2HeaderLen && off+n <= len(msg) {
		r.SecurityBlob = msg[off : off+n]
	}
	return r, nil
}

// smbNegotiate opens a connection and negotiates SMB2; the connection is
// returned for what follows (nil when the port does not speak SMB2).
func smbNegotiate(ctx context.Context, env *check.Env, t check.Target) (net.Conn, *SMB2NegotiateResponse, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, nil, err
	}
	if _, err := c.Write(smb2NegotiateRequest()); err != nil {
		c.Close()
		return nil, nil, nil
	}
	msg, err := readNBSS(c)
	if err != nil {
		c.Close()
		return nil, nil, nil
	}
	r, err := ParseSMB2Negotiate(msg)
	if err != nil || r.Status != statusSuccess {
		c.Close()
		return nil, nil, nil
	}
	return c, r, nil
}

func dialectName(d uint16) string {
	return fmt.Sprintf("%d.%d.%d", d>>8, d>>4&0xf, d&0xf)
}

// runSMBSigning negotiates SMB2 and reads the server's security mode.
func runSMBSigning(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, r, err := smbNegotiate(ctx, env, t)
	if err != nil || c == nil {
		return nil, err
	}
	c.Close()
	if r.SigningRequired() {
		return nil, nil
	}
	state := "enabled but not required"
	if r.SecurityMode&smbSigningEnabled == 0 {
		state = "not offered"
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("SMB server on %s: message signing %s", t.Addr, state),
		check.Evidence{Request: "SMB2 NEGOTIATE (dialects 2.0.2 to 3.0.2, signing enabled)",
			Response: fmt.Sprintf("NEGOTIATE response: dialect %s, SecurityMode 0x%04x", dialectName(r.Dialect), r.SecurityMode),
			Fields:   map[string]string{"dialect": dialectName(r.Dialect), "security_mode": fmt.Sprintf("0x%04x", r.SecurityMode), "signing": state}})}, nil
}

// smb1Negotiate is an SMB1 NEGOTIATE offering only SMB1 dialects: a
// server without SMB1 cannot accept it by answering in SMB2.
var smb1Negotiate = func() []byte {
	dialects := []byte("\x02NT LM 0.12\x00")
	h := make([]byte, 32)
	copy(h, "\xffSMB")
	h[4] = 0x72                                   // SMB_COM_NEGOTIATE
	h[9] = 0x18                                   // flags: case insensitive, canonicalized paths
	binary.LittleEndian.PutUint16(h[10:], 0xc853) // flags2: unicode, NT status, extended security, long names
	binary.LittleEndian.PutUint16(h[26:], 0xfeff) // pid
	body := []byte{0, byte(len(dialects)), 0}     // word count 0, byte count
	return nbss(append(append(h, body...), dialects...))
}

// SMB1NegotiateResponse is what an SMB1 NEGOTIATE response tells.
type SMB1NegotiateResponse struct {
	Status       uint32
	DialectIndex uint16
	SecurityMode byte
}

// ParseSMB1Negotiate reads an SMB1 NEGOTIATE response.
func ParseSMB1Negotiate(msg []byte) (*SMB1NegotiateResponse, error) {
	if len(msg) < 35 || !bytes.Equal(msg[:4], []byte("\xffSMB")) || msg[4] != 0x72 {
		return nil, ErrNotSMB
	}
	r := &SMB1NegotiateResponse{Status: binary.LittleEndian.Uint32(msg[5:]), DialectIndex: 0xffff}
	words := int(msg[32])
	if words == 0 || len(msg) < 33+2*words {
		return r, nil
	}
	r.DialectIndex = binary.LittleEndian.Uint16(msg[33:])
	if words >= 17 && len(msg) >= 36 {
		r.SecurityMode = msg[35]
	}
	return r, nil
}

// runSMBv1 offers only SMB1: an answer choosing NT LM 0.12 proves it.
func runSMBv1(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if _, err := c.Write(smb1Negotiate()); err != nil {
		return nil, nil
	}
	msg, err := readNBSS(c)
	if err != nil {
		return nil, nil // closed: SMB1 refused
	}
	r, err := ParseSMB1Negotiate(msg)
	if err != nil || r.Status != 0 || r.DialectIndex != 0 {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("SMB server on %s accepts SMB1 (NT LM 0.12)", t.Addr),
		check.Evidence{Request: "SMB1 NEGOTIATE offering only \"NT LM 0.12\"",
			Response: fmt.Sprintf("SMB1 NEGOTIATE response: dialect index 0, security mode 0x%02x", r.SecurityMode),
			Fields:   map[string]string{"dialect": "NT LM 0.12"}})}, nil
}

// smbDeadline refreshes c's deadline for the next exchange.
func smbDeadline(c net.Conn, env *check.Env) {
	_ = c.SetDeadline(time.Now().Add(timeoutOf(env)))
}
