package runtime

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
)

// Accept validates, gates, persists and dispatches one inbound message. It
// returns only after the message is stored (or known as a duplicate), so
// the adapter may acknowledge the platform when it returns without error.
func (e *Engine) Accept(ctx context.Context, in engine.Inbound) (engine.Receipt, error) {
	e.stats.accepted.Add(1)
	e.mu.Lock()
	closing := e.closing
	_, known := e.channels[in.Channel]
	e.mu.Unlock()
	if closing {
		return engine.Receipt{}, ErrShuttingDown
	}
	if !known {
		return engine.Receipt{}, fmt.Errorf("%w %q", ErrUnknownChannel, in.Channel)
	}
	if err := e.validate(&in); err != nil {
		return engine.Receipt{}, err
	}
	if strings.TrimSpace(in.Text) == "" && len(in.Attachments) == 0 {
		return engine.Receipt{Status: engine.Ignored, MessageID: in.MessageID}, nil
	}
	dec, err := e.o.Gate.Check(ctx, in)
	if err != nil {
		return engine.Receipt{}, fmt.Errorf("access check: %w", err)
	}
	switch dec.Kind {
	case access.Ignore:
		return engine.Receipt{Status: engine.Ignored, MessageID: in.MessageID}, nil
	case access.Deny:
		return engine.Receipt{Status: engine.Denied, MessageID: in.MessageID}, nil
	case access.Pair:
		// Nothing the sender wrote is stored as a turn; they get the code.
		if err := e.enqueue(ctx, engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: dec.Notice, Final: true, Meta: in.Meta}); err != nil {
			return engine.Receipt{}, err
		}
		return engine.Receipt{Status: engine.PairingRequired, MessageID: in.MessageID}, nil
	case access.Allow:
	default:
		return engine.Receipt{}, fmt.Errorf("access check: unexpected decision %v", dec.Kind)
	}
	user := dec.User
	addr := in.ReplyAddress()
	addr.ReplyTo = ""
	key := addr.Key()

	// One lock per (user, conversation) covers finding or creating the
	// session and save-then-dispatch, so two first messages share one
	// session and the mailbox order equals the store order.
	stripe := &e.stripes[stripeOf(user.ID+"\x00"+key)]
	stripe.Lock()
	defer stripe.Unlock()

	if _, isAnswer := parseDecision(in.Text); isAnswer && e.o.Approvals != nil && user.Role == engine.RoleOwner && e.o.Approvals.waiting(key) {
		if r, handled, err := e.approvalAnswer(ctx, in, user, key); handled || err != nil {
			return r, err
		}
	}

	if cmd := command(in.Text); cmd != "" {
		if r, handled, err := e.control(ctx, cmd, in, user, key); handled || err != nil {
			return r, err
		}
	}

	sess, err := e.session(ctx, user, in, key, false)
	if err != nil {
		return engine.Receipt{}, err
	}
	stored, inserted, err := e.o.Store.SaveInbound(ctx, engine.StoredInbound{
		Inbound: in, UserID: user.ID, SessionID: sess.ID, Status: engine.InboxPending, CreatedAt: e.o.Now(),
	})
	if err != nil {
		return engine.Receipt{}, fmt.Errorf("persist inbound: %w", err)
	}
	r := engine.Receipt{Status: engine.Queued, ID: stored.ID, MessageID: in.MessageID, UserID: user.ID}
	if !inserted {
		r.Status = engine.Duplicate
		return r, nil
	}
	e.dispatch(stored)
	return r, nil
}

// validate checks an inbound message and fills defaults.
func (e *Engine) validate(in *engine.Inbound) error {
	switch {
	case in.Conversation == "":
		return fmt.Errorf("%w: conversation is empty", ErrInvalidInbound)
	case in.Sender.ID == "":
		return fmt.Errorf("%w: sender id is empty", ErrInvalidInbound)
	case len(in.Text) > e.o.MaxTextBytes:
		return fmt.Errorf("%w: text is %d bytes, the limit is %d", ErrInvalidInbound, len(in.Text), e.o.MaxTextBytes)
	case !utf8.ValidString(in.Text):
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalidInbound)
	case strings.ContainsRune(in.Text, 0):
		return fmt.Errorf("%w: text contains a NUL byte", ErrInvalidInbound)
	}
	if in.MessageID == "" {
		in.MessageID = engine.NewID()
	}
	if in.ReceivedAt.IsZero() {
		in.ReceivedAt = e.o.Now()
	}
	return nil
}

// session returns the user's active session for the conversation key,
// creating one when there is none or when fresh is set (/new).
func (e *Engine) session(ctx context.Context, user engine.User, in engine.Inbound, key string, fresh bool) (engine.Session, error) {
	if !fresh {
		s, err := e.o.Store.ActiveSession(ctx, user.ID, key)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, engine.ErrNotFound) {
			return engine.Session{}, fmt.Errorf("load session: %w", err)
		}
	}
	addr := in.ReplyAddress()
	addr.ReplyTo = ""
	now := e.o.Now()
	s := engine.Session{
		ID: engine.NewID(), UserID: user.ID, Key: key, Address: addr, Group: !in.Direct,
		Active: true, CreatedAt: now, UpdatedAt: now,
	}
	if err := e.o.Store.CreateSession(ctx, s); err != nil {
		return engine.Session{}, fmt.Errorf("create session: %w", err)
	}
	return s, nil
}

// command returns the control command a message starts with ("stop" for
// "/stop" or "/stop@hearth_bot"), or "".
func command(text string) string {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "/") {
		return ""
	}
	word, _, _ := strings.Cut(t[1:], " ")
	word, _, _ = strings.Cut(word, "@")
	return strings.ToLower(word)
}

func stripeOf(id string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % 64)
}

// approvalAnswer consumes the owner's yes/no/always to a waiting approval
// (recording it for deduplication) instead of queueing it behind the turn
// that waits for it.
func (e *Engine) approvalAnswer(ctx context.Context, in engine.Inbound, user engine.User, key string) (engine.Receipt, bool, error) {
	sess, err := e.session(ctx, user, in, key, false)
	if err != nil {
		return engine.Receipt{}, true, err
	}
	stored, inserted, err := e.o.Store.SaveInbound(ctx, engine.StoredInbound{
		Inbound: in, UserID: user.ID, SessionID: sess.ID, Status: engine.InboxDone, CreatedAt: e.o.Now(),
	})
	if err != nil {
		return engine.Receipt{}, true, fmt.Errorf("persist approval answer: %w", err)
	}
	r := engine.Receipt{Status: engine.Handled, ID: stored.ID, MessageID: in.MessageID, UserID: user.ID}
	if !inserted {
		r.Status = engine.Duplicate
		return r, true, nil
	}
	text := "Got it."
	if !e.o.Approvals.answer(key, in.Text) {
		text = "That question was already answered or has expired."
	}
	return r, true, e.enqueue(ctx, engine.Outbound{Kind: engine.KindNotice, To: in.ReplyAddress(), Text: text, Final: true, InboundID: stored.ID, Meta: in.Meta})
}
