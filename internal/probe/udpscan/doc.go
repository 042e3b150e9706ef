// Package udpscan is Rampart's UDP port scanner: it sends each port a
// datagram its protocol answers, and tells open, closed, filtered and
// open|filtered ports apart the way nmap -sU does.
//
//	stats, err := udpscan.Scan(ctx, udpscan.Config{Ports: udpscan.DefaultPorts, Rate: 5000}, seq,
//		func(r udpscan.Result) { fmt.Println(r.Target.Addr, r.Port, r.Info.Service) })
//
// # Probes
//
// UDP services ignore datagrams they do not understand, so an empty
// datagram finds few of them. The well-known ports get a request of their
// own protocol (ProbeFor): SNMP v2c and v1 GET of sysDescr.0 with the
// community "public" and v2c with "private" (an agent ignores a wrong
// community), NTP mode 3 (client), DNS version.bind CH TXT, SSDP M-SEARCH
// ssdp:all, mDNS _services._dns-sd._udp.local PTR with the unicast-response
// bit, memcached "stats" behind its 8-byte frame header, IPMI Get Channel
// Authentication Capabilities (RMCP, no session), NetBIOS NBSTAT for "*",
// CoAP GET /.well-known/core and TFTP RRQ of a name nobody serves (the
// server answers "File not found" from a new port, which the TFTP probe
// accepts). Config.Probes puts a protocol on any port. Every probe reads:
// nothing is written or changed on a target. The parsers of the replies
// (ParseSNMP, ParseNTPServer, ParseNTPControl, ParseNTPPrivate, ParseDNS,
// ParseSSDP, ParseMemcachedFrame, ParseMemcachedStats, ParseIPMIAuthCap,
// ParseIPMIOpenSession, ParseNetBIOSStatus, ParseCoAP, ParseTFTP) take
// hostile bytes and have fuzz targets; the checks of internal/check/udp
// use them too.
//
// # What a verdict means
//
// A UDP reply from the port (or, for TFTP, from the host) is open. An ICMP
// port unreachable is closed; another ICMP unreachable (host, network,
// protocol, administratively prohibited) is filtered. Silence after
// Config.Retries more attempts is open|filtered: an open port that
// ignored the probe and a firewall that drops it look the same. Only open
// ports are reported unless Config.All is set.
//
// # How
//
// On Linux a few unconnected sockets per address family (Config.Sockets)
// carry every probe, with IP_RECVERR (IPV6_RECVERR) set: the kernel then
// queues each ICMP error about a datagram on the socket's error queue with
// the datagram's destination address and port, which is how a closed port
// is told from a silent one without a socket (and a descriptor) per
// probe; a connected socket per probe would learn the same through
// ECONNREFUSED on read, at the cost of a descriptor per port in flight.
// One goroutine blocked in epoll_wait reads the replies and the error
// queues and matches them to the probes waiting, by the replying address
// and port. The scan loop sends, times out and retries: a global token
// bucket (Config.Rate) and per-host buckets (Config.PerHostRate) bound the
// probe rate, retries included; Config.Concurrency bounds the (host, port)
// pairs waiting for a verdict. Targets are interleaved in batches
// (Config.HostBatch), ports in a fixed shuffled order, so consecutive
// probes go to different hosts.
//
// Timeouts adapt per host like TCP's retransmission timer: any answer,
// reply or ICMP error, is an RTT sample, and a probe to a host that has
// answered waits max(MinTimeout, SRTT+4·RTTVAR), never more than Timeout,
// doubling on each retry. Elsewhere than Linux no ICMP error reaches an
// unconnected socket, so closed ports are reported open|filtered.
//
// The package probes exactly the targets it is given: scope checks belong
// to the caller.
package udpscan
