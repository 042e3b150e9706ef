package hub

import (
	"context"
	"log/slog"

	"github.com/rampart-cert/rampart/internal/events"
	"github.com/rampart-cert/rampart/internal/finding"
	"github.com/rampart-cert/rampart/internal/queue"
	"github.com/rampart-cert/rampart/internal/store"
)

// FeedbackDurable is the durable consumer of finding events that turns
// owners' disputes into feedback.
const FeedbackDurable = "intel-feedback"

// disputes are the actions by which an owner says an early warning is
// wrong.
var disputes = map[finding.Action]bool{
	finding.ActionFalsePositive:        true,
	finding.ActionRequestFalsePositive: true,
}

// HandleChange keeps an owner's dispute of an early warning as feedback
// on the warning's feed, once per event; other changes are ignored.
func (h *Hub) HandleChange(ctx context.Context, c finding.Change) error {
	f := c.Finding
	if c.Kind != finding.ChangeTransition || f.Source != finding.SourceIntel || f.SourceRef == "" || !disputes[c.Action] {
		return nil
	}
	reason := f.Reason
	if f.Waiver != nil && f.Waiver.Reason != "" {
		reason = f.Waiver.Reason
	}
	added, err := h.d.Store.AddFeedback(ctx, store.Feedback{EventID: c.EventID(), Feed: f.SourceRef, FindingID: f.ID, OrgID: f.OrgID,
		Kind: f.Check, Target: f.Target, Subject: f.Subject, Action: string(c.Action), Reason: reason, Actor: c.Actor, At: c.At})
	if err != nil {
		return err
	}
	if added {
		h.d.Logger.Info("hub: an owner disputes an early warning", "feed", f.SourceRef, "finding", f.ID, "action", c.Action)
	}
	return nil
}

// ConsumeFeedback runs HandleChange on the finding events of people's
// actions until ctx ends or the consumer stops.
func (h *Hub) ConsumeFeedback(ctx context.Context, q queue.Queue) (queue.Consumer, error) {
	return events.ConsumeFindings(ctx, q, events.ConsumeOptions{Durable: FeedbackDurable, Filter: events.FindingSubject(finding.ChangeTransition),
		Logger: h.d.Logger.With(slog.String("component", "intel-feedback"))}, h.HandleChange)
}
