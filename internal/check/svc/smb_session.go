package svc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"unicode/utf16"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

var metaSMBNull = meta("svc.smb-null-session", finding.High,
	"SMB accepts anonymous or guest sessions", "SMB chấp nhận phiên ẩn danh hoặc khách",
	"The SMB server lets a client in without an account: an anonymous (null) session lists the shares through IPC$, or a guest session is granted for a user name that does not exist. Null sessions let attackers enumerate shares, users, groups and policies (the first step against a domain), and guest access to shares exposes their files.",
	"Máy chủ SMB cho máy khách vào mà không cần tài khoản: phiên ẩn danh (null session) đọc được danh sách thư mục chia sẻ qua IPC$, hoặc phiên khách được cấp cho tên người dùng không tồn tại. Phiên ẩn danh cho phép kẻ tấn công liệt kê thư mục chia sẻ, người dùng, nhóm và chính sách (bước đầu tiên khi tấn công một miền), và quyền khách trên thư mục chia sẻ làm lộ các tệp.",
	"Refuse anonymous and guest access: Windows \"Network access: Restrict anonymous access to Named Pipes and Shares\" and RestrictAnonymous=1, guest account disabled, AllowInsecureGuestAuth=0; Samba 'restrict anonymous = 2', 'map to guest = never', no 'guest ok' shares; and keep SMB off the internet.",
	"Từ chối truy cập ẩn danh và khách: trên Windows bật \"Network access: Restrict anonymous access to Named Pipes and Shares\" và RestrictAnonymous=1, tắt tài khoản Guest, AllowInsecureGuestAuth=0; trên Samba đặt 'restrict anonymous = 2', 'map to guest = never', không có thư mục 'guest ok'; và không để SMB truy cập được từ Internet.",
	"CWE-287", "CWE-200")

// smbSession is one SMB2 conversation after NEGOTIATE.
type smbSession struct {
	c       net.Conn
	env     *check.Env
	dialect uint16
	msgID   uint64
	session uint64
	tree    uint32
}

// call sends one request and reads its response (interim STATUS_PENDING
// responses skipped).
func (s *smbSession) call(cmd uint16, body []byte) (status uint32, rbody []byte, err error) {
	s.msgID++
	credit := uint16(1)
	if s.dialect == 0x0202 {
		credit = 0
	}
	smbDeadline(s.c, s.env)
	if _, err := s.c.Write(nbss(append(smb2Header(cmd, s.msgID, credit, s.tree, s.session), body...))); err != nil {
		return 0, nil, err
	}
	for range 8 {
		msg, err := readNBSS(s.c)
		if err != nil {
			return 0, nil, err
		}
		rcmd, st, sess, _, b, err := ParseSMB2Header(msg)
		if err != nil {
			return 0, nil, err
		}
		if st == 0x00000103 { // STATUS_PENDING
			continue
		}
		if rcmd != cmd {
			return 0, nil, fmt.Errorf("%w: answer to command %d is %d", ErrNotSMB, cmd, rcmd)
		}
		if cmd == cmdSessionSetup {
			s.session = sess
		}
		if cmd == cmdTreeConnect && st == statusSuccess {
			s.tree = binary.LittleEndian.Uint32(msg[36:])
		}
		return st, b, nil
	}
	return 0, nil, fmt.Errorf("%w: no final answer", ErrNotSMB)
}

// NTLMSSP messages (MS-NLMP). Flags: Unicode, request target, NTLM,
// always sign, extended session security, 128 and 56 bit.
const ntlmFlags = 0x00000001 | 0x00000004 | 0x00000200 | 0x00008000 | 0x00080000 | 0x20000000 | 0x80000000

func ntlmNegotiate() []byte {
	b := append([]byte("NTLMSSP\x00"), 1, 0, 0, 0)
	b = binary.LittleEndian.AppendUint32(b, ntlmFlags)
	return append(b, make([]byte, 16)...) // no domain, no workstation
}

// ntlmAuthenticate answers the challenge for user with empty
// credentials: an empty user is an anonymous (null) session; a user that
// does not exist is mapped to guest by servers that do that. No password
// of any real account is involved.
func ntlmAuthenticate(user string) []byte {
	flags := uint32(ntlmFlags)
	lm := []byte{0}
	if user == "" {
		flags |= 0x00000800 // anonymous
	}
	u := utf16le(user)
	ws := utf16le("RAMPART")
	const hdr = 64
	fields := []struct{ data []byte }{{lm}, {nil}, {nil}, {u}, {ws}, {nil}} // LM, NT, domain, user, workstation, session key
	b := append([]byte("NTLMSSP\x00"), 3, 0, 0, 0)
	off := hdr
	var payload []byte
	for _, f := range fields {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f.data)))
		b = binary.LittleEndian.AppendUint16(b, uint16(len(f.data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(off))
		payload = append(payload, f.data...)
		off += len(f.data)
	}
	b = binary.LittleEndian.AppendUint32(b, flags)
	return append(b, payload...)
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

// sessionSetup sends one SESSION_SETUP with a security blob.
func (s *smbSession) sessionSetup(blob []byte) (uint32, []byte, error) {
	body := make([]byte, 24)
	binary.LittleEndian.PutUint16(body[0:], 25)
	body[3] = smbSigningEnabled
	binary.LittleEndian.PutUint16(body[12:], smb2HeaderLen+24)
	binary.LittleEndian.PutUint16(body[14:], uint16(len(blob)))
	return s.call(cmdSessionSetup, append(body, blob...))
}

// login runs the two NTLMSSP legs for user; it returns the session flags
// (1 guest, 2 null) when the server lets the session in.
func (s *smbSession) login(user string) (flags uint16, ok bool, err error) {
	st, _, err := s.sessionSetup(ntlmNegotiate())
	if err != nil || st != statusMoreProc {
		return 0, false, err
	}
	st, body, err := s.sessionSetup(ntlmAuthenticate(user))
	if err != nil || st != statusSuccess || len(body) < 4 {
		return 0, false, err
	}
	return binary.LittleEndian.Uint16(body[2:]), true, nil
}

// treeConnect connects to \\host\share.
func (s *smbSession) treeConnect(host, share string) (uint32, error) {
	path := utf16le(`\\` + host + `\` + share)
	body := make([]byte, 8)
	binary.LittleEndian.PutUint16(body[0:], 9)
	binary.LittleEndian.PutUint16(body[4:], smb2HeaderLen+8)
	binary.LittleEndian.PutUint16(body[6:], uint16(len(path)))
	st, _, err := s.call(cmdTreeConnect, append(body, path...))
	return st, err
}

// SMBShare is a share the server listed.
type SMBShare struct {
	Name    string
	Type    uint32
	Comment string
}

// runSMBNull tries an anonymous session, then a guest session for a user
// name that does not exist; with either, it connects to IPC$ and asks the
// server service (srvsvc NetShareEnumAll) for the share list. It reads
// only: no share but IPC$ is opened.
func runSMBNull(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	for _, user := range []string{"", "rampart-scan-guest"} {
		res, isSMB, err := smbNullAs(ctx, env, t, m, user)
		if err != nil || len(res) > 0 || !isSMB {
			return res, err
		}
	}
	return nil, nil
}

func smbNullAs(ctx context.Context, env *check.Env, t check.Target, m check.Meta, user string) (_ []check.Result, isSMB bool, _ error) {
	c, neg, err := smbNegotiate(ctx, env, t)
	if err != nil || c == nil {
		return nil, false, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	s := &smbSession{c: c, env: env, dialect: neg.Dialect}
	flags, ok, err := s.login(user)
	if err != nil || !ok {
		return nil, true, nil
	}
	kind := "an anonymous (null) session"
	switch {
	case flags&0x0001 != 0:
		kind = "a guest session"
	case flags&0x0002 == 0 && user != "":
		// A real session for a user that does not exist: treated as guest.
		kind = "a guest session"
	}
	host := t.Host
	if host == "" {
		host = t.Addr.Addr().String()
	}
	st, err := s.treeConnect(host, "IPC$")
	if err != nil || st != statusSuccess {
		return nil, true, nil // the session is let in but reaches nothing
	}
	shares, enumErr := s.enumShares(host)
	var list []string
	for _, sh := range shares {
		list = append(list, sh.Name)
	}
	_, _, _ = s.call(cmdLogoff, []byte{4, 0, 0, 0})
	if len(list) == 0 && user == "" {
		// Windows lets an anonymous session into IPC$ by default and then
		// refuses its named pipes (RestrictNullSessAccess): that alone
		// proves nothing. A guest session is reported in any case.
		return nil, true, nil
	}
	ev := check.Evidence{
		Request:  fmt.Sprintf("SMB2 SESSION_SETUP with NTLMSSP as %q and no password, TREE_CONNECT \\\\%s\\IPC$, srvsvc NetShareEnumAll", user, host),
		Response: fmt.Sprintf("session flags 0x%04x, IPC$ connected", flags),
		Fields:   map[string]string{"session": kind, "dialect": dialectName(neg.Dialect)}}
	if user != "" {
		ev.Fields["user"] = user
	}
	title := fmt.Sprintf("SMB server on %s accepts %s and opens IPC$", t.Addr, kind)
	if len(list) > 0 {
		ev.Fields["shares"] = strings.Join(list, ", ")
		title = fmt.Sprintf("SMB server on %s lists its shares to %s (%s)", t.Addr, kind, strings.Join(list, ", "))
	} else if enumErr != nil {
		ev.Fields["share_list"] = enumErr.Error()
	}
	return []check.Result{result(m, m.Severity, title, ev)}, true, nil
}

// srvsvc's interface and NDR's transfer syntax, as DCE/RPC writes UUIDs.
var (
	srvsvcUUID = []byte{0xc8, 0x4f, 0x32, 0x4b, 0x70, 0x16, 0xd3, 0x01, 0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}
	ndrUUID    = []byte{0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}
)

// dcerpcHeader builds a connection-oriented PDU header.
func dcerpcHeader(ptype byte, fragLen int, callID uint32) []byte {
	h := []byte{5, 0, ptype, 0x03, 0x10, 0, 0, 0}
	h = binary.LittleEndian.AppendUint16(h, uint16(fragLen))
	h = binary.LittleEndian.AppendUint16(h, 0)
	return binary.LittleEndian.AppendUint32(h, callID)
}

func dcerpcBind() []byte {
	body := binary.LittleEndian.AppendUint16(nil, 4280)
	body = binary.LittleEndian.AppendUint16(body, 4280)
	body = binary.LittleEndian.AppendUint32(body, 0)
	body = append(body, 1, 0, 0, 0)    // one context, padding
	body = append(body, 0, 0, 1, 0)    // context 0, one transfer syntax
	body = append(body, srvsvcUUID...) // abstract syntax
	body = append(body, 3, 0, 0, 0)    // version 3.0
	body = append(body, ndrUUID...)    // transfer syntax
	body = append(body, 2, 0, 0, 0)    // version 2
	return append(dcerpcHeader(11, 16+len(body), 1), body...)
}

// ndrString appends a [unique] conformant varying UTF-16 string.
func ndrString(b []byte, s string, ref uint32) []byte {
	u := utf16le(s + "\x00")
	n := uint32(len(u) / 2)
	b = binary.LittleEndian.AppendUint32(b, ref)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(b, u...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// netShareEnumAll is srvsvc opnum 15 at level 1.
func netShareEnumAll(host string) []byte {
	stub := ndrString(nil, `\\`+host, 0x00020000)
	stub = binary.LittleEndian.AppendUint32(stub, 1)          // level
	stub = binary.LittleEndian.AppendUint32(stub, 1)          // union switch
	stub = binary.LittleEndian.AppendUint32(stub, 0x00020004) // container pointer
	stub = binary.LittleEndian.AppendUint32(stub, 0)          // entries
	stub = binary.LittleEndian.AppendUint32(stub, 0)          // null buffer
	stub = binary.LittleEndian.AppendUint32(stub, 0xffffffff) // preferred maximum length
	stub = binary.LittleEndian.AppendUint32(stub, 0x00020008) // resume handle pointer
	stub = binary.LittleEndian.AppendUint32(stub, 0)
	req := binary.LittleEndian.AppendUint32(nil, uint32(len(stub))) // allocation hint
	req = binary.LittleEndian.AppendUint16(req, 0)                  // context 0
	req = binary.LittleEndian.AppendUint16(req, 15)                 // opnum
	req = append(req, stub...)
	return append(dcerpcHeader(0, 16+len(req), 2), req...)
}

// enumShares opens the srvsvc pipe on IPC$, binds and asks for the shares.
func (s *smbSession) enumShares(host string) ([]SMBShare, error) {
	name := utf16le("srvsvc")
	body := make([]byte, 56)
	binary.LittleEndian.PutUint16(body[0:], 57)
	binary.LittleEndian.PutUint32(body[4:], 2)           // impersonation
	binary.LittleEndian.PutUint32(body[24:], 0x0012019f) // read, write, attributes
	binary.LittleEndian.PutUint32(body[32:], 7)          // share read, write, delete
	binary.LittleEndian.PutUint32(body[36:], 1)          // FILE_OPEN
	binary.LittleEndian.PutUint16(body[44:], smb2HeaderLen+56)
	binary.LittleEndian.PutUint16(body[46:], uint16(len(name)))
	st, rb, err := s.call(cmdCreate, append(body, name...))
	if err != nil || st != statusSuccess || len(rb) < 80 {
		return nil, fmt.Errorf("svc: smb: srvsvc pipe refused (status 0x%08x)", st)
	}
	fid := append([]byte(nil), rb[64:80]...)
	defer func() {
		cl := make([]byte, 24)
		binary.LittleEndian.PutUint16(cl, 24)
		copy(cl[8:], fid)
		_, _, _ = s.call(cmdClose, cl)
	}()
	if _, err := s.transact(fid, dcerpcBind()); err != nil {
		return nil, err
	}
	resp, err := s.transact(fid, netShareEnumAll(host))
	if err != nil {
		return nil, err
	}
	return ParseShareEnum(resp)
}

// transact writes one PDU to the pipe and reads the answer.
func (s *smbSession) transact(fid, pdu []byte) ([]byte, error) {
	w := make([]byte, 48)
	binary.LittleEndian.PutUint16(w, 49)
	binary.LittleEndian.PutUint16(w[2:], smb2HeaderLen+48)
	binary.LittleEndian.PutUint32(w[4:], uint32(len(pdu)))
	copy(w[16:], fid)
	st, _, err := s.call(cmdWrite, append(w, pdu...))
	if err != nil || st != statusSuccess {
		return nil, fmt.Errorf("svc: smb: pipe write status 0x%08x: %v", st, err)
	}
	r := make([]byte, 49)
	binary.LittleEndian.PutUint16(r, 49)
	binary.LittleEndian.PutUint32(r[4:], 60000)
	copy(r[16:], fid)
	st, rb, err := s.call(cmdRead, r)
	if err != nil || (st != statusSuccess && st != 0x80000005) || len(rb) < 16 { // success or buffer overflow (more)
		return nil, fmt.Errorf("svc: smb: pipe read status 0x%08x: %v", st, err)
	}
	off, n := int(rb[2]), int(binary.LittleEndian.Uint32(rb[4:]))
	off -= smb2HeaderLen
	if off < 16 || off+n > len(rb) {
		return nil, fmt.Errorf("%w: read response", ErrNotSMB)
	}
	return rb[off : off+n], nil
}

// ErrNotShareList says a DCE/RPC response is not a NetShareEnumAll answer.
var ErrNotShareList = errors.New("svc: not a NetShareEnumAll response")

// ParseShareEnum reads a DCE/RPC response PDU to NetShareEnumAll at
// level 1: the share names, types and comments.
func ParseShareEnum(pdu []byte) ([]SMBShare, error) {
	if len(pdu) < 24 || pdu[0] != 5 || pdu[2] != 2 { // response
		return nil, ErrNotShareList
	}
	frag := int(binary.LittleEndian.Uint16(pdu[8:]))
	if frag > len(pdu) || frag < 24 {
		return nil, ErrNotShareList
	}
	d := ndrReader{b: pdu[24:frag]}
	d.u32() // level
	d.u32() // switch
	if d.u32() == 0 {
		return nil, ErrNotShareList // null container
	}
	count := d.u32()
	if d.u32() == 0 || count == 0 {
		return nil, nil
	}
	if max := d.u32(); max != count || count > 1024 {
		return nil, ErrNotShareList
	}
	type entry struct {
		name, comment bool
		typ           uint32
	}
	entries := make([]entry, count)
	for i := range entries {
		entries[i].name = d.u32() != 0
		entries[i].typ = d.u32()
		entries[i].comment = d.u32() != 0
	}
	var out []SMBShare
	for _, e := range entries {
		var sh SMBShare
		sh.Type = e.typ
		if e.name {
			sh.Name = d.str()
		}
		if e.comment {
			sh.Comment = d.str()
		}
		if d.err != nil {
			return out, ErrNotShareList
		}
		out = append(out, sh)
	}
	return out, nil
}

// ndrReader reads little-endian NDR.
type ndrReader struct {
	b   []byte
	err error
}

func (d *ndrReader) u32() uint32 {
	if len(d.b) < 4 {
		d.err = ErrNotShareList
		d.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// str reads a conformant varying UTF-16 string, aligned to 4.
func (d *ndrReader) str() string {
	d.u32() // maximum count
	d.u32() // offset
	n := int(d.u32())
	if d.err != nil || n < 0 || n > 1024 || len(d.b) < 2*n {
		d.err = ErrNotShareList
		return ""
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(d.b[2*i:])
	}
	pad := 2 * n
	for pad%4 != 0 {
		pad++
	}
	if pad > len(d.b) {
		pad = len(d.b)
	}
	d.b = d.b[pad:]
	return strings.TrimRight(string(utf16.Decode(u)), "\x00")
}
