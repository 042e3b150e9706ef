// Package netflow is the sensor's NetFlow v5, NetFlow v9 (RFC 3954) and
// IPFIX (RFC 7011) collector: it receives export datagrams over UDP,
// decodes them and hands the flows on as sensor.Event values (Type
// sensor.TypeFlow, Input "netflow" for v5 and v9, "ipfix" for IPFIX).
//
// # Use
//
// `rampart sensor --netflow ADDR` runs
//
//	err := netflow.Listen(ctx, "0.0.0.0:2055", func(evs []sensor.Event) {
//		// called from several reader goroutines at once; evs is reused
//		// after the call returns: copy what you keep.
//	})
//
// and New + Run when the caller needs the bound address (port 0) or the
// counters (Collector.Stats, for metrics) while it runs.
//
// # Receiving
//
// A Collector opens Config.Readers UDP sockets on the same address with
// SO_REUSEPORT (the kernel spreads exporters over them by their address
// and port), asks for a large receive buffer (SO_RCVBUFFORCE when the
// process may, else SO_RCVBUF within net.core.rmem_max), and reads each
// socket in its own goroutine with recvmmsg (golang.org/x/net ReadBatch),
// Config.Batch datagrams per system call, into batches of buffers
// allocated once. After a read that did not fill half a batch the reader
// waits Config.Coalesce (1 ms) so that the next takes many datagrams for
// one wake-up and one system call. A reader learns the templates and options of its
// datagrams in arrival order, then hands the batch to one of
// Config.Workers goroutines, which decode the flows into a reused slice
// of events and call the sink with it; so one exporter's flows, which
// the kernel always gives to the same socket, are decoded on several
// cores and never miss a template sent before them. (A template that
// changes under the same ID may apply to data of the datagram just
// before it that a worker had not reached yet; exporters do not reuse an
// ID that way while data of the old one is in flight.) At most
// Config.Queue batches wait for workers; then the reader waits, the
// socket's buffer absorbs the burst, and what the kernel has to drop
// beyond it is asked of the kernel (SO_MEMINFO, Stats.KernelDrops). A
// datagram larger than Config.MaxPacket is counted (Stats.Truncated) and
// not decoded.
//
// # Decoding
//
// Decoder does the decoding and is usable alone (tests, benchmarks).
// Templates (v9 and IPFIX) are kept per exporter: source address and port,
// version and observation domain (v9: source ID), as RFC 7011 scopes them
// to the transport session and domain. A template not refreshed within
// Config.TemplateTTL is forgotten; IPFIX template withdrawals are obeyed.
// Data arriving before its template is counted (Stats.NoTemplate) and
// dropped, as exporters resend templates periodically. Options templates
// are learned so their data is skipped cleanly; the sampling interval is
// read from options data (IEs 34, 50, 305) or from the flow record itself,
// and from the v5 header; packet and byte counts of a sampled exporter are
// multiplied by it, estimating the real traffic. IPFIX variable-length
// fields and reduced-size integers are read; enterprise-specific fields
// are skipped by their length. Every read is bounds-checked: a malformed
// datagram is counted (Stats.Malformed) and what could be decoded before
// the fault is kept. Templates are capped in number and size so a hostile
// exporter cannot grow memory without bound.
//
// The package imports only the standard library, golang.org/x/net and
// golang.org/x/sys, and internal/sensor; it must not import the store, the
// queue or the hub. bench/netflow measures it against nfdump's nfcapd.
package netflow
