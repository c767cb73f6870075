package runtime

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
)

// helpText lists the commands every channel understands.
const helpText = `Commands:
/new — start a new conversation (the old one stays in history)
/stop — stop the answer in progress
/status — show this conversation's state
/help — this list
Anything else is a message to the assistant.`

// control handles the commands that act at once instead of queueing
// behind a running turn. handled is false for anything else.
func (e *Engine) control(ctx context.Context, cmd string, in engine.Inbound, user engine.User, key string) (engine.Receipt, bool, error) {
	switch cmd {
	case "stop", "new", "status", "help":
	default:
		return engine.Receipt{}, false, nil
	}
	sess, err := e.session(ctx, user, in, key, false)
	if err != nil {
		return engine.Receipt{}, true, err
	}
	// Record the command so a redelivery is recognised.
	stored, inserted, err := e.o.Store.SaveInbound(ctx, engine.StoredInbound{
		Inbound: in, UserID: user.ID, SessionID: sess.ID, Status: engine.InboxDone, CreatedAt: e.o.Now(),
	})
	if err != nil {
		return engine.Receipt{}, true, fmt.Errorf("persist command: %w", err)
	}
	r := engine.Receipt{Status: engine.Handled, ID: stored.ID, MessageID: in.MessageID, UserID: user.ID}
	if !inserted {
		r.Status = engine.Duplicate
		return r, true, nil
	}
	var text string
	switch cmd {
	case "stop":
		if e.stopTurn(sess.ID) {
			text = "Stopping the current answer."
		} else {
			text = "Nothing is running."
		}
	case "new":
		if _, err := e.session(ctx, user, in, key, true); err != nil {
			return engine.Receipt{}, true, err
		}
		text = "Started a new conversation."
	case "status":
		text = e.status(sess)
	case "help":
		text = helpText
	}
	return r, true, e.enqueue(ctx, engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: text, Final: true, InboundID: stored.ID, Meta: in.Meta})
}

// stopTurn cancels the running turn of a session, if any.
func (e *Engine) stopTurn(sessionID string) bool {
	e.mu.Lock()
	a := e.actors[sessionID]
	e.mu.Unlock()
	return a != nil && a.cancelTurn()
}

func (e *Engine) status(s engine.Session) string {
	e.mu.Lock()
	a := e.actors[s.ID]
	e.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "Conversation %s, started %s.", s.ID[:8], s.CreatedAt.Format("2006-01-02 15:04 MST"))
	if s.Model != "" {
		fmt.Fprintf(&b, "\nModel: %s.", s.Model)
	}
	if a == nil {
		b.WriteString("\nIdle.")
	} else {
		running, queued := a.state()
		if running {
			b.WriteString("\nAnswering now.")
		} else {
			b.WriteString("\nIdle.")
		}
		if queued > 0 {
			fmt.Fprintf(&b, " %d message(s) waiting.", queued)
		}
	}
	if s.Summary != "" {
		b.WriteString("\nOlder messages are summarized to fit the model's context.")
	}
	return b.String()
}

// notice stores and delivers a system message (pairing code, command
// answer, error) addressed to a conversation.
func (e *Engine) notice(ctx context.Context, to engine.Address, inboundID int64, text string, isErr bool) error {
	return e.enqueue(ctx, engine.Outbound{Kind: engine.KindNotice, To: to, Text: text, Final: true, Error: isErr, InboundID: inboundID})
}

// enqueue stores an outbound message in the outbox and delivers it.
func (e *Engine) enqueue(ctx context.Context, out engine.Outbound) error {
	id, err := e.o.Store.EnqueueOutbound(ctx, out)
	if err != nil {
		return fmt.Errorf("queue notice: %w", err)
	}
	out.ID = id
	e.deliverAsync(out)
	return nil
}

// Notify sends a system message to a conversation outside any turn (for
// example telling a newly paired user that they may start).
func (e *Engine) Notify(ctx context.Context, to engine.Address, text string) error {
	return e.notice(ctx, to, 0, text, false)
}
