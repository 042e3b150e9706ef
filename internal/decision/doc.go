// Package decision turns what several members' sensors see into national
// decisions and hands them to enforcement.
//
// The Correlator receives sensor.Detections (from the platform's
// ingester, which sets their organization and sensor from the
// credential). When the same source address is seen attacking
// Options.MinOrgs or more distinct organizations within Options.Window,
// it becomes a decision to block the address for Options.TTL, extended
// while detections continue. Policy decides whether a decision is active
// at once or waits for an analyst: an address of the constituency, a
// public resolver or CDN (publicinfra.txt), a network the configuration
// names, or a critical-infrastructure member reporting alone always wait.
//
// Decisions leave through three doors: LAPI, a CrowdSec Local API
// compatible decisions stream for members' existing bouncers (each
// bouncer its own key and cursor); Blocklists, the hub's blocklist
// formats (nftables, ipset, Mikrotik, plain, CSV, RPZ); and the console
// and API, where analysts approve, reject and lift them (Service).
//
// The correlator keeps its window in memory: one platform process runs
// it. Decisions, their evidence and every bouncer's cursor are in the
// store (store.Decisions), so the stream survives restarts.
//
// The package uses the store and the blocklist renderer; it must not
// import the web or API faces, the queue or the sensor inputs.
package decision
