// Command checks measures the full default check set against many loopback
// hosts: 200 hosts on 127.79.x.y with about 500 open ports of the services
// the checks know (web, TLS, Redis, SSH, FTP, SMTP), scanned on the top 1000
// ports, fingerprinted and checked — the goal is under 60 s on a
// 2-core machine. With -udp (the default) the default UDP ports are
// scanned too and the UDP checks run: every host answers SNMP, NTP and
// SSDP on some of them (udptest fakes), the rest are closed.
//
//	go run ./bench/checks [-hosts 200] [-udp=false]
package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rampart-cert/rampart/internal/check"
	"github.com/rampart-cert/rampart/internal/check/all"
	"github.com/rampart-cert/rampart/internal/check/vuln"
	"github.com/rampart-cert/rampart/internal/engine"
	"github.com/rampart-cert/rampart/internal/probe/fingerprint"
	"github.com/rampart-cert/rampart/internal/probe/portscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan"
	"github.com/rampart-cert/rampart/internal/probe/udpscan/udptest"
	"github.com/rampart-cert/rampart/internal/target"
	"github.com/rampart-cert/rampart/internal/vulndb"
)

func main() {
	hosts := flag.Int("hosts", 200, "loopback hosts")
	udp := flag.Bool("udp", true, "scan the default UDP ports too and run the UDP checks")
	flag.Parse()
	if _, err := portscan.RaiseFDLimit(); err != nil {
		fmt.Fprintln(os.Stderr, "fd limit:", err)
	}
	cert := selfSigned()
	var listeners []net.Listener
	open := 0
	var specs []string
	for i := 0; i < *hosts; i++ {
		ip := fmt.Sprintf("127.79.%d.%d", i/250, i%250+1)
		specs = append(specs, ip)
		// Every host serves HTTP; others add TLS, Redis, SSH, FTP or SMTP.
		kinds := []string{"http"}
		switch i % 4 {
		case 0:
			kinds = append(kinds, "https", "redis")
		case 1:
			kinds = append(kinds, "ssh", "ftp")
		case 2:
			kinds = append(kinds, "https", "smtp")
		case 3:
			kinds = append(kinds, "ssh")
		}
		for _, k := range kinds {
			port := map[string]int{"http": 80, "https": 443, "redis": 6379, "ssh": 22, "ftp": 21, "smtp": 25}[k]
			ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
			if err != nil {
				fmt.Fprintln(os.Stderr, "skip", ip, k, err)
				continue
			}
			listeners = append(listeners, ln)
			open++
			go serve(ln, k, cert)
		}
	}
	defer func() {
		for _, ln := range listeners {
			ln.Close()
		}
	}()
	udpOpen := 0
	if *udp {
		// SNMP with "public" on every 4th host, NTP answering READVAR on
		// every 3rd, SSDP on every 5th.
		for i := 0; i < *hosts; i++ {
			ip := fmt.Sprintf("127.79.%d.%d", i/250, i%250+1)
			for _, f := range []struct {
				every, port int
				h           udptest.Handler
			}{{4, 161, udptest.SNMP("Linux bench 6.1.0", "public")}, {3, 123, udptest.NTP(udptest.NTPOptions{ReadVar: true})},
				{5, 1900, udptest.SSDP("Linux UPnP/1.0 MiniUPnPd/2.3.3", 2)}} {
				if i%f.every != 0 {
					continue
				}
				s, err := udptest.Listen(ip, f.port, f.h)
				if err != nil {
					fmt.Fprintln(os.Stderr, "skip udp", ip, f.port, err)
					continue
				}
				defer s.Close()
				udpOpen++
			}
		}
	}
	reg, errs := all.Registry("internal/check/template/builtin")
	for _, e := range errs {
		fmt.Fprintln(os.Stderr, "template:", e)
	}
	env := &check.Env{Timeout: 5 * time.Second, Now: time.Now, UserAgent: "Rampart-bench", Extra: map[string]any{vuln.ExtraKey: vulndb.NewDB()}}
	if db, err := vulndb.Load("rampart-data/vulndb"); err == nil {
		env.Extra[vuln.ExtraKey] = db
	}
	ports, _ := target.ParsePorts("top1000")
	cfg := engine.Config{Ports: ports, Scan: portscan.Config{}, Prober: fingerprint.New(nil, fingerprint.Options{}),
		Checks: reg.Select([]string{"all"}), CheckEnv: env, ProbeConcurrency: 128, CheckConcurrency: 64, Names: []string{}, URLs: []string{}}
	if *udp {
		cfg.UDPPorts = udpscan.DefaultPorts
		cfg.UDPScan = udpscan.Config{Rate: 5000}
	}
	sink := &counter{}
	start := time.Now()
	sum, err := engine.Run(context.Background(), specs, cfg, sink)
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "scan:", err)
		os.Exit(1)
	}
	fmt.Printf("hosts %d, listeners %d, ports probed %d, open found %d, checks run %d, findings %d, problems %d\n",
		sum.Hosts, open, sum.Probed, sum.Open, sum.ChecksRun, sum.Findings, sink.problems.Load())
	if *udp {
		u := sum.UDP
		fmt.Printf("udp: probed %d, open %d (%d lab services), closed %d, open|filtered %d, %.0f probes/s\n",
			u.Probed, u.Open, udpOpen, u.Closed, u.OpenFiltered, u.Rate)
	}
	fmt.Printf("elapsed %.1f s on %d CPUs (goal: under 60 s)\n", elapsed.Seconds(), runtime.NumCPU())
	if sum.Open != open {
		fmt.Printf("note: found %d open ports, %d lab listeners (the rest are this machine's own services listening on every address)\n", sum.Open, open)
	}
}

type counter struct{ problems atomic.Int64 }

func (c *counter) Port(engine.Port)                   {}
func (c *counter) Finding(check.Target, check.Result) {}
func (c *counter) Covered(check.Target, []string)     {}
func (c *counter) Problem(what string, err error)     { c.problems.Add(1) }

func serve(ln net.Listener, kind string, cert tls.Certificate) {
	switch kind {
	case "http", "https":
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server", "nginx/1.18.0")
			if r.URL.Path == "/" {
				io.WriteString(w, "<html><head><title>Cổng thông tin</title></head><body>Xin chào</body></html>")
				return
			}
			http.NotFound(w, r)
		})
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		if kind == "https" {
			srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
			srv.ServeTLS(ln, "", "")
			return
		}
		srv.Serve(ln)
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			r := bufio.NewReader(io.LimitReader(c, 1<<16))
			switch kind {
			case "ssh":
				io.WriteString(c, "SSH-2.0-OpenSSH_7.4\r\n")
				r.ReadString('\n')
			case "ftp":
				io.WriteString(c, "220 (vsFTPd 3.0.5)\r\n")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					switch {
					case strings.HasPrefix(l, "USER"):
						io.WriteString(c, "331 Password.\r\n")
					case strings.HasPrefix(l, "PASS"):
						io.WriteString(c, "530 Login incorrect.\r\n")
					default:
						io.WriteString(c, "221 Bye.\r\n")
						return
					}
				}
			case "smtp":
				io.WriteString(c, "220 mail.example ESMTP Postfix\r\n")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(strings.ToUpper(l), "EHLO") {
						io.WriteString(c, "250-mail.example\r\n250 SIZE 10240000\r\n")
					} else {
						io.WriteString(c, "221 Bye\r\n")
						return
					}
				}
			case "redis":
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if strings.HasPrefix(l, "*") || strings.HasPrefix(l, "$") {
						continue
					}
					if strings.HasPrefix(strings.ToUpper(l), "INFO") {
						body := "# Server\r\nredis_version:6.0.9\r\n"
						fmt.Fprintf(c, "$%d\r\n%s\r\n", len(body), body)
					} else {
						io.WriteString(c, "+PONG\r\n")
					}
				}
			}
		}()
	}
}

func selfSigned() tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench.local"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), DNSNames: []string{"bench.local"}}
	der, _ := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
