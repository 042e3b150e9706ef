// Package tlsprobe speaks just enough of the TLS and SSLv3 handshake to
// learn what a server accepts: it builds a ClientHello for a chosen
// protocol version and suite list (RFC 6101, 2246, 4346, 5246, 8446),
// sends it over a raw connection, and parses the records that come back
// up to the ServerHello, the Certificate message or an Alert. It never
// finishes a handshake and never sends application data.
//
// crypto/tls refuses SSLv3, export, NULL and anonymous suites on purpose;
// a scanner has to offer them to find servers that still accept them, so
// this package builds the bytes itself.
//
// Everything a server sends is hostile input: reads carry a deadline and a
// size cap, and the parsers (ParseRecord, ParseServerHello,
// ParseClientHello, ParseHandshakes) have fuzz targets.
//
// The package imports the standard library only.
package tlsprobe
