// Package routing reads offline routing data to learn which prefixes an
// autonomous system announces: MRT files (RFC 6396; TABLE_DUMP and
// TABLE_DUMP_V2 routing tables, BGP4MP and BGP4MP_ET update streams, plain,
// gzip or bzip2) and CAIDA's pfx2as text. Table collects the routes by
// origin AS.
//
// The MRT reader is our own, not gobgp's packet/mrt: it needs only the
// prefixes and the origin of each path (AS_PATH, AS4_PATH, MP_REACH_NLRI),
// and reading them ourselves keeps gobgp's module graph (gRPC, protobuf,
// viper) out of the build. Files are untrusted: a record is at most
// MaxRecord bytes, every field is bounds-checked, and a record that does
// not parse stops the read with its number.
package routing
