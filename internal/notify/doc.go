// Package notify tells organizations about their findings: a digest per
// contact per period (never one mail per event), immediate alerts for new
// or reopened findings at or above the organization's threshold (batched
// per contact over a short window), escalation of overdue findings up the
// hierarchy, by e-mail over SMTP and by signed webhooks, with every attempt
// in the store's delivery log.
//
// # Delivery
//
// Every message becomes a store.Delivery first, then is claimed, sent and
// its attempt recorded. A failed attempt is retried with exponential
// backoff (Options.RetryBase doubling, capped at Options.RetryMax) until
// Options.MaxAttempts, then stays in the log as failed. Delivery is
// at-least-once: a claim leases the delivery (Options.Lease); a process
// that dies between sending and recording leaves it to be sent again once
// the lease ends, so a crash resends a message at most once. Webhooks carry
// the delivery's key in X-Rampart-Delivery so receivers drop the repeat;
// mails keep one Message-ID over retries.
//
// # Digests
//
// Each organization's preferences say daily or weekly, at which hour
// (Vietnam time, UTC+7, which has no daylight saving, so no tz database is
// needed) and whether only on business days (Monday to Friday; public
// holidays are not modelled). A digest lists, for the contact's
// organization and everything below it, the findings new, reopened and
// fixed since the previous digest, plus those overdue or due within seven
// days, each once. The period key and the window end are recorded in the
// same transaction as the delivery (store.MarkDigest), so SendDue is
// idempotent within a period and across notifiers. A digest with nothing
// to list is recorded but not sent.
//
// # Alerts
//
// The notifier reads finding events from the queue on a durable consumer
// (Consume, durable "notifier", subjects rampart.events.finding.>; see
// package events). HandleChanges keeps the new and reopened findings that
// alert (severity at or above AlertMinSeverity, or KEV-listed with
// AlertKEV) in the store, one row per recipient keyed by the event's ID,
// before the event is acknowledged: a redelivered event adds nothing, and
// a crash between a finding's commit and its alert loses nothing (the
// outbox keeps the event until the queue has it, the queue until the
// notifier stored it, the store until the batch's delivery is enqueued).
// FlushAlerts sends one message per recipient once its oldest queued
// finding is Options.AlertWindow old, marking the batch sent in the same
// transaction that enqueues the delivery, so it goes out once.
//
// On each tick Run also emits the deadline events (store.Deadlines:
// due soon within seven days, overdue), once per finding per due date.
//
// # Escalation
//
// A finding overdue by Options.EscalateAfter days is reported to the
// parent organization's contacts, after twice that to the grandparent, and
// so on to the root; each (finding, due date, level) is recorded once.
//
// # Campaign reminders
//
// Remind (assess.Reminders) enqueues one mail per contact of each late
// organization, in the contact's language: the campaign, its deadline in
// Vietnam time, the days left, a link to the campaign in the console and
// what to do. Deliveries are of kind KindReminder, keyed by (campaign,
// organization, contact, day), so a second reminder the same day sends
// nothing; they go through the retry machinery like any other (Run sends
// them at once) and a failure stays in the log.
//
// # Reports
//
// With Options.Reports (ReportPDFs adapts package report), every weekly
// digest and Monday's daily digest carry the organization's report as a
// PDF attachment in the contact's language, and go out even when they
// list nothing. The PDF is part of the delivery's payload, so a retry
// sends the same bytes; a report that fails to build is logged and the
// digest goes without it.
//
// Texts come from the catalogs in catalog.go (vi and en) and one set of
// templates (text and HTML); the contact's language, or the organization's
// default, picks the catalog.
package notify
