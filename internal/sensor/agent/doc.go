// Package agent is `rampart sensor`: the process a member runs at its
// gateway. It reads the inputs it is given (Suricata EVE, Zeek logs,
// NetFlow/IPFIX, syslog), follows the hub's indicator snapshot into a
// matcher, runs the detectors and publishes batches of detections, with
// its counters, on "rampart.sensor.<org>.<name>.detections" and
// heartbeats on "….stats", with the credential the platform issued it
// (`rampart sensors add`): the server refuses anything else.
//
// Every report goes through a bounded disk buffer (buffer.go) before it
// is sent, so a sensor that loses the platform keeps what it saw, sends
// it in order when the platform is back, and says exactly how much it had
// to drop past the cap.
//
// It keeps no platform state and calls no platform service (store,
// findings, correlator): it talks to the platform over NATS only, with
// the permissions natsq.EdgePermissions gives a sensor.
package agent
