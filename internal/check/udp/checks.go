package udp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
)

// runSNMP asks sysDescr.0 and sysContact.0 in the communities public and
// private, each in v2c and v1. Reads only: write access is never tried.
func runSNMP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	var out []check.Result
	reached := false
	var lastErr error
	for _, comm := range []string{"public", "private"} {
		id := rand.Uint32() & 0x7fffffff
		var reqs [][]byte
		for _, v := range []int{udpscan.SNMPv2c, udpscan.SNMPv1} {
			b, err := udpscan.SNMPGet(v, comm, id, udpscan.OIDSysDescr, udpscan.OIDSysContact)
			if err != nil {
				return nil, err
			}
			reqs = append(reqs, b)
		}
		var answered []udpscan.SNMPReply
		x, err := ask(ctx, env, t, reqs, func(b []byte) (bool, bool) {
			r, err := udpscan.ParseSNMP(b)
			if err != nil || r.Community != comm || r.RequestID != int64(id) {
				return false, false
			}
			answered = append(answered, r)
			return true, len(answered) == len(reqs)
		})
		if err != nil {
			lastErr = err
			if ctx.Err() != nil {
				return nil, err
			}
			continue
		}
		reached = true
		if x.packets == 0 {
			continue // a wrong community gets silence
		}
		versions, descr, contact := []string{}, "", ""
		for _, r := range answered {
			v := map[int]string{udpscan.SNMPv1: "v1", udpscan.SNMPv2c: "v2c"}[r.Version]
			if !slices.Contains(versions, v) {
				versions = append(versions, v)
			}
			if d, ok := r.Value(udpscan.OIDSysDescr); ok && descr == "" {
				descr = d
			}
			if c, ok := r.Value(udpscan.OIDSysContact); ok && contact == "" {
				contact = c
			}
		}
		slices.Sort(versions)
		fields := map[string]string{"community": comm, "versions": strings.Join(versions, ","), "sysDescr": descr}
		if contact != "" {
			fields["sysContact"] = contact
		}
		sev := m.Severity
		title := fmt.Sprintf("SNMP agent %s answers the community %q (%s)", addr(t), comm, strings.Join(versions, ", "))
		if comm == "private" {
			sev = finding.Critical
			title += ": likely write access"
			fields["write_access"] = "likely: \"private\" is the conventional read-write community (not tested; Rampart never sends SET)"
		}
		out = append(out, check.Result{Check: m.ID, Severity: sev, Subject: comm, Title: title,
			Evidence: check.Evidence{Request: "GET sysDescr.0 sysContact.0, community " + comm + ", SNMP v2c and v1", Response: check.Cap(descr), Fields: fields}})
	}
	if !reached {
		return nil, lastErr
	}
	return out, nil
}

// runNTP sends a mode 7 monlist request and a mode 6 READVAR request and
// measures what comes back.
func runNTP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	var out []check.Result
	reached := false
	var lastErr error

	mon := udpscan.NTPMonlistRequest()
	entries := 0
	x, err := ask(ctx, env, t, [][]byte{mon}, func(b []byte) (bool, bool) {
		p, err := udpscan.ParseNTPPrivate(b)
		if err != nil || !p.Response || p.Req != udpscan.NTPMonlist || p.Err != 0 {
			return false, false
		}
		entries += p.Items
		return true, !p.More
	})
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
	default:
		reached = true
		if x.packets > 0 && x.bytes > len(mon) {
			f := factor(x.bytes, len(mon))
			out = append(out, check.Result{Check: m.ID, Severity: finding.High, Subject: "monlist",
				Title: fmt.Sprintf("NTP server %s answers monlist: %d bytes in %d packets for a %d-byte request (amplification ×%s)", addr(t), x.bytes, x.packets, len(mon), f),
				Evidence: check.Evidence{Request: "mode 7 MON_GETLIST_1 (ntpdc monlist)", Response: fmt.Sprintf("%d entries of recent clients", entries),
					Fields: map[string]string{"mode": "7", "request_bytes": strconv.Itoa(len(mon)), "reply_bytes": strconv.Itoa(x.bytes),
						"packets": strconv.Itoa(x.packets), "amplification_factor": f, "entries": strconv.Itoa(entries)}}})
		}
	}

	seq := uint16(rand.IntN(0xffff) + 1)
	rv := udpscan.NTPReadVarRequest(seq)
	var data []byte
	x, err = ask(ctx, env, t, [][]byte{rv}, func(b []byte) (bool, bool) {
		c, err := udpscan.ParseNTPControl(b)
		if err != nil || !c.Response || c.Error || c.Op != udpscan.NTPOpReadVar || c.Seq != seq {
			return false, false
		}
		if len(data) < 8192 {
			data = append(data, c.Data...)
		}
		return true, !c.More
	})
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return nil, err
		}
		lastErr = err
	default:
		reached = true
		if x.packets > 0 && x.bytes > len(rv) {
			f := factor(x.bytes, len(rv))
			vars := udpscan.NTPControl{Data: data}.Vars()
			fields := map[string]string{"mode": "6", "request_bytes": strconv.Itoa(len(rv)), "reply_bytes": strconv.Itoa(x.bytes),
				"packets": strconv.Itoa(x.packets), "amplification_factor": f}
			for _, k := range []string{"version", "system", "processor"} {
				if v := vars[k]; v != "" {
					fields[k] = v
				}
			}
			title := fmt.Sprintf("NTP server %s answers mode 6 READVAR: %d bytes for a %d-byte request (amplification ×%s)", addr(t), x.bytes, len(rv), f)
			if v := vars["version"]; v != "" {
				title += ", version " + v
			}
			out = append(out, check.Result{Check: m.ID, Severity: finding.Medium, Subject: "mode6", Title: title,
				Evidence: check.Evidence{Request: "mode 6 READVAR (ntpq -c rv)", Response: udpscan.Clean(data, 1024), Fields: fields}})
		}
	}
	if !reached {
		return nil, lastErr
	}
	return out, nil
}

// runSSDP sends one M-SEARCH ssdp:all and counts the answers.
func runSSDP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	req := udpscan.SSDPSearch()
	var replies []udpscan.SSDPReply
	x, err := ask(ctx, env, t, [][]byte{req}, func(b []byte) (bool, bool) {
		r, err := udpscan.ParseSSDP(b)
		if err != nil {
			return false, false
		}
		replies = append(replies, r)
		return true, false // one reply per service: wait until quiet
	})
	if err != nil || x.packets == 0 {
		return nil, err
	}
	f := factor(x.bytes, len(req))
	fields := map[string]string{"replies": strconv.Itoa(x.packets), "reply_bytes": strconv.Itoa(x.bytes),
		"request_bytes": strconv.Itoa(len(req)), "amplification_factor": f}
	var sts []string
	for _, r := range replies {
		for _, k := range []string{"server", "location"} {
			if v := r.Headers[k]; v != "" && fields[k] == "" {
				fields[k] = v
			}
		}
		if st := r.Headers["st"]; st != "" && len(sts) < 16 && !slices.Contains(sts, st) {
			sts = append(sts, st)
		}
	}
	if len(sts) > 0 {
		fields["search_targets"] = strings.Join(sts, " ")
	}
	title := fmt.Sprintf("SSDP at %s answers M-SEARCH from the internet: %d replies, %d bytes (amplification ×%s)", addr(t), x.packets, x.bytes, f)
	if s := fields["server"]; s != "" {
		title += ", " + s
	}
	return []check.Result{{Check: m.ID, Severity: m.Severity, Title: title,
		Evidence: check.Evidence{Request: "M-SEARCH * ST: ssdp:all", Response: udpscan.Clean(x.replies[0], 1024), Fields: fields}}}, nil
}

// runMemcached sends "stats" over UDP.
func runMemcached(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	id := uint16(rand.IntN(0xffff))
	req := udpscan.MemcachedStatsRequest(id)
	frames := map[uint16][]byte{}
	x, err := ask(ctx, env, t, [][]byte{req}, func(b []byte) (bool, bool) {
		fr, err := udpscan.ParseMemcachedFrame(b)
		if err != nil || fr.RequestID != id {
			return false, false
		}
		if _, dup := frames[fr.Seq]; !dup && len(frames) < 64 {
			frames[fr.Seq] = append([]byte(nil), fr.Body...)
		}
		return true, len(frames) >= int(fr.Total) || len(frames) >= 64
	})
	if err != nil || x.packets == 0 {
		return nil, err
	}
	var body []byte
	for i := uint16(0); i < 64; i++ {
		if b, ok := frames[i]; ok {
			body = append(body, b...)
		}
	}
	stats, _ := udpscan.ParseMemcachedStats(body)
	f := factor(x.bytes, len(req))
	fields := map[string]string{"datagrams": strconv.Itoa(x.packets), "reply_bytes": strconv.Itoa(x.bytes),
		"request_bytes": strconv.Itoa(len(req)), "amplification_factor": f}
	title := fmt.Sprintf("memcached at %s answers over UDP: %d bytes for a %d-byte stats request (amplification ×%s)", addr(t), x.bytes, len(req), f)
	if v := stats["version"]; v != "" {
		fields["version"] = v
		title = fmt.Sprintf("memcached %s at %s answers over UDP: %d bytes for a %d-byte stats request (amplification ×%s)", v, addr(t), x.bytes, len(req), f)
	}
	return []check.Result{{Check: m.ID, Severity: m.Severity, Title: title,
		Evidence: check.Evidence{Request: "stats (UDP frame header + \"stats\\r\\n\")", Response: udpscan.Clean(body, 1024), Fields: fields}}}, nil
}

// runIPMI asks the channel's authentication capabilities and, on an IPMI
// 2.0 BMC, whether it accepts an RMCP+ session with cipher suite 0.
func runIPMI(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	var caps udpscan.IPMIAuthCap
	x, err := ask(ctx, env, t, [][]byte{udpscan.IPMIAuthCapRequest()}, func(b []byte) (bool, bool) {
		c, err := udpscan.ParseIPMIAuthCap(b)
		if err != nil {
			return false, false
		}
		caps = c
		return true, true
	})
	if err != nil || x.packets == 0 {
		return nil, err
	}
	fields := map[string]string{"ipmi_1.5": strconv.FormatBool(caps.V15), "ipmi_2.0": strconv.FormatBool(caps.V20),
		"auth_types": strings.Join(caps.AuthTypes, ","), "anonymous_login": strconv.FormatBool(caps.Anonymous),
		"null_user_names": strconv.FormatBool(caps.NullUsers)}
	sev := m.Severity
	var worse []string
	if caps.Anonymous {
		sev = finding.Critical
		worse = append(worse, "anonymous login enabled")
	}
	req := "Get Channel Authentication Capabilities"
	if caps.V20 {
		req += "; RMCP+ Open Session Request with cipher suite 0 (no session is completed)"
		tag := byte(rand.IntN(256))
		var sess udpscan.IPMIOpenSession
		got := false
		_, err := ask(ctx, env, t, [][]byte{udpscan.IPMIOpenSessionRequest(tag, rand.Uint32())}, func(b []byte) (bool, bool) {
			s, err := udpscan.ParseIPMIOpenSession(b)
			if err != nil || s.Tag != tag || got {
				return false, false
			}
			sess, got = s, true
			return true, true
		})
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, err
		case !got:
			fields["cipher_zero"] = "no answer"
		case sess.Status == 0:
			fields["cipher_zero"] = "accepted"
			sev = finding.Critical
			worse = append(worse, "cipher suite 0 accepted (login with any password)")
		default:
			fields["cipher_zero"] = "refused: " + udpscan.IPMIStatusText(sess.Status)
		}
	}
	title := fmt.Sprintf("IPMI BMC at %s answers from the internet (%s)", addr(t), caps)
	if len(worse) > 0 {
		title = fmt.Sprintf("IPMI BMC at %s answers from the internet: %s", addr(t), strings.Join(worse, ", "))
	}
	return []check.Result{{Check: m.ID, Severity: sev, Title: title,
		Evidence: check.Evidence{Request: req, Response: caps.String(), Fields: fields}}}, nil
}

// runTFTP asks for a file name nobody serves. The server answers from a
// new port, so the check reads from an unconnected socket and takes
// datagrams from the target's address only; a transfer that starts anyway
// is ended with an ERROR.
func runTFTP(ctx context.Context, env *check.Env, t check.Target, m check.Meta) ([]check.Result, error) {
	name := fmt.Sprintf("rampart-check-%08x.txt", rand.Uint32())
	lc, err := net.ListenUDP("udp", nil)
	if err != nil {
		return nil, fmt.Errorf("udp: tftp: %w", err)
	}
	defer lc.Close()
	stop := context.AfterFunc(ctx, func() { lc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	to := net.UDPAddrFromAddrPort(t.Addr)
	req := udpscan.TFTPReadRequest(name)
	wait := waitFor(env)
	buf := make([]byte, 1024)
	for attempt := 0; attempt < 2; attempt++ {
		if _, err := lc.WriteToUDP(req, to); err != nil {
			return nil, fmt.Errorf("udp: tftp %s: %w: %w", t.Addr, check.ErrUnreachable, err)
		}
		end := time.Now().Add(wait / 2)
		for {
			lc.SetReadDeadline(end)
			n, from, err := lc.ReadFromUDPAddrPort(buf)
			if err != nil {
				var ne net.Error
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return nil, fmt.Errorf("udp: tftp %s: %w: %w", t.Addr, check.ErrUnreachable, err)
			}
			if from.Addr().Unmap() != t.Addr.Addr().Unmap() {
				continue
			}
			r, err := udpscan.ParseTFTP(buf[:n])
			if err != nil {
				continue
			}
			fields := map[string]string{"requested": name, "reply_port": strconv.Itoa(int(from.Port())), "opcode": strconv.Itoa(r.Opcode)}
			resp := ""
			switch r.Opcode {
			case 5:
				fields["error"] = r.ErrMsg
				resp = fmt.Sprintf("ERROR %d %s", r.ErrCode, r.ErrMsg)
			case 3:
				// Stop the transfer this started.
				lc.WriteToUDPAddrPort(udpscan.TFTPError("transfer not wanted"), netip.AddrPortFrom(from.Addr(), from.Port()))
				resp = fmt.Sprintf("DATA block %d, %d bytes", r.Block, len(r.Data))
			case 6:
				lc.WriteToUDPAddrPort(udpscan.TFTPError("transfer not wanted"), netip.AddrPortFrom(from.Addr(), from.Port()))
				resp = "OACK"
			}
			return []check.Result{{Check: m.ID, Severity: m.Severity,
				Title:    fmt.Sprintf("TFTP server at %s answers read requests from the internet", addr(t)),
				Evidence: check.Evidence{Request: "RRQ " + name + " octet", Response: resp, Fields: fields}}}, nil
		}
	}
	return nil, nil
}
