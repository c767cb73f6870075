package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// maxPrealloc caps the capacity History reserves from its limit argument.
const maxPrealloc = 256

// History returns a session's entries with Seq > afterSeq, oldest first,
// at most limit (0: all). An unknown session has no entries.
func (s *Store) History(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]engine.HistoryEntry, error) {
	if limit < 0 {
		return nil, fmt.Errorf("sqlite: history of %q: negative limit %d", sessionID, limit)
	}
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.history.QueryContext(ctx, sessionID, afterSeq, sqlLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: history of %q: %w", sessionID, err)
	}
	defer rows.Close()
	out := make([]engine.HistoryEntry, 0, min(limit, maxPrealloc))
	for rows.Next() {
		e := engine.HistoryEntry{SessionID: sessionID}
		if err := scanHistory(rows, &e); err != nil {
			return nil, fmt.Errorf("sqlite: history of %q: %w", sessionID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: history of %q: %w", sessionID, err)
	}
	return out, nil
}

// scanHistory reads a row of historyCols into e (SessionID is not among
// them: the caller knows it).
func scanHistory(r scanner, e *engine.HistoryEntry) error {
	var role string
	var calls, callID, name sql.NullString
	var created int64
	msg := &e.Message
	if err := r.Scan(&e.Seq, &e.InboundID, &role, &msg.Content, &calls, &callID, &name, &created); err != nil {
		return err
	}
	msg.Role = engine.Role(role)
	msg.ToolCallID, msg.Name = callID.String, name.String
	e.CreatedAt = fromMicros(created)
	if err := fromJSON(calls, &msg.ToolCalls); err != nil {
		return fmt.Errorf("entry %d tool calls: %w", e.Seq, err)
	}
	return nil
}

func validateOutbound(o *engine.Outbound) error {
	if o.Kind < engine.KindReply || o.Kind > engine.KindNotice {
		return fmt.Errorf("invalid kind %d", o.Kind)
	}
	if o.To.Channel == "" {
		return fmt.Errorf("%s without a channel", o.Kind)
	}
	return nil
}

// EnqueueOutbound queues one message outside a turn and returns its
// outbox id; ErrNotFound when InboundID names no stored message.
func (s *Store) EnqueueOutbound(ctx context.Context, msg engine.Outbound) (int64, error) {
	if err := validateOutbound(&msg); err != nil {
		return 0, fmt.Errorf("sqlite: enqueue outbound: %w", err)
	}
	var id int64
	err := s.write(ctx, func(ctx context.Context) error {
		var err error
		id, err = s.insertOutbox(ctx, &msg, msg.InboundID, s.now())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: enqueue outbound: %w", err)
	}
	return id, nil
}

// insertOutbox writes one outbox row on the writer connection.
func (s *Store) insertOutbox(ctx context.Context, o *engine.Outbound, inboundID int64, now time.Time) (int64, error) {
	meta, err := jsonOrNull(o.Meta, len(o.Meta) == 0)
	if err != nil {
		return 0, fmt.Errorf("meta: %w", err)
	}
	to := &o.To
	res, err := s.w.insertOutbox.ExecContext(ctx, int64(o.Kind), to.Channel, to.Conversation, to.Thread,
		to.ReplyTo, o.Text, o.Delta, boolInt(o.Final), boolInt(o.Error), nullID(inboundID), meta, micros(now))
	if isForeignKeyViolation(err) {
		return 0, s.missingReference(ctx, err, "", "", inboundID)
	}
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// PendingOutbound lists queued messages not yet delivered, in order.
func (s *Store) PendingOutbound(ctx context.Context) ([]engine.Outbound, error) {
	out, err := queryAll(ctx, s, s.r.pendingOutbound, scanOutbound)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending outbound: %w", err)
	}
	return out, nil
}

// MarkDelivered records that an outbox message reached its channel at at
// (the store's clock when zero); marking it again keeps the first time.
// ErrNotFound when there is no such message.
func (s *Store) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.w.markDelivered.ExecContext(ctx, micros(s.stamp(at)), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: mark outbound %d delivered: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: mark outbound %d delivered: %w", id, engine.ErrNotFound)
	}
	return nil
}

// RepliesTo lists the outbox messages, delivered or queued, that answer an
// inbound message, in order.
func (s *Store) RepliesTo(ctx context.Context, inboundID int64) ([]engine.Outbound, error) {
	out, err := queryAll(ctx, s, s.r.repliesTo, scanOutbound, inboundID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: replies to inbound %d: %w", inboundID, err)
	}
	return out, nil
}

func scanOutbound(r scanner) (engine.Outbound, error) {
	var o engine.Outbound
	var kind, final, isErr int64
	var meta sql.NullString
	to := &o.To
	if err := r.Scan(&o.ID, &kind, &to.Channel, &to.Conversation, &to.Thread, &to.ReplyTo, &o.Text,
		&o.Delta, &final, &isErr, &o.InboundID, &meta); err != nil {
		return engine.Outbound{}, err
	}
	o.Kind = engine.OutboundKind(kind)
	o.Final = final != 0
	o.Error = isErr != 0
	if err := fromJSON(meta, &o.Meta); err != nil {
		return engine.Outbound{}, fmt.Errorf("outbound %d meta: %w", o.ID, err)
	}
	return o, nil
}
