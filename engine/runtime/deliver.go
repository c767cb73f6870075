package runtime

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// deliver sends a stored outbox message to its channel and marks it
// delivered. When the answer was streamed into a message by edits, the
// final text replaces that message. A failed send is retried in the
// background; after the last retry it stays in the outbox for the next
// start.
func (e *Engine) deliver(ctx context.Context, out engine.Outbound, streamed engine.SentMessage) {
	if err := e.sendOnce(ctx, out, streamed); err != nil {
		e.log.Warn("delivery failed; retrying in the background", "channel", out.To.Channel, "outbox", out.ID, "err", err)
		e.retryAsync(out, streamed)
	}
}

func (e *Engine) sendOnce(ctx context.Context, out engine.Outbound, streamed engine.SentMessage) error {
	ch, ok := e.channel(out.To.Channel)
	if !ok {
		return ErrUnknownChannel
	}
	var err error
	if ed, isEditor := ch.(engine.Editor); isEditor && streamed.ID != "" {
		err = ed.Edit(ctx, streamed, out)
	} else {
		_, err = ch.Send(ctx, out)
	}
	if err != nil {
		return err
	}
	if out.ID != 0 {
		if err := e.o.Store.MarkDelivered(ctx, out.ID, e.o.Now()); err != nil {
			e.log.Error("marking a reply delivered failed; it may be sent again after a restart", "outbox", out.ID, "err", err)
		}
	}
	return nil
}

// deliverAsync delivers in the background (notices, recovery).
func (e *Engine) deliverAsync(out engine.Outbound) {
	e.mu.Lock()
	base := e.base
	if base == nil {
		e.mu.Unlock()
		return // delivered from the outbox at Start
	}
	e.bgWG.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.bgWG.Done()
		e.deliver(base, out, engine.SentMessage{})
	}()
}

func (e *Engine) retryAsync(out engine.Outbound, streamed engine.SentMessage) {
	e.mu.Lock()
	base := e.base
	e.bgWG.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.bgWG.Done()
		for _, d := range e.o.RetryDelays {
			t := time.NewTimer(d)
			select {
			case <-base.Done():
				t.Stop()
				return
			case <-t.C:
			}
			if err := e.sendOnce(base, out, streamed); err == nil {
				return
			} else {
				e.log.Warn("delivery retry failed", "channel", out.To.Channel, "outbox", out.ID, "err", err)
			}
		}
		e.log.Error("giving up delivery until the next start; the reply stays in the outbox", "channel", out.To.Channel, "outbox", out.ID)
	}()
}

// stream shows a turn's progress on its channel: a typing indicator,
// streamed text (every delta for a Streamer, throttled edits of one message
// for an Editor) and status lines. Deltas are coalesced: a slow platform
// gets the latest text, never a backlog.
type stream struct {
	e      *Engine
	ch     engine.Channel
	to     engine.Address
	inID   int64
	userID string
	ctx    context.Context
	notify chan struct{}
	done   chan struct{}
	exited chan struct{}

	mu      sync.Mutex
	text    string
	shown   int      // bytes of text already shown (Streamer)
	pending []string // status lines not yet shown
	sent    engine.SentMessage
}

// typingEvery repeats the typing indicator while a turn runs (platforms
// expire it after about five seconds).
const typingEvery = 4 * time.Second

func (e *Engine) openStream(ctx context.Context, to engine.Address, inboundID int64, userID string) *stream {
	ch, ok := e.channel(to.Channel)
	s := &stream{e: e, ch: ch, to: to, inID: inboundID, userID: userID, ctx: ctx,
		notify: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	if !ok {
		close(s.exited)
		return s
	}
	go s.run()
	return s
}

func (s *stream) wantsDeltas() bool {
	if s.ch == nil {
		return false
	}
	if _, ok := s.ch.(engine.Streamer); ok {
		return true
	}
	_, ok := s.ch.(engine.Editor)
	return ok && s.ch.Capabilities().EditInterval > 0
}

// delta is the agent's OnDelta callback; nil-safe for the agent via the
// method value only when streaming is wanted.
func (s *stream) delta(text string) {
	if !s.wantsDeltas() {
		return
	}
	s.mu.Lock()
	if !strings.HasPrefix(text, s.text) {
		s.shown = 0 // a new LLM call in the same turn started over
	}
	s.text = text
	s.mu.Unlock()
	s.poke()
}

func (s *stream) status(line string) {
	if s.ch == nil {
		return
	}
	s.mu.Lock()
	s.pending = append(s.pending, line)
	s.mu.Unlock()
	s.poke()
}

func (s *stream) poke() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// close stops the stream and returns the message that was edited, if any.
func (s *stream) close() engine.SentMessage {
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	<-s.exited
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

func (s *stream) run() {
	defer close(s.exited)
	typer, canType := s.ch.(engine.Typer)
	var typing <-chan time.Time
	if canType {
		_ = typer.Typing(s.ctx, s.to)
		t := time.NewTicker(typingEvery)
		defer t.Stop()
		typing = t.C
	}
	interval := s.ch.Capabilities().EditInterval
	var lastEdit time.Time
	for {
		select {
		case <-s.done:
			s.flush(true, &lastEdit, interval)
			return
		case <-typing:
			_ = typer.Typing(s.ctx, s.to)
		case <-s.notify:
			if wait := interval - time.Since(lastEdit); interval > 0 && !lastEdit.IsZero() && wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-s.done:
					t.Stop()
					s.flush(true, &lastEdit, interval)
					return
				}
			}
			s.flush(false, &lastEdit, interval)
		}
	}
}

// flush shows pending status lines and text. At the end of the turn an
// Editor's text is left for the final reply's edit.
func (s *stream) flush(final bool, lastEdit *time.Time, interval time.Duration) {
	s.mu.Lock()
	statuses := s.pending
	s.pending = nil
	text, shown, sent := s.text, s.shown, s.sent
	s.mu.Unlock()
	ctx := s.ctx
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	for _, st := range statuses {
		_, _ = s.ch.Send(ctx, engine.Outbound{Kind: engine.KindStatus, To: s.to, Text: st, InboundID: s.inID})
	}
	if final || text == "" {
		return
	}
	// Streamed text passes the same outbound check as the final reply, so
	// a secret is never shown on the way.
	if g := s.e.o.OutboundGuard; g != nil && s.userID != "" {
		text, _ = g.CheckOutbound(ctx, s.userID, text)
		if len(text) < shown {
			shown = len(text)
		}
	}
	if sm, ok := s.ch.(engine.Streamer); ok {
		if len(text) > shown {
			_ = sm.Stream(ctx, engine.Outbound{Kind: engine.KindDelta, To: s.to, Text: text, Delta: text[shown:], InboundID: s.inID})
			s.mu.Lock()
			s.shown = len(text)
			s.mu.Unlock()
		}
		return
	}
	ed, ok := s.ch.(engine.Editor)
	if !ok || interval <= 0 {
		return
	}
	msg := engine.Outbound{Kind: engine.KindDelta, To: s.to, Text: text, InboundID: s.inID}
	if sent.ID == "" {
		if got, err := s.ch.Send(ctx, msg); err == nil {
			s.mu.Lock()
			s.sent = got
			s.mu.Unlock()
		}
	} else {
		_ = ed.Edit(ctx, sent, msg)
	}
	*lastEdit = time.Now()
}
