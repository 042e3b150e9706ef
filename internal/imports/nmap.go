package imports

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-cert/rampart/internal/finding"
)

// The parts of `nmap -oX` output that we read (nmap.dtd).
type (
	nmapAddress struct {
		Addr string `xml:"addr,attr"`
		Type string `xml:"addrtype,attr"`
	}
	nmapHostnames struct {
		Names []struct {
			Name string `xml:"name,attr"`
			Type string `xml:"type,attr"`
		} `xml:"hostname"`
	}
	nmapPort struct {
		Protocol string `xml:"protocol,attr"`
		PortID   string `xml:"portid,attr"`
		State    struct {
			State  string `xml:"state,attr"`
			Reason string `xml:"reason,attr"`
		} `xml:"state"`
		Service *struct {
			Name      string   `xml:"name,attr"`
			Product   string   `xml:"product,attr"`
			Version   string   `xml:"version,attr"`
			ExtraInfo string   `xml:"extrainfo,attr"`
			Tunnel    string   `xml:"tunnel,attr"`
			Method    string   `xml:"method,attr"`
			Conf      string   `xml:"conf,attr"`
			CPE       []string `xml:"cpe"`
		} `xml:"service"`
		Scripts []nmapScript `xml:"script"`
	}
	nmapScript struct {
		ID     string      `xml:"id,attr"`
		Output string      `xml:"output,attr"`
		Elems  []nmapElem  `xml:"elem"`
		Tables []nmapTable `xml:"table"`
	}
	nmapTable struct {
		Key    string      `xml:"key,attr"`
		Elems  []nmapElem  `xml:"elem"`
		Tables []nmapTable `xml:"table"`
	}
	nmapElem struct {
		Key   string `xml:"key,attr"`
		Value string `xml:",chardata"`
	}
)

// nmapHost gathers one <host> before its results are made: the address
// may come after the ports in a hand-edited file.
type nmapHost struct {
	line      int
	time      time.Time // endtime, else starttime; zero when neither reads
	status    string
	addrs     []nmapAddress
	hostnames nmapHostnames
	ports     []nmapPortAt
	scripts   []nmapScriptAt
}

type nmapPortAt struct {
	line int
	port nmapPort
}

type nmapScriptAt struct {
	line   int
	script nmapScript
}

// xmlStream wraps the decoder with the line of the last token.
type xmlStream struct {
	dec *xml.Decoder
}

func (s *xmlStream) line() int {
	l, _ := s.dec.InputPos()
	return l
}

func (s *xmlStream) fail(what string, err error) *Error {
	if errors.Is(err, errCapped) {
		return &Error{Msg: "input over Limits.MaxBytes", Err: ErrTooLarge} // replaced by Parse
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := strings.TrimPrefix(se.Msg, "xml: ")
		if msg == "unexpected EOF" {
			msg = "unexpected end of input (truncated file?)"
		}
		return formatErr(se.Line, "%s: bad XML: %s", what, msg)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return formatErr(s.line(), "%s: unexpected end of input (truncated file?)", what)
	}
	return formatErr(s.line(), "%s: bad XML: %s", what, strings.TrimPrefix(err.Error(), "xml: "))
}

// token returns the next token, refusing directives: a DTD could
// declare entities, and nmap writes none besides its bare DOCTYPE.
func (s *xmlStream) token(what string) (xml.Token, *Error) {
	tok, err := s.dec.Token()
	if err != nil {
		return nil, s.fail(what, err)
	}
	if d, ok := tok.(xml.Directive); ok {
		return nil, formatErr(s.line(), "refusing XML directive <!%s>: nmap writes only a bare <!DOCTYPE nmaprun> before its root", clip(oneLine(string(d), 60), 60))
	}
	return tok, nil
}

func parseNmap(r io.Reader, c *collector) *Error {
	dec := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	dec.Strict = true // undefined entities (&xxe;) are syntax errors
	s := &xmlStream{dec: dec}

	// Prolog: the XML declaration, the stylesheet, comments, and at most
	// nmap's own bare DOCTYPE.
	var root xml.StartElement
	sawDoctype := false
prolog:
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return formatErr(s.line(), "no <nmaprun> element: not nmap XML output")
		}
		if err != nil {
			return s.fail("prolog", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			if strings.Join(strings.Fields(string(t)), " ") != "DOCTYPE nmaprun" || sawDoctype {
				return formatErr(s.line(), "refusing <!%s>: only nmap's bare <!DOCTYPE nmaprun> is accepted (no DTD, no entities)", clip(oneLine(string(t), 60), 60))
			}
			sawDoctype = true
		case xml.StartElement:
			root = t
			break prolog
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return formatErr(s.line(), "text before the root element: not nmap XML output")
			}
		}
	}
	if root.Name.Local != "nmaprun" {
		return formatErr(s.line(), "root element <%s>, want <nmaprun>: not nmap XML output", clip(oneLine(root.Name.Local, 40), 40))
	}
	c.toolName = "nmap"
	var runStart time.Time // for hosts that carry no times of their own
	for _, a := range root.Attr {
		switch a.Name.Local {
		case "scanner":
			if strings.TrimSpace(a.Value) != "" {
				c.toolName = oneLine(a.Value, MaxShortBytes)
			}
		case "start":
			runStart = unixTime(a.Value)
		}
	}

	for {
		tok, e := s.token("nmaprun")
		if e != nil {
			return e
		}
		switch t := tok.(type) {
		case xml.EndElement:
			// </nmaprun>: whatever follows is not read, but must not be
			// another document.
			for {
				tok, err := dec.Token()
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return s.fail("after </nmaprun>", err)
				}
				switch tok.(type) {
				case xml.StartElement, xml.Directive:
					return formatErr(s.line(), "content after </nmaprun>")
				}
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "host":
				h, e := readNmapHost(s, t)
				if e != nil {
					return e
				}
				if h.time.IsZero() {
					h.time = runStart
				}
				if e := nmapResults(h, c); e != nil {
					return e
				}
			case "runstats":
				if e := readNmapRunstats(s, t, c); e != nil {
					return e
				}
			default:
				// scaninfo, verbose, prescript, taskbegin...: not about a host.
				if err := dec.Skip(); err != nil {
					return s.fail("<"+t.Name.Local+">", err)
				}
			}
		}
	}
}

func readNmapHost(s *xmlStream, start xml.StartElement) (*nmapHost, *Error) {
	h := &nmapHost{line: s.line()}
	var startTime, endTime time.Time
	for _, a := range start.Attr {
		switch a.Name.Local {
		case "starttime":
			startTime = unixTime(a.Value)
		case "endtime":
			endTime = unixTime(a.Value)
		}
	}
	h.time = endTime
	if h.time.IsZero() {
		h.time = startTime
	}
	for {
		tok, e := s.token("host")
		if e != nil {
			return nil, e
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return h, nil
		case xml.StartElement:
			var err error
			switch t.Name.Local {
			case "status":
				for _, a := range t.Attr {
					if a.Name.Local == "state" {
						h.status = a.Value
					}
				}
				err = s.dec.Skip()
			case "address":
				var a nmapAddress
				err = s.dec.DecodeElement(&a, &t)
				h.addrs = append(h.addrs, a)
			case "hostnames":
				err = s.dec.DecodeElement(&h.hostnames, &t)
			case "ports":
				if e := readNmapPorts(s, h); e != nil {
					return nil, e
				}
			case "hostscript":
				if e := readNmapHostscripts(s, h); e != nil {
					return nil, e
				}
			default:
				err = s.dec.Skip()
			}
			if err != nil {
				return nil, s.fail("<"+t.Name.Local+">", err)
			}
		}
	}
}

func readNmapPorts(s *xmlStream, h *nmapHost) *Error {
	for {
		tok, e := s.token("ports")
		if e != nil {
			return e
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if t.Name.Local != "port" {
				if err := s.dec.Skip(); err != nil {
					return s.fail("<"+t.Name.Local+">", err)
				}
				continue
			}
			p := nmapPortAt{line: s.line()}
			if err := s.dec.DecodeElement(&p.port, &t); err != nil {
				return s.fail("<port>", err)
			}
			h.ports = append(h.ports, p)
		}
	}
}

func readNmapHostscripts(s *xmlStream, h *nmapHost) *Error {
	for {
		tok, e := s.token("hostscript")
		if e != nil {
			return e
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if t.Name.Local != "script" {
				if err := s.dec.Skip(); err != nil {
					return s.fail("<"+t.Name.Local+">", err)
				}
				continue
			}
			sc := nmapScriptAt{line: s.line()}
			if err := s.dec.DecodeElement(&sc.script, &t); err != nil {
				return s.fail("<script>", err)
			}
			h.scripts = append(h.scripts, sc)
		}
	}
}

// readNmapRunstats reports a scan that nmap itself says failed: its file
// may hold only part of the hosts.
func readNmapRunstats(s *xmlStream, start xml.StartElement, c *collector) *Error {
	var rs struct {
		Finished struct {
			Exit     string `xml:"exit,attr"`
			ErrorMsg string `xml:"errormsg,attr"`
		} `xml:"finished"`
	}
	line := s.line()
	if err := s.dec.DecodeElement(&rs, &start); err != nil {
		return s.fail("<runstats>", err)
	}
	if rs.Finished.Exit == "error" {
		return c.bad(line, "nmap reports the scan failed (%s); the file may be missing hosts", clip(oneLine(rs.Finished.ErrorMsg, 200), 200))
	}
	return nil
}

// nmapResults turns one host into an observation per open port and a
// result per NSE script.
func nmapResults(h *nmapHost, c *collector) *Error {
	if h.status != "" && h.status != "up" {
		return nil // a host nmap found down has nothing to report
	}
	base := Result{ToolName: c.toolName, Time: h.time}
	for _, want := range []string{"ipv4", "ipv6"} {
		for _, a := range h.addrs {
			if a.Type == want && base.IP == "" {
				_, ip, err := normHost(a.Addr)
				if err != nil || ip == "" {
					return c.bad(h.line, "host address %q is not an IP address", clip(oneLine(a.Addr, 80), 80))
				}
				base.IP = ip
			}
		}
	}
	if base.IP == "" {
		return c.bad(h.line, "no host: <host> has no ipv4 or ipv6 address")
	}
	base.Host = base.IP
	var ptr []string
	for _, n := range h.hostnames.Names {
		name, _, err := normHost(n.Name)
		if err != nil {
			continue // a PTR record is the network owner's text, not ours to trust
		}
		switch n.Type {
		case "user":
			base.Host = name // the name that was asked for
		case "PTR":
			ptr = append(ptr, name)
		}
	}
	ptrEvidence := strings.Join(ptr, " ")

	for _, pa := range h.ports {
		p := pa.port
		proto := strings.ToLower(p.Protocol)
		if proto == "ip" {
			continue // nmap -sO: portid is an IP protocol number, not a port
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			if e := c.bad(pa.line, "port protocol %q is not tcp, udp or sctp", clip(oneLine(p.Protocol, 20), 20)); e != nil {
				return e
			}
			continue
		}
		port, err := parsePort(p.PortID)
		if err != nil {
			if e := c.bad(pa.line, "%v", err); e != nil {
				return e
			}
			continue
		}
		at := base
		at.Line, at.Port, at.Proto = pa.line, port, proto
		if p.State.State == "open" {
			obs := at
			obs.Observation = true
			obs.RuleID = "open-port"
			obs.Severity = finding.Info
			obs.Evidence = map[string]string{"state-reason": p.State.Reason, "ptr": ptrEvidence}
			if sv := p.Service; sv != nil {
				obs.Service, obs.Product, obs.Version = sv.Name, sv.Product, sv.Version
				if len(sv.CPE) > 0 {
					obs.CPE = strings.TrimSpace(sv.CPE[0])
				}
				obs.Evidence["extrainfo"] = sv.ExtraInfo
				obs.Evidence["tunnel"] = sv.Tunnel
				obs.Evidence["method"] = sv.Method // "table" is a guess from the port number
				obs.Evidence["conf"] = sv.Conf
			}
			obs.Title = fmt.Sprintf("Open port %d/%s", port, proto)
			if name := oneLine(obs.Service, 64); name != "" {
				obs.Title += " (" + name + ")"
			}
			if e := c.add(obs); e != nil {
				return e
			}
		}
		for _, sc := range p.Scripts {
			if e := addNmapScript(c, at, sc, ptrEvidence); e != nil {
				return e
			}
		}
	}
	for _, sa := range h.scripts {
		at := base
		at.Line = sa.line
		if e := addNmapScript(c, at, sa.script, ptrEvidence); e != nil {
			return e
		}
	}
	return nil
}

func addNmapScript(c *collector, at Result, sc nmapScript, ptr string) *Error {
	id := strings.TrimSpace(sc.ID)
	if id == "" {
		return c.bad(at.Line, "<script> has no id")
	}
	r := at
	r.RuleID = id
	r.Title = "Nmap script " + id
	r.Severity = finding.Info
	r.Evidence = map[string]string{"output": sc.Output, "ptr": ptr}
	for _, e := range sc.Elems {
		if e.Key == "least strength" { // ssl-enum-ciphers' overall grade
			r.Evidence["least-strength"] = e.Value
		}
	}
	if id == "vulners" {
		vulnersResult(&r, sc)
	} else {
		vulnsResult(&r, sc)
	}
	return c.add(r)
}

// vulnsResult reads the tables of scripts built on NSE's vulns library:
// one table per vulnerability with a "state" elem. VULNERABLE (any
// variant) makes the result high, LIKELY VULNERABLE medium; IDs and
// references come from the vulnerable tables only.
func vulnsResult(r *Result, sc nmapScript) {
	rank := 0
	var states []string
	for _, t := range sc.Tables {
		state := strings.ToUpper(strings.TrimSpace(t.elem("state")))
		if state == "" {
			continue
		}
		states = append(states, t.Key+": "+state)
		tr := 0
		switch {
		case strings.HasPrefix(state, "VULNERABLE"):
			tr = 2
		case strings.HasPrefix(state, "LIKELY VULNERABLE"):
			tr = 1
		default:
			continue // NOT VULNERABLE, UNKNOWN
		}
		if tr > rank { // the most severe table names the result
			rank = tr
			if title := t.elem("title"); title != "" {
				r.Title = title
			}
			if d := t.table("description"); d != nil {
				r.Description = d.joinElems()
			} else {
				r.Description = t.elem("description")
			}
		}
		r.CVE = addCVEs(r.CVE, t.Key)
		if ids := t.table("ids"); ids != nil {
			for _, e := range ids.Elems {
				r.CVE = addCVEs(r.CVE, e.Value)
			}
		}
		if refs := t.table("refs"); refs != nil {
			for _, e := range refs.Elems {
				if len(r.References) < 4*MaxListItems {
					r.References = append(r.References, strings.TrimSpace(e.Value))
				}
			}
		}
		if d := t.elem("disclosure"); d != "" {
			r.Evidence["disclosure"] = d
		}
	}
	switch rank {
	case 2:
		r.Severity = finding.High
	case 1:
		r.Severity = finding.Medium
	}
	if len(states) > 0 {
		r.Evidence["state"] = strings.Join(states, "\n")
	}
}

// vulnersResult reads the vulners script: a table per CPE listing
// entries with id, type and cvss. It matches versions, it does not test,
// so the result says so; its severity is the highest CVSS among the CVE
// entries.
func vulnersResult(r *Result, sc nmapScript) {
	best := -1.0
	var cpes []string
	for _, cpe := range sc.Tables {
		cpes = append(cpes, cpe.Key)
		for _, e := range cpe.Tables {
			if !strings.EqualFold(e.elem("type"), "cve") {
				continue
			}
			r.CVE = addCVEs(r.CVE, e.elem("id"))
			if f, err := strconv.ParseFloat(strings.TrimSpace(e.elem("cvss")), 64); err == nil && f >= 0 && f <= 10 && f > best {
				best = f
			}
		}
	}
	r.Title = "Known vulnerabilities for the detected version (vulners)"
	r.Description = "The vulners NSE script matched the detected product version against its database; the target was not tested for these vulnerabilities."
	if len(cpes) > 0 {
		r.Evidence["cpe"] = strings.Join(cpes, "\n")
	}
	if best >= 0 {
		r.Evidence["max-cvss"] = strconv.FormatFloat(best, 'f', 1, 64)
		if sev, ok := severityFromScore(strconv.FormatFloat(best, 'f', -1, 64)); ok {
			r.Severity = sev
		}
	}
}

func (t *nmapTable) elem(key string) string {
	for _, e := range t.Elems {
		if e.Key == key {
			return strings.TrimSpace(e.Value)
		}
	}
	return ""
}

func (t *nmapTable) table(key string) *nmapTable {
	for i := range t.Tables {
		if t.Tables[i].Key == key {
			return &t.Tables[i]
		}
	}
	return nil
}

func (t *nmapTable) joinElems() string {
	var parts []string
	for _, e := range t.Elems {
		if v := strings.TrimSpace(e.Value); v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, "\n")
}
