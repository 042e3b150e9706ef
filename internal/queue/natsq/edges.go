package natsq

import (
	"encoding/json"
	"errors"
	"fmt"
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
	"github.com/rampart-cert/rampart/internal/sensor"
)

// EdgesFile lists the edge processes (sensors at members' gateways,
// protective resolvers) the platform issued credentials to: their role,
// name, organization and public key, never their seed. The embedded
// server reloads it as it does WorkersFile.
const EdgesFile = "edges.json"

// EdgeRole is what an edge process is allowed to be.
type EdgeRole string

// The edge roles.
const (
	// EdgeSensor publishes detections and stats under
	// "rampart.sensor.<org>.<name>." (package sensor's Subject).
	EdgeSensor EdgeRole = "sensor"
	// EdgeResolver (`rampart dns`) publishes under "rampart.dns.<name>.".
	EdgeResolver EdgeRole = "resolver"
)

// Valid reports whether r is one of the edge roles.
func (r EdgeRole) Valid() bool { return r == EdgeSensor || r == EdgeResolver }

// What every edge reads from the platform: the hub's indicators, as a
// snapshot in an object store bucket and as deltas on core NATS.
const (
	// IntelSnapshotBucket is the object store bucket of the hub's
	// indicator snapshot; edges may read it, never write it.
	IntelSnapshotBucket = "rampart-intel-snapshot"
	// SubjectIntel prefixes what the hub announces to edges
	// ("rampart.intel.delta"); edges may subscribe to it.
	SubjectIntel = "rampart.intel"
	// SubjectDNS prefixes what resolvers publish: "rampart.dns.<name>.…".
	SubjectDNS = "rampart.dns"
)

// Sentinel errors of edge credentials.
var (
	// ErrUnknownEdge means no edge of that role and name is registered.
	ErrUnknownEdge = errors.New("natsq: unknown edge")
	// ErrEdgeExists means an edge of that role and name is registered.
	ErrEdgeExists = errors.New("natsq: edge already registered")
)

// Edge is one sensor or resolver the platform issued credentials to.
type Edge struct {
	Role      EdgeRole  `json:"role"`
	Name      string    `json:"name"`
	Org       string    `json:"org,omitempty"` // organization code; required for a sensor
	PublicKey string    `json:"public_key"`    // NKEY user public key, "U..."
	Issued    time.Time `json:"issued"`
}

// Subject is the prefix under which e may publish (its permission is
// Subject()+".>"): "rampart.sensor.<org>.<name>" for a sensor,
// "rampart.dns.<name>" for a resolver; "" for an invalid edge.
func (e Edge) Subject() string {
	switch e.Role {
	case EdgeSensor:
		return sensor.Subject(e.Org, e.Name)
	case EdgeResolver:
		if sensor.ValidName(e.Name) {
			return SubjectDNS + "." + e.Name
		}
	}
	return ""
}

func (e Edge) validate() error {
	switch {
	case !e.Role.Valid():
		return fmt.Errorf("natsq: edge role %q: want %q or %q: %w", e.Role, EdgeSensor, EdgeResolver, queue.ErrInvalid)
	case !sensor.ValidName(e.Name):
		return fmt.Errorf("natsq: %s name %q: want 1-64 of a-z, 0-9, '_', '-': %w", e.Role, e.Name, queue.ErrInvalid)
	case e.Role == EdgeSensor && sensor.OrgToken(e.Org) == "":
		return fmt.Errorf("natsq: sensor %q: organization code %q: want 1-64 of A-Z, 0-9, '.', '_', '-': %w", e.Name, e.Org, queue.ErrInvalid)
	case e.Org != "" && sensor.OrgToken(e.Org) == "":
		return fmt.Errorf("natsq: %s %q: organization code %q: %w", e.Role, e.Name, e.Org, queue.ErrInvalid)
	}
	return nil
}

// EdgePermissions is what an edge user may do, for the embedded server
// and as the model for an external cluster's configuration
// (docs/nats.md):
//
//   - publish under its own subject, Edge.Subject()+".>" (a sensor into
//     the RAMPART_SENSORS stream, acknowledged to its inbox: JetStream
//     publishing needs no API call);
//   - subscribe to the hub's announcements, "rampart.intel.>";
//   - read the object store bucket IntelSnapshotBucket: stream info,
//     direct and message gets, ordered consumers on it (create, next,
//     info, delete, flow control replies) delivering to its inbox;
//   - receive replies and deliveries on its own inbox, _INBOX.<key>.
//
// Everything else (jobs, results, events, other edges' subjects, other
// buckets, writing the snapshot, stream management) is refused by the
// server. One gap remains that subject permissions cannot close: a
// consumer on the snapshot stream could be pointed at any deliver
// subject, making the server republish snapshot chunks there; the
// payload is the platform's, never the edge's, and consumers of sensor
// subjects reject what does not parse as theirs.
func EdgePermissions(e Edge) *server.Permissions {
	obj := "OBJ_" + IntelSnapshotBucket
	pub := []string{
		e.Subject() + ".>",
		"$JS.API.STREAM.INFO." + obj,
		"$JS.API.STREAM.MSG.GET." + obj,
		"$JS.API.DIRECT.GET." + obj,
		"$JS.API.DIRECT.GET." + obj + ".>",
		"$JS.API.CONSUMER.CREATE." + obj,
		"$JS.API.CONSUMER.CREATE." + obj + ".>",
		"$JS.API.CONSUMER.INFO." + obj + ".>",
		"$JS.API.CONSUMER.MSG.NEXT." + obj + ".>",
		"$JS.API.CONSUMER.DELETE." + obj + ".>",
		"$JS.FC." + obj + ".>",
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: pub},
		Subscribe: &server.SubjectPermission{Allow: []string{inboxPrefix(e.PublicKey) + ".>", SubjectIntel + ".>"}},
	}
}

// Edges lists the edges registered in an embedded server's data dir, by
// role and name.
func Edges(dataDir string) ([]Edge, error) {
	path := filepath.Join(dataDir, EdgesFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("natsq: edges: %w", err)
	}
	var es []Edge
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("natsq: %s: %w", path, err)
	}
	for _, e := range es {
		if err := e.validate(); err != nil {
			return nil, fmt.Errorf("natsq: %s: %w", path, err)
		}
		if !nkeys.IsValidPublicUserKey(e.PublicKey) {
			return nil, fmt.Errorf("natsq: %s: %s %q: bad public key", path, e.Role, e.Name)
		}
	}
	return es, nil
}

// IssueEdge makes a new NKEY user for an edge of role, registers its
// public key in dataDir (the embedded server picks it up within a few
// seconds, as it does workers) and returns the seed file to hand to the
// edge. The seed is not kept. A sensor needs org, the code of the
// organization it reports for; a resolver's org is optional. Names are
// unique within a role.
func IssueEdge(dataDir string, role EdgeRole, name, org string) (seed []byte, e Edge, err error) {
	e = Edge{Role: role, Name: name, Org: org}
	if err := e.validate(); err != nil {
		return nil, Edge{}, err
	}
	kp, err := nkeys.CreateUser()
	if err != nil {
		return nil, Edge{}, fmt.Errorf("natsq: issue %s: %w", role, err)
	}
	raw, _ := kp.Seed()
	e.PublicKey, _ = kp.PublicKey()
	e.Issued = time.Now().UTC().Truncate(time.Second)
	err = updateEdges(dataDir, func(es []Edge) ([]Edge, error) {
		if slices.ContainsFunc(es, func(o Edge) bool { return o.Role == role && o.Name == name }) {
			return nil, fmt.Errorf("natsq: %s %q: %w (revoke it first)", role, name, ErrEdgeExists)
		}
		return append(es, e), nil
	})
	if err != nil {
		return nil, Edge{}, err
	}
	return seedFile(edgeTitle(e), raw), e, nil
}

// edgeTitle is the first comment line of an edge's seed file, which
// EdgeOfCreds reads back: `Rampart sensor "gw1" of organization "MOH".`
func edgeTitle(e Edge) string {
	what := fmt.Sprintf("Rampart %s %q", e.Role, e.Name)
	if e.Org != "" {
		what += fmt.Sprintf(" of organization %q", e.Org)
	}
	return what + "."
}

var edgeTitleRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^# Rampart (sensor|resolver) "([a-z0-9_-]+)"(?: of organization "([A-Za-z0-9._-]+)")?\.$`)
})

// EdgeOfCreds reads the role, name and organization an edge's seed file
// (from IssueEdge) was issued for, and its public key, so `rampart
// sensor` knows the subject it may publish under without being told
// twice. The server enforces the subject whatever the file says.
func EdgeOfCreds(path string) (Edge, error) {
	data, err := readCreds(path)
	if err != nil {
		return Edge{}, err
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return Edge{}, fmt.Errorf("natsq: credentials %s: %w: %v", path, ErrBadCredentials, err)
	}
	m := edgeTitleRE().FindSubmatch(data)
	if m == nil {
		return Edge{}, fmt.Errorf("natsq: credentials %s: not issued to a sensor or resolver (rampart sensors add): %w", path, ErrBadCredentials)
	}
	e := Edge{Role: EdgeRole(m[1]), Name: string(m[2]), Org: string(m[3])}
	e.PublicKey, _ = kp.PublicKey()
	if err := e.validate(); err != nil {
		return Edge{}, fmt.Errorf("natsq: credentials %s: %w", path, err)
	}
	return e, nil
}

// ConnectEdge connects to the platform's NATS as an edge, with the seed
// or .creds file at creds: replies come to the user's own inbox prefix
// (the only one it may subscribe to). opts come after Rampart's and may
// override them (reconnect handlers, timeouts). The first connection is
// not retried: callers that must wait for the platform loop.
func ConnectEdge(url, creds string, opts ...nats.Option) (*nats.Conn, error) {
	co, err := credsOptions(creds)
	if err != nil {
		return nil, err
	}
	base := []nats.Option{
		nats.Timeout(5 * time.Second),
		nats.PingInterval(20 * time.Second),
		nats.MaxPingsOutstanding(3),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		nats.DrainTimeout(drainTimeout),
	}
	nc, err := nats.Connect(url, append(append(base, co...), opts...)...)
	if err != nil {
		return nil, fmt.Errorf("natsq: connect %s: %w", redactURL(url), err)
	}
	return nc, nil
}

// RevokeEdge removes an edge's key from dataDir; the embedded server
// disconnects it within a few seconds and refuses it from then on.
func RevokeEdge(dataDir string, role EdgeRole, name string) (Edge, error) {
	var gone Edge
	err := updateEdges(dataDir, func(es []Edge) ([]Edge, error) {
		i := slices.IndexFunc(es, func(o Edge) bool { return o.Role == role && o.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("natsq: %s %q: %w", role, name, ErrUnknownEdge)
		}
		gone = es[i]
		return slices.Delete(es, i, i+1), nil
	})
	return gone, err
}

// updateEdges rewrites EdgesFile under a lock, atomically, so the
// server never reads half a file.
func updateEdges(dataDir string, f func([]Edge) ([]Edge, error)) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("natsq: edges: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dataDir, EdgesFile+".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	es, err := Edges(dataDir)
	if err != nil {
		return err
	}
	es, err = f(es)
	if err != nil {
		return err
	}
	slices.SortFunc(es, func(a, b Edge) int {
		if c := strings.Compare(string(a.Role), string(b.Role)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	if es == nil {
		es = []Edge{}
	}
	data, err := json.MarshalIndent(es, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(dataDir, EdgesFile, append(data, '\n'))
}

// writeAtomic replaces dataDir/name with data through a temporary file
// and a rename.
func writeAtomic(dataDir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dataDir, name+".*")
	if err != nil {
		return fmt.Errorf("natsq: %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dataDir, name))
	}
	if err != nil {
		return fmt.Errorf("natsq: %s: %w", name, err)
	}
	return nil
}
