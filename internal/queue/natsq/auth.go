package natsq

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/rampart-cert/rampart/internal/queue"
)

// Files the embedded server keeps beside its JetStream store.
const (
	// PlatformSeedFile holds the NKEY seed of the platform's own user
	// (every right), generated on first start, mode 0600.
	PlatformSeedFile = "platform.nk"
	// WorkersFile lists the workers the platform issued credentials to:
	// their name, region and public key, never their seed.
	WorkersFile = "workers.json"
)

// Sentinel errors of credentials.
var (
	// ErrUnknownWorker means no worker of that name is registered.
	ErrUnknownWorker = errors.New("natsq: unknown worker")
	// ErrWorkerExists means a worker of that name is already registered.
	ErrWorkerExists = errors.New("natsq: worker already registered")
	// ErrBadCredentials means a credentials file holds no usable user key.
	ErrBadCredentials = errors.New("natsq: bad credentials file")
)

// maxCredsFile bounds a credentials file: a seed is 58 bytes, a creds file
// with its JWT a few kilobytes.
const maxCredsFile = 64 << 10

// workerPoll is how often the embedded server looks at WorkersFile for
// workers issued or revoked by another process (`rampart worker
// credentials`, `rampart worker revoke`).
const workerPoll = 2 * time.Second

// workerDurable is the durable consumer every worker of a region shares
// (package worker names it so); a worker user may use only its region's.
func workerDurable(region string) string { return "worker-" + region }

var tokenPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]{1,32}$`) })

var workerNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`) })

// Worker is one worker the platform issued credentials to.
type Worker struct {
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	PublicKey string    `json:"public_key"` // NKEY user public key, "U..."
	Issued    time.Time `json:"issued"`
}

// WorkerPermissions is what a worker user of region may do, for the
// embedded server and as the model for an external cluster's
// configuration (docs/nats.md): publish results; take its region's jobs
// through the region's durable pull consumer (create it only with the
// region's filter, fetch, acknowledge); read and write the key-value
// buckets named; write (not read) the keys "<region>.…" of the
// regionBuckets (heartbeats); receive replies on its own inbox prefix,
// _INBOX.<its public key>. Everything else (publishing jobs, reading
// results or events, other regions' jobs, other users' inboxes, stream
// management) is refused by the server.
func WorkerPermissions(region, publicKey string, buckets, regionBuckets []string) *server.Permissions {
	durable := workerDurable(region)
	pub := []string{
		queue.SubjectResults + ".>",
		// nats.go puts a single filter subject in the create subject, and
		// the server checks that it matches the request's filter.
		"$JS.API.CONSUMER.CREATE." + queue.StreamJobs + "." + durable + "." + queue.SubjectJobs + "." + region + ".>",
		"$JS.API.CONSUMER.INFO." + queue.StreamJobs + "." + durable,
		"$JS.API.CONSUMER.MSG.NEXT." + queue.StreamJobs + "." + durable,
		"$JS.ACK." + queue.StreamJobs + "." + durable + ".>",
	}
	for _, b := range buckets {
		pub = append(pub,
			"$JS.API.STREAM.INFO.KV_"+b,
			"$JS.API.DIRECT.GET.KV_"+b+".>",
			"$JS.API.STREAM.MSG.GET.KV_"+b,
			"$KV."+b+".>",
		)
	}
	for _, b := range regionBuckets {
		pub = append(pub, "$JS.API.STREAM.INFO.KV_"+b, "$KV."+b+"."+region+".>")
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{inboxPrefix(publicKey) + ".>"}},
	}
}

// inboxPrefix is where a user with this public key receives replies. A
// worker may subscribe there only, so it never sees the replies (and the
// pulled results and events) of the platform or of another worker.
func inboxPrefix(publicKey string) string { return "_INBOX." + publicKey }

// PlatformCredentials is the path of the platform user's seed in an
// embedded server's data dir; another platform process on the host (or
// an operator's nats CLI, with --nkey) connects with it.
func PlatformCredentials(dataDir string) string { return filepath.Join(dataDir, PlatformSeedFile) }

// platformKey reads the platform user's seed from dataDir, creating it
// (mode 0600) on first start.
func platformKey(dataDir string) (nkeys.KeyPair, error) {
	path := PlatformCredentials(dataDir)
	kp, err := readUserKey(path)
	if err == nil {
		return kp, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	kp, err = nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("natsq: platform credentials: %w", err)
	}
	seed, _ := kp.Seed()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return readUserKey(path) // another process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("natsq: platform credentials: %w", err)
	}
	_, err = f.Write(seedFile("Rampart platform user of the embedded NATS server: every right.", seed))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, fmt.Errorf("natsq: platform credentials: %w", err)
	}
	return kp, nil
}

// seedFile is a seed with comment lines saying what it is; nats.go, the
// nats CLI (--nkey) and nkeys.ParseDecoratedNKey read it.
func seedFile(what string, seed []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n# NKEY seed: keep it secret, readable by its owner only.\n", what)
	b.Write(seed)
	b.WriteByte('\n')
	return b.Bytes()
}

// readUserKey reads an NKEY user seed or a NATS .creds file.
func readUserKey(path string) (nkeys.KeyPair, error) {
	data, err := readCreds(path)
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return nil, fmt.Errorf("natsq: %s: %w: %v", path, ErrBadCredentials, err)
	}
	return kp, nil
}

func readCreds(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("natsq: credentials: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredsFile+1))
	if err != nil {
		return nil, fmt.Errorf("natsq: credentials %s: %w", path, err)
	}
	if len(data) > maxCredsFile {
		return nil, fmt.Errorf("natsq: credentials %s: larger than %d bytes: %w", path, maxCredsFile, ErrBadCredentials)
	}
	return data, nil
}

// credsOptions are the client options that authenticate with the file at
// path: a NATS .creds file (user JWT and seed, for an operator-mode
// cluster) or an NKEY user seed (the platform's or one issued by
// IssueWorker). Replies then come to the user's own inbox prefix.
func credsOptions(path string) ([]nats.Option, error) {
	data, err := readCreds(path)
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return nil, fmt.Errorf("natsq: credentials %s: %w: %v", path, ErrBadCredentials, err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsq: credentials %s: %w: %v", path, ErrBadCredentials, err)
	}
	opts := []nats.Option{nats.CustomInboxPrefix(inboxPrefix(pub))}
	if bytes.Contains(data, []byte("BEGIN NATS USER JWT")) {
		return append(opts, nats.UserCredentials(path)), nil
	}
	return append(opts, nkeyOption(kp, pub)), nil
}

func nkeyOption(kp nkeys.KeyPair, pub string) nats.Option {
	return nats.Nkey(pub, func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) })
}

// Workers lists the workers registered in an embedded server's data dir,
// by name.
func Workers(dataDir string) ([]Worker, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, WorkersFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsq: workers: %w", err)
	}
	var ws []Worker
	if err := json.Unmarshal(data, &ws); err != nil {
		return nil, fmt.Errorf("natsq: %s: %w", filepath.Join(dataDir, WorkersFile), err)
	}
	for _, w := range ws {
		if !tokenPattern().MatchString(w.Region) || !nkeys.IsValidPublicUserKey(w.PublicKey) {
			return nil, fmt.Errorf("natsq: %s: worker %q: bad region or public key", filepath.Join(dataDir, WorkersFile), w.Name)
		}
	}
	return ws, nil
}

// IssueWorker makes a new NKEY user for a worker of region, registers its
// public key in dataDir (the embedded server picks it up within a few
// seconds) and returns the seed file to hand to the worker. The seed is
// not kept.
func IssueWorker(dataDir, name, region string) (seed []byte, w Worker, err error) {
	if !workerNamePattern().MatchString(name) {
		return nil, Worker{}, fmt.Errorf("natsq: worker name %q: want 1-64 of a-z, 0-9, '.', '_', '-': %w", name, queue.ErrInvalid)
	}
	if !tokenPattern().MatchString(region) {
		return nil, Worker{}, fmt.Errorf("natsq: region %q: want 1-32 of a-z, 0-9, '_', '-': %w", region, queue.ErrInvalid)
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, Worker{}, fmt.Errorf("natsq: issue worker: %w", err)
	}
	raw, _ := kp.Seed()
	pub, _ := kp.PublicKey()
	w = Worker{Name: name, Region: region, PublicKey: pub, Issued: time.Now().UTC().Truncate(time.Second)}
	err = updateWorkers(dataDir, func(ws []Worker) ([]Worker, error) {
		if slices.ContainsFunc(ws, func(o Worker) bool { return o.Name == name }) {
			return nil, fmt.Errorf("natsq: worker %q: %w (revoke it first)", name, ErrWorkerExists)
		}
		return append(ws, w), nil
	})
	if err != nil {
		return nil, Worker{}, err
	}
	return seedFile(fmt.Sprintf("Rampart worker %q of region %q.", name, region), raw), w, nil
}

// RevokeWorker removes a worker's key from dataDir; the embedded server
// disconnects it within a few seconds and refuses it from then on.
func RevokeWorker(dataDir, name string) (Worker, error) {
	var gone Worker
	err := updateWorkers(dataDir, func(ws []Worker) ([]Worker, error) {
		i := slices.IndexFunc(ws, func(o Worker) bool { return o.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("natsq: worker %q: %w", name, ErrUnknownWorker)
		}
		gone = ws[i]
		return slices.Delete(ws, i, i+1), nil
	})
	return gone, err
}

// updateWorkers rewrites WorkersFile under a lock, atomically, so the
// server never reads half a file.
func updateWorkers(dataDir string, f func([]Worker) ([]Worker, error)) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("natsq: workers: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dataDir, WorkersFile+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	ws, err := Workers(dataDir)
	if err != nil {
		return err
	}
	ws, err = f(ws)
	if err != nil {
		return err
	}
	slices.SortFunc(ws, func(a, b Worker) int { return strings.Compare(a.Name, b.Name) })
	if ws == nil {
		ws = []Worker{}
	}
	data, err := json.MarshalIndent(ws, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(dataDir, WorkersFile, append(data, '\n'))
}
