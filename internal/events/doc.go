// Package events carries Rampart's change events from the database to the
// processes that react to them: a Relay publishes what the store's outbox
// holds on the queue, and typed helpers let consumers read finding events
// without knowing the wire format.
//
// It may import the store and queue contracts and the domain packages; it
// must not import a store or queue driver (sqlstore, natsq), nor the
// packages that consume events (notify, correlators).
//
// # Subjects
//
// Events go to the EVENTS stream (queue.StreamEvents), which keeps them
// for seven days and may have any number of durable consumers:
//
//	rampart.events.finding.new         a finding seen for the first time
//	rampart.events.finding.reopened    a fixed finding seen again
//	rampart.events.finding.fixed       a finding no longer seen, or closed
//	rampart.events.finding.due-soon    an active finding due within seven days
//	rampart.events.finding.overdue     an active finding past its due date
//	rampart.events.finding.transition  a person's action, or an expiry
//
// FindingSubject names one kind's subject, FindingSubjects (the filter
// "rampart.events.finding.>") all of them. The body is the JSON of a
// finding.Change; the JetStream message ID (Nats-Msg-Id) is the change's
// EventID().
//
// # From commit to consumer
//
// The store writes a change and its event in one transaction (the outbox,
// store.Outbox), so there is never an event for a change that rolled back,
// nor a change whose event is lost. The Relay reads the outbox in ID order,
// publishes each message with its MsgID as the JetStream message ID, waits
// for the server to store them, and only then deletes them from the
// outbox. Between those steps a crash, a queue outage or a database error
// is retried with backoff; nothing is dropped. The relay polls the outbox
// every RelayOptions.Interval (100 ms) when idle, loops without pausing
// while there is a backlog, and a writer may call Relay.Notify after a
// commit to skip the wait.
//
// # Exactly once, as consumers see it
//
// Delivery is at least once: the relay may publish a message twice (it
// died between publishing and deleting), and the queue redelivers a
// message whose handler failed or whose process died before acknowledging.
// JetStream drops a republished message ID within its duplicate window
// (two minutes); past that, and for redeliveries, the consumer must be
// idempotent, keyed on the event ID: a change computed twice has the same
// EventID, so a consumer that records "done for EventID" in its own
// database, in the transaction that does the work, and acknowledges only
// after that commit, acts exactly once. The notifier does so: it stores
// each alert-worthy change per recipient under (recipient, EventID) before
// acknowledging (store.AlertQueue).
//
// ConsumeFindings hands a handler one change at a time; ConsumeFindingBatches
// gathers the changes being delivered at once into one call, so a consumer
// can persist a batch in one transaction. With ConsumeOptions.Brief the
// changes are read by DecodeBrief, which leaves out what only a finding's
// page shows (evidence, seen and fix times) and costs less. Either
// acknowledges a message only when its handler returned nil; an error
// redelivers it later, forever
// (MaxDeliver is unlimited: an event that cannot be handled now, because
// the database is down, must not be lost). A message whose body is not a
// finding change can never succeed: it is logged and acknowledged.
package events
