// Package natsq implements queue.Queue on NATS JetStream, either on a
// nats-server embedded in the process or on an external server or cluster.
//
// It is an adapter: it may import the queue contract and the NATS client and
// server libraries, and must not be imported by the domain packages.
//
// # Embedded or external
//
// With an empty Options.URL, Open starts an in-process nats-server with
// JetStream storing under Options.DataDir and listening on 127.0.0.1 at a
// random port. Other processes on the machine (for example `rampart worker`)
// join it through the address that ClientURL returns:
//
//	q, err := natsq.Open(ctx, natsq.Options{DataDir: filepath.Join(dataDir, "nats")})
//	if err != nil {
//		return err
//	}
//	defer q.Close()
//	log.Printf("workers can connect to %s", q.ClientURL())
//
// With a URL (a comma-separated list of servers is allowed), Open connects
// to an external server or cluster and reconnects forever when the link
// drops:
//
//	q, err := natsq.Open(ctx, natsq.Options{
//		URL:      "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
//		Name:     "rampart-worker-hanoi",
//		Replicas: 3,
//	})
//
// # Who may connect
//
// The embedded server admits NKEY users only (finding F5 of the December
// 2026 review): the platform's own key, generated on first start in
// <DataDir>/platform.nk (mode 0600, every right; Open connects with it
// in-process, and PlatformCredentials names the file for other platform
// processes on the host), and the workers registered in
// <DataDir>/workers.json by IssueWorker, each with WorkerPermissions:
// publish results, take its region's jobs through its region's durable,
// use the buckets in Options.WorkerBuckets, receive replies on its own
// inbox prefix. RevokeWorker removes a key; the server rereads the file
// within two seconds and disconnects the revoked worker. A worker joins
// with its seed file and leaves the streams alone:
//
//	q, err := natsq.Open(ctx, natsq.Options{
//		URL:             "nats://platform:4222",
//		Creds:           "/etc/rampart/hanoi-1.nk",
//		SkipStreamSetup: true,
//	})
//
// On an external cluster Options.Creds (NKEY seed or .creds file), a user
// and password in the URL, and Options.TLSCA authenticate; the cluster's
// configuration grants the same two permission sets (docs/nats.md).
//
// Either way Open creates or updates the three streams named in package
// queue (RAMPART_JOBS, RAMPART_RESULTS, RAMPART_EVENTS). Doing so is
// idempotent, so several processes may open the same server at once.
//
// # Publishing
//
// Publish waits for JetStream to store the message. The msgID becomes the
// Nats-Msg-Id header, so a republish of the same ID within the stream's
// duplicate window (two minutes) is stored once:
//
//	err := q.Publish(ctx, "rampart.jobs.hanoi.scan", body, jobID, map[string]string{"Org": "42"})
//
// Header keys starting with "Nats-" are reserved for the protocol and
// refused.
//
// # Consuming
//
// Consume creates (or updates) a durable pull consumer and runs up to
// Concurrency handlers at once. Processes using the same Durable name share
// the work; a restarted process resumes where the last one stopped:
//
//	c, err := q.Consume(ctx, queue.ConsumerConfig{
//		Stream:        queue.StreamJobs,
//		Durable:       "worker-hanoi",
//		FilterSubject: "rampart.jobs.hanoi.>",
//		AckWait:       time.Minute,
//		Concurrency:   8,
//	}, func(ctx context.Context, m *queue.Message) error {
//		return runJob(ctx, m.Data)
//	})
//	...
//	c.Stop() // stops fetching and waits for running handlers
//
// A handler returning nil acknowledges its message (and waits for the server
// to confirm it). An error, or a recovered panic, negatively acknowledges it
// with a delay that grows with the attempt number, so the message comes back
// later. While a handler runs longer than half the AckWait the consumer tells
// the server the message is still in progress, so long scans are not handed
// to another worker. If the process dies, the server redelivers after
// AckWait (and then after growing back-off steps). After MaxDeliver attempts
// the server stops delivering the message; on a work-queue stream it stays
// stored, and counted by Pending, until an operator deals with it.
//
// JetStream refuses two consumers with overlapping filter subjects on a
// work-queue stream (RAMPART_JOBS, RAMPART_RESULTS): each region's workers
// share one durable name and one filter. The events stream keeps messages
// for seven days (capped in size) and may have any number of consumers.
//
// # Key-value buckets
//
// Queue is also a queue.KVStore: KeyValue opens a JetStream key-value
// bucket (created on first use with the queue's replicas, history 1 and
// values capped at queue.KVMaxValue) for state every worker shares, such
// as the defacement check's page baselines:
//
//	kv, err := q.KeyValue(ctx, "RAMPART_WEB_BASELINES")
//	...
//	err = kv.Put(ctx, "web/"+hexDigest, value)
//
// # Shutdown
//
// Close stops every consumer (cancelling the context of running handlers and
// waiting a bounded time for them), drains the connection and, in embedded
// mode, shuts the server down and waits for it, so the same DataDir can be
// opened again at once. Only one embedded server may use a DataDir at a
// time: Open refuses one that is held with ErrDataDirInUse.
//
// Messages are written to the store before Publish returns, so they survive
// the process being killed. They are synced to disk periodically by the
// server, so a power loss may lose the last seconds unless the server runs
// with sync_interval: always.
package natsq
