// Package fields parses the field values the sensor inputs share, from
// bytes and without allocating where it can: timestamps (RFC 3339 with any
// offset form Suricata and Zeek write, and Zeek's epoch seconds), IP
// addresses, host names normalized for indicator lookups, and the web
// login-failure rule (a POST to a login path answered 401 or 403).
package fields

import (
	"bytes"
	"net/netip"
	"time"
)

// Time parses "2006-01-02T15:04:05[.frac](Z|±hh:mm|±hhmm|)" (a space is
// accepted for the T; no zone means UTC) and returns it in UTC.
func Time(b []byte) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	mon, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hh, ok4 := digits(b[11:13])
	mm, ok5 := digits(b[14:16])
	ss, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if i < len(b) && b[i] == '.' {
		i++
		scale := 100_000_000
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	off := 0
	if i < len(b) {
		switch b[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			sign := 1
			if b[i] == '-' {
				sign = -1
			}
			rest := b[i+1:]
			var oh, om int
			var ok bool
			switch {
			case len(rest) == 5 && rest[2] == ':':
				oh, ok = digits(rest[0:2])
				if ok {
					om, ok = digits(rest[3:5])
				}
			case len(rest) == 4:
				oh, ok = digits(rest[0:2])
				if ok {
					om, ok = digits(rest[2:4])
				}
			case len(rest) == 2:
				oh, ok = digits(rest)
			}
			if !ok || oh > 23 || om > 59 {
				return time.Time{}, false
			}
			off = sign * (oh*3600 + om*60)
			i = len(b)
		default:
			return time.Time{}, false
		}
	}
	if i != len(b) {
		return time.Time{}, false
	}
	secs := daysFromCivil(year, mon, day)*86400 + int64(hh*3600+mm*60+ss) - int64(off)
	return time.Unix(secs, int64(nsec)).UTC(), true
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}

// Epoch parses seconds since 1970 with an optional fraction
// ("1517422326.539915"), as Zeek writes ts.
func Epoch(b []byte) (time.Time, bool) {
	dot := bytes.IndexByte(b, '.')
	ip, fp := b, []byte(nil)
	if dot >= 0 {
		ip, fp = b[:dot], b[dot+1:]
	}
	if len(ip) == 0 || len(ip) > 12 {
		return time.Time{}, false
	}
	secs, ok := digits(ip)
	if !ok {
		return time.Time{}, false
	}
	nsec, scale := 0, 100_000_000
	for _, c := range fp {
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		nsec += int(c-'0') * scale
		scale /= 10
	}
	return time.Unix(int64(secs), int64(nsec)).UTC(), true
}

// Addr parses an IPv4 or IPv6 address (IPv4 by hand, without
// allocating); an IPv4-mapped IPv6 address is returned as IPv4.
func Addr(b []byte) (netip.Addr, bool) {
	if a, ok := addr4(b); ok {
		return a, true
	}
	if i := bytes.IndexByte(b, '%'); i >= 0 { // a zone, ignored
		if i == len(b)-1 {
			return netip.Addr{}, false
		}
		b = b[:i]
	}
	a, ok := addr6(b)
	if !ok {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// addr6 parses an IPv6 address without a zone (RFC 4291 text: up to eight
// groups of one to four hex digits, one "::", a dotted IPv4 tail).
func addr6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // where "::" is, in bytes of ip
	i, n := 0, 0
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ellipsis, i = 0, 2
		if len(b) == 2 {
			return netip.AddrFrom16(ip), true
		}
	}
	for i < len(b) {
		if n == 16 {
			return netip.Addr{}, false
		}
		// A group of hex digits.
		v, j := 0, i
		for ; j < len(b) && j-i < 5; j++ {
			c := b[j]
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | int(c-'0')
			case c >= 'a' && c <= 'f':
				v = v<<4 | int(c-'a'+10)
			case c >= 'A' && c <= 'F':
				v = v<<4 | int(c-'A'+10)
			default:
				goto end
			}
		}
	end:
		digits := j - i
		if digits == 0 || digits > 4 {
			return netip.Addr{}, false
		}
		if j < len(b) && b[j] == '.' {
			// The dotted IPv4 tail: the last 4 bytes.
			if n > 12 {
				return netip.Addr{}, false
			}
			v4, ok := addr4(b[i:])
			if !ok {
				return netip.Addr{}, false
			}
			a4 := v4.As4()
			copy(ip[n:], a4[:])
			n += 4
			i = len(b)
			break
		}
		ip[n], ip[n+1] = byte(v>>8), byte(v)
		n += 2
		i = j
		if i == len(b) {
			break
		}
		if b[i] != ':' || i+1 == len(b) {
			return netip.Addr{}, false
		}
		i++
		if b[i] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false
			}
			ellipsis = n
			i++
			if i == len(b) {
				break
			}
		}
	}
	if ellipsis < 0 {
		if n != 16 {
			return netip.Addr{}, false
		}
	} else {
		if n == 16 {
			return netip.Addr{}, false // "::" must stand for at least one group
		}
		gap := 16 - n
		copy(ip[ellipsis+gap:], ip[ellipsis:n])
		clear(ip[ellipsis : ellipsis+gap])
	}
	return netip.AddrFrom16(ip), true
}

func addr4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	part, n, digitsInPart := 0, 0, 0
	for i := 0; i <= len(b); i++ {
		if i == len(b) || b[i] == '.' {
			if digitsInPart == 0 || part > 3 {
				return netip.Addr{}, false
			}
			out[part] = byte(n)
			part++
			n, digitsInPart = 0, 0
			continue
		}
		c := b[i]
		if c < '0' || c > '9' || digitsInPart == 3 || (digitsInPart == 1 && n == 0) {
			return netip.Addr{}, false
		}
		n = n*10 + int(c-'0')
		digitsInPart++
		if n > 255 {
			return netip.Addr{}, false
		}
	}
	if part != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(out), true
}

// MaxName is the longest name kept (a DNS name's limit).
const MaxName = 253

// Name appends the host name in b to dst normalized for indicator lookups
// (ASCII lower case, a trailing dot and a ":port" removed) and reports
// whether it is a name worth looking up: not empty, not an IP literal, at
// most MaxName bytes, and only bytes a host name may hold (letters,
// digits, '-', '_', '.', and non-ASCII bytes of IDNs).
func Name(dst, b []byte) ([]byte, bool) {
	if len(b) > 0 && b[0] == '[' { // "[v6]:port"
		return dst, false
	}
	if i := bytes.LastIndexByte(b, ':'); i >= 0 {
		if bytes.IndexByte(b[:i], ':') >= 0 {
			return dst, false // an IPv6 literal
		}
		b = b[:i]
	}
	if len(b) > 0 && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if len(b) == 0 || len(b) > MaxName {
		return dst, false
	}
	start := len(dst)
	letters := false
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			letters = true
		case c >= 'a' && c <= 'z', c >= 0x80, c == '-', c == '_':
			letters = true
		case c >= '0' && c <= '9', c == '.':
		default:
			return dst[:start], false
		}
		dst = append(dst, c)
	}
	if !letters { // all digits and dots: an IPv4 literal or junk
		return dst[:start], false
	}
	return dst, true
}

// loginPaths are the path parts that mark a login form or endpoint.
var loginPaths = [...]string{
	"login", "logon", "signin", "sign-in", "sign_in", "auth", "session", "wp-login.php",
	"xmlrpc.php", "admin", "user/login", "account", "j_security_check", "token",
}

// LoginFailure reports whether an HTTP request was a failed login: a POST
// to a path naming a login (see loginPaths; query ignored, case
// insensitive) answered 401 or 403.
func LoginFailure(method, path []byte, status int) bool {
	if status != 401 && status != 403 {
		return false
	}
	if !bytes.EqualFold(method, []byte("POST")) {
		return false
	}
	return LoginPath(path)
}

// LoginPath reports whether a request path (query ignored) names a login
// endpoint.
func LoginPath(path []byte) bool {
	if i := bytes.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if len(path) > 512 {
		path = path[:512]
	}
	var low [512]byte
	n := copy(low[:], path)
	for i := range n {
		if c := low[i]; c >= 'A' && c <= 'Z' {
			low[i] = c + 'a' - 'A'
		}
	}
	for _, p := range loginPaths {
		if bytes.Contains(low[:n], []byte(p)) {
			return true
		}
	}
	return false
}
