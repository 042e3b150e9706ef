// Package ctlog is a small Certificate Transparency log server (RFC 6962
// get-sth, get-entries and get-roots) over a tree held in memory, built
// from the message formats of the RFC. Tests and the demo lab serve real
// certificates through it; it never accepts submissions from the network
// (add-chain is not served), so it is no open log.
package ctlog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-cert/rampart/internal/discovery/ct"
)

// Log is a log over a growing list of entries. Its methods are safe for
// concurrent use.
type Log struct {
	key      *ecdsa.PrivateKey
	maxBatch int
	now      func() time.Time

	mu      sync.RWMutex
	entries []ct.RawEntry
	hashes  [][32]byte
	sth     ct.STH
	roots   [][]byte
}

// New returns an empty log that hands out at most maxBatch entries per
// get-entries (the way real logs cap a batch; 0 means 256), signing its
// tree heads with a fresh ECDSA P-256 key.
func New(maxBatch int, now func() time.Time) (*Log, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ctlog: key: %w", err)
	}
	if maxBatch <= 0 {
		maxBatch = 256
	}
	if now == nil {
		now = time.Now
	}
	l := &Log{key: key, maxBatch: maxBatch, now: now}
	if err := l.resign(); err != nil {
		return nil, err
	}
	return l, nil
}

// PublicKey returns the key the tree heads verify with.
func (l *Log) PublicKey() *ecdsa.PublicKey { return &l.key.PublicKey }

// KeyBase64 is the public key as a log list gives it.
func (l *Log) KeyBase64() string {
	der, _ := x509.MarshalPKIXPublicKey(&l.key.PublicKey)
	return base64.StdEncoding.EncodeToString(der)
}

// AddCert logs a certificate (DER) with its chain (issuer first).
func (l *Log) AddCert(der []byte, chain ...[]byte) error {
	leaf := ct.AppendLeaf(nil, uint64(l.now().UnixMilli()), ct.X509Entry, der, [32]byte{})
	return l.add(ct.RawEntry{LeafInput: leaf, ExtraData: ct.AppendExtra(nil, ct.X509Entry, nil, chain)})
}

// AddPrecert logs a precertificate (DER, with its poison extension)
// issued by issuer: the leaf carries the TBSCertificate and the hash of
// the issuer's public key, the extra data the precertificate and chain.
func (l *Log) AddPrecert(precert, issuer []byte, chain ...[]byte) error {
	tbs, err := ct.TBSOf(precert)
	if err != nil {
		return err
	}
	var ikh [32]byte
	if ic, err := x509.ParseCertificate(issuer); err == nil {
		ikh = sha256.Sum256(ic.RawSubjectPublicKeyInfo)
	}
	leaf := ct.AppendLeaf(nil, uint64(l.now().UnixMilli()), ct.PrecertEntry, tbs, ikh)
	return l.add(ct.RawEntry{LeafInput: leaf, ExtraData: ct.AppendExtra(nil, ct.PrecertEntry, precert, append([][]byte{issuer}, chain...))})
}

// AddRaw logs an entry as it is, valid or not (tests of hostile logs).
func (l *Log) AddRaw(e ct.RawEntry) error { return l.add(e) }

func (l *Log) add(e ct.RawEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries = append(l.entries, e)
	l.hashes = append(l.hashes, ct.LeafHash(e.LeafInput))
	return l.resignLocked()
}

func (l *Log) resign() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resignLocked()
}

func (l *Log) resignLocked() error {
	root := ct.RootHash(l.hashes)
	sth := ct.STH{TreeSize: uint64(len(l.entries)), Timestamp: uint64(l.now().UnixMilli()), SHA256RootHash: root[:]}
	if err := ct.SignTreeHead(l.key, &sth); err != nil {
		return err
	}
	l.sth = sth
	return nil
}

// Size is the number of entries.
func (l *Log) Size() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.entries)
}

// STH returns the current signed tree head.
func (l *Log) STH() ct.STH {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.sth
}

// ServeHTTP serves /ct/v1/get-sth, /ct/v1/get-entries and /ct/v1/get-roots
// under any prefix (the log's URL path).
func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	switch {
	case hasSuffix(p, "/ct/v1/get-sth"):
		writeJSON(w, l.STH())
	case hasSuffix(p, "/ct/v1/get-entries"):
		l.getEntries(w, r)
	case hasSuffix(p, "/ct/v1/get-roots"):
		l.mu.RLock()
		roots := l.roots
		l.mu.RUnlock()
		writeJSON(w, map[string]any{"certificates": roots})
	default:
		http.NotFound(w, r)
	}
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func (l *Log) getEntries(w http.ResponseWriter, r *http.Request) {
	start, err1 := strconv.ParseUint(r.URL.Query().Get("start"), 10, 64)
	end, err2 := strconv.ParseUint(r.URL.Query().Get("end"), 10, 64)
	if err1 != nil || err2 != nil || end < start {
		http.Error(w, `{"error":"start and end must be integers, start <= end"}`, http.StatusBadRequest)
		return
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := uint64(len(l.entries))
	if start >= n {
		http.Error(w, `{"error":"start beyond the tree size"}`, http.StatusBadRequest)
		return
	}
	end = min(end, n-1, start+uint64(l.maxBatch)-1)
	writeJSON(w, ct.EntriesResponse{Entries: l.entries[start : end+1]})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
