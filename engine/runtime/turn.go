package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/agent"
)

// Cancellation causes of a turn.
var (
	errStopped     = errors.New("stopped by the user")
	errTurnTimeout = errors.New("turn deadline exceeded")
)

// runTurn runs one message through the agent and records the outcome.
func (e *Engine) runTurn(a *actor, m engine.StoredInbound) {
	e.stats.running.Add(1)
	defer func() {
		e.stats.running.Add(-1)
		e.stats.turns.Add(1)
	}()
	ctx := e.base
	log := e.log.With("session", m.SessionID, "message", m.ID)
	sess, err := e.o.Store.GetSession(ctx, m.SessionID)
	if err != nil {
		log.Error("load session failed; message stays pending", "err", err)
		return
	}
	user, err := e.o.Store.GetUser(ctx, m.UserID)
	if err != nil {
		log.Error("load user failed; message stays pending", "err", err)
		return
	}
	if !a.loaded {
		h, err := e.o.Store.History(ctx, sess.ID, sess.SummaryThrough, 0)
		if err != nil {
			log.Error("load history failed; message stays pending", "err", err)
			return
		}
		a.history, a.loaded = h, true
	}

	turnCtx, cancel := context.WithCancelCause(ctx)
	turnCtx, cancelTimeout := context.WithTimeoutCause(turnCtx, e.o.TurnTimeout, errTurnTimeout)
	defer cancelTimeout()
	a.mu.Lock()
	a.running, a.cancel = true, cancel
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running, a.cancel = false, nil
		a.mu.Unlock()
		cancel(nil)
	}()

	job := isJob(m.Inbound)
	to := m.Inbound.ReplyAddress()
	streamTo := to
	if job {
		to = jobTarget(m.Inbound)
		streamTo = engine.Address{} // no typing or streaming for jobs
	}
	st := e.openStream(turnCtx, streamTo, m.ID, user.ID)
	res, runErr := e.o.Agent.Run(turnCtx, agent.Turn{
		User: user, Session: sess, History: a.history,
		Input: turnInput(m.Inbound), InputSource: inputSource(user, m.Inbound),
		InboundID: m.ID, From: to, Model: turnModel(sess, m.Inbound),
		OnDelta: st.delta, OnStatus: st.status,
	})
	sent := st.close()

	rec := engine.TurnRecord{InboundID: m.ID, Status: engine.InboxDone, Usage: res.Usage}
	var out engine.Outbound
	jr := JobResult{RunID: m.Inbound.MessageID, Kind: m.Inbound.Meta[metaJobKind], UserID: user.ID, Usage: res.Usage}
	switch cause := context.Cause(turnCtx); {
	case runErr == nil:
		reply := res.Reply
		if strings.TrimSpace(reply) == "" {
			reply = "(The model returned an empty answer.)"
		}
		if e.o.OutboundGuard != nil {
			reply, _ = e.o.OutboundGuard.CheckOutbound(ctx, user.ID, reply)
		}
		res.Messages[len(res.Messages)-1].Content = reply
		for _, msg := range res.Messages {
			rec.History = append(rec.History, engine.HistoryEntry{SessionID: sess.ID, InboundID: m.ID, Message: msg, CreatedAt: e.o.Now()})
		}
		out = engine.Outbound{Kind: engine.KindReply, To: to, Text: reply, Final: true, InboundID: m.ID}
		jr.Reply = reply
		if job && suppressed(reply, m.Inbound.Meta[metaSentinel]) {
			jr.Suppressed = true
		}
	case errors.Is(cause, errShutdown):
		log.Info("turn interrupted by shutdown; message stays pending")
		return
	case errors.Is(cause, errStopped):
		out = engine.Outbound{Kind: engine.KindNotice, To: to, Text: "Stopped.", Final: true, InboundID: m.ID}
	case errors.Is(cause, errTurnTimeout):
		rec.Status = engine.InboxFailed
		out = engine.Outbound{Kind: engine.KindNotice, To: to, Error: true, Final: true, InboundID: m.ID,
			Text: fmt.Sprintf("That took longer than the %s limit for one message, so I stopped. Try a smaller request.", e.o.TurnTimeout)}
	default:
		rec.Status = engine.InboxFailed
		out = engine.Outbound{Kind: engine.KindNotice, To: to, Error: true, Final: true, InboundID: m.ID, Text: userMessage(runErr)}
		log.Warn("turn failed", "err", runErr)
	}
	if rec.Status == engine.InboxFailed {
		jr.Err, jr.Reply = runErrOr(runErr, context.Cause(turnCtx)), out.Text
	}
	send := to.Channel != "" && !jr.Suppressed
	if send {
		if !job {
			// The adapter's reply data (Slack's response_url, ...) rides
			// along, persisted, so a reply sent after a restart still
			// finds its way.
			out.Meta = m.Inbound.Meta
		}
		rec.Outbound = []engine.Outbound{out}
	}
	ids, err := e.o.Store.CompleteTurn(ctx, rec)
	if err != nil {
		log.Error("recording the turn failed; message stays pending", "err", err)
		return
	}
	if send {
		out.ID = ids[0]
	}
	if len(rec.History) > 0 {
		last := int64(0)
		if n := len(a.history); n > 0 {
			last = a.history[n-1].Seq
		}
		added, err := e.o.Store.History(ctx, sess.ID, last, 0)
		if err != nil {
			a.loaded = false // reload on the next turn
		} else {
			a.history = append(a.history, added...)
		}
	}
	if c := res.Compaction; c != nil && runErr == nil {
		sess.Summary, sess.SummaryThrough, sess.UpdatedAt = c.Summary, c.Through, e.o.Now()
		if err := e.o.Store.UpdateSession(ctx, sess); err != nil {
			log.Error("saving the history summary failed", "err", err)
		} else {
			kept := a.history[:0]
			for _, h := range a.history {
				if h.Seq > c.Through {
					kept = append(kept, h)
				}
			}
			a.history = kept
		}
	}
	if send {
		e.deliver(ctx, out, sent)
		jr.Delivered = true
	}
	if job && e.o.OnJobDone != nil {
		e.o.OnJobDone(ctx, jr)
	}
}

func runErrOr(err, cause error) error {
	if err != nil {
		return err
	}
	return cause
}

// turnInput renders the message text and its attachments for the model.
func turnInput(in engine.Inbound) string {
	if len(in.Attachments) == 0 {
		return in.Text
	}
	var b strings.Builder
	b.WriteString(in.Text)
	for _, at := range in.Attachments {
		fmt.Fprintf(&b, "\n\n[attached %s", at.Kind)
		if at.Name != "" {
			fmt.Fprintf(&b, " %q", at.Name)
		}
		if at.MIMEType != "" {
			fmt.Fprintf(&b, ", %s", at.MIMEType)
		}
		if at.Size > 0 {
			fmt.Fprintf(&b, ", %d bytes", at.Size)
		}
		if at.Path != "" {
			fmt.Fprintf(&b, ", saved at %s", at.Path)
		}
		b.WriteString("]")
		if at.Text != "" {
			b.WriteString("\n")
			b.WriteString(at.Text)
		}
	}
	return b.String()
}

// inputSource: the owner's own messages are trusted; everyone else's go
// through the safety layer.
func inputSource(u engine.User, in engine.Inbound) engine.ContentSource {
	if isJob(in) {
		// The scheduler's own prompt, built from the user's settings.
		return engine.ContentSource{Kind: "job", Name: in.Meta[metaJobKind], Trusted: true}
	}
	return engine.ContentSource{Kind: "user", Name: in.Channel, Trusted: u.Role == engine.RoleOwner}
}

// userMessage turns a turn failure into text for the user: what happened
// and what to do, never internals or secrets.
func userMessage(err error) string {
	var le *agent.LLMError
	if errors.As(err, &le) {
		var um interface{ UserMessage() string }
		if errors.As(le.Err, &um) {
			return "I could not get an answer from the model: " + um.UserMessage()
		}
		return "I could not get an answer from the model provider. Check `hearth doctor`, then try again."
	}
	return "Something went wrong while answering; the error is in the log. Try again."
}

// turnModel is the model of a turn: a job's own model, else the session's
// (empty: the provider's default).
func turnModel(s engine.Session, in engine.Inbound) string {
	if m := in.Meta[metaModel]; isJob(in) && m != "" {
		return m
	}
	return s.Model
}
