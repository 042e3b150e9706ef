package svc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
)

// runRedis sends INFO server: a server without a password answers with
// its version; one that requires AUTH answers -NOAUTH.
func runRedis(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	const req = "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	reply, err := readSome(c, maxReply)
	if len(reply) == 0 {
		return nil, fmt.Errorf("%w: no reply: %v", check.ErrUnreachable, err)
	}
	info, ok := ParseRedisInfo(reply)
	if !ok {
		return nil, nil // -NOAUTH, -ERR or not Redis: nothing proven
	}
	title := "Redis answers without authentication"
	if v := info["redis_version"]; v != "" {
		title = "Redis " + v + " answers without authentication"
	}
	return []check.Result{result(m, m.Severity, title, check.Evidence{Request: "INFO server", Response: printable(reply[:min(len(reply), 512)]),
		Fields: map[string]string{"redis_version": info["redis_version"], "os": info["os"], "redis_mode": info["redis_mode"]}})}, nil
}

// ParseRedisInfo reads a RESP bulk-string reply to INFO ("$<n>\r\n" then
// "key:value" lines); ok is false for errors and other replies.
func ParseRedisInfo(reply []byte) (map[string]string, bool) {
	if len(reply) < 2 || reply[0] != '$' {
		return nil, false
	}
	nl := bytes.IndexByte(reply, '\n')
	if nl < 0 {
		return nil, false
	}
	body := reply[nl+1:]
	info := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "#") && len(k) < 64 {
			info[k] = v
		}
	}
	_, hasVersion := info["redis_version"]
	return info, hasVersion
}

// runMemcached sends "stats": memcached has no authentication in its text
// protocol, so an answer means anyone can read and flush the cache.
func runMemcached(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := io.WriteString(c, "stats\r\n"); err != nil {
		return nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	reply, _ := readSome(c, maxReply)
	stats := ParseMemcachedStats(reply)
	if stats == nil {
		return nil, nil
	}
	title := "memcached answers anyone"
	if v := stats["version"]; v != "" {
		title = "memcached " + v + " answers anyone"
	}
	return []check.Result{result(m, m.Severity, title, check.Evidence{Request: "stats", Response: printable(reply[:min(len(reply), 512)]),
		Fields: map[string]string{"version": stats["version"], "curr_items": stats["curr_items"]}})}, nil
}

// ParseMemcachedStats reads "STAT name value" lines; nil when there are none.
func ParseMemcachedStats(reply []byte) map[string]string {
	var stats map[string]string
	for _, line := range strings.Split(string(reply), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "STAT" {
			if stats == nil {
				stats = map[string]string{}
			}
			stats[f[1]] = f[2]
		}
	}
	return stats
}

// httpGet fetches path from t over plain HTTP (or TLS when t.TLS) with
// the env's dialer, capped.
func httpGet(ctx context.Context, env *check.Env, t check.Target, path string) (int, []byte, error) {
	scheme := "http"
	if t.TLS {
		scheme = "https"
	}
	tr := &http.Transport{DialContext: env.Dial, DisableKeepAlives: true, TLSClientConfig: insecureTLS()}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: timeoutOf(env), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, "GET", scheme+"://"+t.Addr.String()+path, nil)
	if err != nil {
		return 0, nil, err
	}
	if t.Host != "" {
		req.Host = t.Host
	}
	if env.UserAgent != "" {
		req.Header.Set("User-Agent", env.UserAgent)
	}
	res, err := cl.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %v", check.ErrUnreachable, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxReply))
	return res.StatusCode, body, nil
}

// runElastic asks for the cluster banner: 200 with cluster_name means the
// cluster (and its indices) are readable without credentials.
func runElastic(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	status, body, err := httpGet(ctx, env, t, "/")
	if err != nil {
		return nil, err
	}
	var root struct {
		ClusterName string `json:"cluster_name"`
		Version     struct {
			Number string `json:"number"`
		} `json:"version"`
	}
	if status != 200 || json.Unmarshal(body, &root) != nil || root.ClusterName == "" {
		return nil, nil
	}
	ev := check.Evidence{Request: "GET /", Response: printable(body[:min(len(body), 1024)]),
		Fields: map[string]string{"cluster_name": root.ClusterName, "version": root.Version.Number}}
	if st, idx, err := httpGet(ctx, env, t, "/_cat/indices?h=index&s=index"); err == nil && st == 200 {
		names := strings.Fields(string(idx))
		ev.Fields["indices"] = fmt.Sprint(len(names))
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("Elasticsearch %s cluster %q is readable without authentication", root.Version.Number, root.ClusterName), ev)}, nil
}

// runDocker asks for /version: the Docker Engine API without TLS client
// authentication gives root on the host to anyone who can reach it.
func runDocker(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	status, body, err := httpGet(ctx, env, t, "/version")
	if err != nil {
		return nil, err
	}
	var v struct {
		Version    string `json:"Version"`
		APIVersion string `json:"ApiVersion"`
		Os         string `json:"Os"`
	}
	if status != 200 || json.Unmarshal(body, &v) != nil || v.APIVersion == "" {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, fmt.Sprintf("Docker Engine API %s open without authentication", v.Version),
		check.Evidence{Request: "GET /version", Response: printable(body[:min(len(body), 1024)]),
			Fields: map[string]string{"version": v.Version, "api_version": v.APIVersion, "os": v.Os}})}, nil
}

// runFTPAnonymous tries the anonymous login of RFC 1635.
func runFTPAnonymous(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r := bufio.NewReader(io.LimitReader(c, maxReply))
	greet, err := ftpReply(r)
	if err != nil || !strings.HasPrefix(greet, "220") {
		return nil, nil
	}
	var transcript []string
	transcript = append(transcript, greet)
	send := func(cmd string) (string, error) {
		if _, err := io.WriteString(c, cmd+"\r\n"); err != nil {
			return "", err
		}
		reply, err := ftpReply(r)
		transcript = append(transcript, "> "+cmd, reply)
		return reply, err
	}
	reply, err := send("USER anonymous")
	if err != nil {
		return nil, nil
	}
	if strings.HasPrefix(reply, "331") {
		if reply, err = send("PASS rampart-scanner@"); err != nil {
			return nil, nil
		}
	}
	_, _ = io.WriteString(c, "QUIT\r\n")
	if !strings.HasPrefix(reply, "230") {
		return nil, nil
	}
	return []check.Result{result(m, m.Severity, "FTP server accepts anonymous login",
		check.Evidence{Request: "USER anonymous / PASS", Response: check.Cap(strings.Join(transcript, "\n"))})}, nil
}

// ftpReply reads one FTP reply, following multi-line "123-" replies to
// their "123 " end.
func ftpReply(r *bufio.Reader) (string, error) {
	first, err := readLine(r)
	if err != nil {
		return first, err
	}
	if len(first) < 4 || first[3] != '-' {
		return first, nil
	}
	code := first[:3]
	lines := []string{first}
	for i := 0; i < 100; i++ {
		l, err := readLine(r)
		if err != nil {
			return strings.Join(lines, "\n"), err
		}
		lines = append(lines, l)
		if strings.HasPrefix(l, code+" ") {
			break
		}
	}
	return strings.Join(lines, "\n"), nil
}

// runVNC reads the RFB handshake: any VNC server on the internet is
// exposed; one that offers security type 1 (None) lets anyone take the
// screen and keyboard. A server that refuses the handshake (no security
// type, a reason such as "Too many security failures": it is rate-limiting
// failed logins) shows neither a password nor its absence: the exposure
// is reported with the reason, nothing more.
func runVNC(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	c, err := conn(ctx, env, t)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ver := make([]byte, 12)
	if _, err := io.ReadFull(c, ver); err != nil || !bytes.HasPrefix(ver, []byte("RFB ")) {
		if !identified(t) {
			return nil, nil // applied for the port only, and not VNC: nothing to report
		}
		return runExposed(ctx, env, t, m) // fingerprint said VNC; keep the exposure finding
	}
	// Answer with the same version (3.3 servers pick the type themselves).
	if _, err := c.Write(ver); err != nil {
		return runExposed(ctx, env, t, m)
	}
	reply, _ := readSome(c, 1024)
	offer := ParseRFBSecurity(string(ver[:11]), reply)
	v := strings.TrimSpace(string(ver))
	ev := check.Evidence{Request: "RFB handshake", Response: printable(ver), Fields: map[string]string{"security_types": offer.Types}}
	switch {
	case offer.Refused:
		ev.Fields["failure_reason"] = offer.Reason
		ev.Fields["authentication"] = "not shown: the server refused the handshake"
		return []check.Result{result(m, m.Severity, fmt.Sprintf("VNC server reachable from the internet (%s; it refused the handshake: %q)", v, offer.Reason), ev)}, nil
	case offer.NoAuth:
		ev.Fields["authentication"] = "none (security type 1)"
		return []check.Result{result(m, finding.Critical, "VNC server without a password ("+v+")", ev)}, nil
	}
	if offer.Types != "" {
		ev.Fields["authentication"] = "required (security types " + offer.Types + ")"
	}
	return []check.Result{result(m, m.Severity, "VNC server reachable from the internet ("+v+")", ev)}, nil
}

// RFBOffer is the server's answer after the RFB version exchange.
type RFBOffer struct {
	Types  string // the security types offered, "2,16"
	NoAuth bool   // type 1 (None) is among them
	// Refused is set when the server offered no type (RFB 3.7+: a count
	// of 0; 3.3: type 0) and says why in Reason ("Too many security
	// failures").
	Refused bool
	Reason  string
}

// maxRFBReason caps the reason string kept from a refusal.
const maxRFBReason = 256

// ParseRFBSecurity reads the server's security offer after the version
// exchange: RFB 3.3 sends one 4-byte type (0 then a reason when it
// refuses); 3.7+ a count then the types (a count of 0 then a 4-byte
// length and a reason when it refuses).
func ParseRFBSecurity(version string, b []byte) RFBOffer {
	var o RFBOffer
	var types []byte
	reason := func(rest []byte) {
		o.Refused = true
		if len(rest) >= 4 {
			n := int(binary.BigEndian.Uint32(rest[:4]))
			rest = rest[4:]
			if n < len(rest) {
				rest = rest[:n]
			}
		} else {
			rest = nil
		}
		if len(rest) > maxRFBReason {
			rest = rest[:maxRFBReason]
		}
		o.Reason = strings.ToValidUTF8(strings.TrimSpace(printableText(rest)), "?")
	}
	if strings.HasPrefix(version, "RFB 003.003") {
		if len(b) >= 4 {
			t := binary.BigEndian.Uint32(b[:4])
			switch {
			case t == 0:
				reason(b[4:])
			case t < 256:
				types = []byte{byte(t)}
			}
		}
	} else if len(b) >= 1 {
		n := int(b[0])
		switch {
		case n == 0:
			reason(b[1:])
		case len(b) >= 1+n:
			types = b[1 : 1+n]
		}
	}
	var parts []string
	for _, t := range types {
		parts = append(parts, fmt.Sprint(t))
		if t == 1 {
			o.NoAuth = true
		}
	}
	o.Types = strings.Join(parts, ",")
	return o
}

// printableText keeps printable ASCII and turns the rest into '?'.
func printableText(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7f {
			out[i] = c
		} else {
			out[i] = '?'
		}
	}
	return string(out)
}
