package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const (
	historyCols = `seq, COALESCE(inbound_id, 0), role, content, tool_calls, tool_call_id, name, created_at`
	outboxCols  = `id, kind, channel, conversation, thread, reply_to, text, delta, final, error,
		COALESCE(inbound_id, 0), meta`
	insertOutbox = `INSERT INTO outbox (kind, channel, conversation, thread, reply_to, text, delta,
		final, error, inbound_id, meta, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING id`
)

// maxPrealloc caps the capacity History reserves from its limit argument.
const maxPrealloc = 256

// History returns a session's entries with Seq > afterSeq, oldest first,
// at most limit (0: all). An unknown session has no entries.
func (s *Store) History(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]engine.HistoryEntry, error) {
	if limit < 0 {
		return nil, fmt.Errorf("postgres: history of %q: negative limit %d", sessionID, limit)
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+historyCols+` FROM history
		WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, sessionID, afterSeq, limitArg(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: history of %q: %w", sessionID, s.poolErr(err))
	}
	defer rows.Close()
	out := make([]engine.HistoryEntry, 0, min(limit, maxPrealloc))
	for rows.Next() {
		e := engine.HistoryEntry{SessionID: sessionID}
		if err := scanHistory(rows, &e); err != nil {
			return nil, fmt.Errorf("postgres: history of %q: %w", sessionID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: history of %q: %w", sessionID, s.poolErr(err))
	}
	return out, nil
}

// scanHistory reads a row of historyCols into e (SessionID is not among
// them: the caller knows it).
func scanHistory(r pgx.Row, e *engine.HistoryEntry) error {
	var role string
	var calls []byte
	var created time.Time
	msg := &e.Message
	if err := r.Scan(&e.Seq, &e.InboundID, &role, &msg.Content, &calls, &msg.ToolCallID, &msg.Name, &created); err != nil {
		return err
	}
	msg.Role = engine.Role(role)
	e.CreatedAt = created.UTC()
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

// outboxArgs are insertOutbox's parameters for o.
func outboxArgs(o *engine.Outbound, inboundID int64, now time.Time) ([]any, error) {
	meta, err := jsonOrNull(o.Meta, len(o.Meta) == 0)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	to := &o.To
	return []any{int16(o.Kind), to.Channel, to.Conversation, to.Thread, to.ReplyTo, o.Text, o.Delta,
		o.Final, o.Error, nullID(inboundID), jsonArg(meta), now}, nil
}

// queueOutbox adds the insert of one outbox row to a batch.
func queueOutbox(b *pgx.Batch, o *engine.Outbound, inboundID int64, now time.Time) error {
	args, err := outboxArgs(o, inboundID, now)
	if err != nil {
		return err
	}
	b.Queue(insertOutbox, args...)
	return nil
}

// EnqueueOutbound queues one message outside a turn and returns its
// outbox id; ErrNotFound when InboundID names no stored message.
func (s *Store) EnqueueOutbound(ctx context.Context, msg engine.Outbound) (int64, error) {
	if err := validateOutbound(&msg); err != nil {
		return 0, fmt.Errorf("postgres: enqueue outbound: %w", err)
	}
	args, err := outboxArgs(&msg, msg.InboundID, ts(s.now()))
	if err != nil {
		return 0, fmt.Errorf("postgres: enqueue outbound: %w", err)
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var id int64
	if err := s.pool.QueryRow(ctx, insertOutbox, args...).Scan(&id); err != nil {
		return 0, fmt.Errorf("postgres: enqueue outbound: %w", s.poolErr(missingRef(err)))
	}
	return id, nil
}

// PendingOutbound lists queued messages not yet delivered, in order.
func (s *Store) PendingOutbound(ctx context.Context) ([]engine.Outbound, error) {
	out, err := queryAll(ctx, s, scanOutbound, `SELECT `+outboxCols+` FROM outbox
		WHERE delivered_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending outbound: %w", err)
	}
	return out, nil
}

// MarkDelivered records that an outbox message reached its channel at at
// (the store's clock when zero); marking it again keeps the first time.
// ErrNotFound when there is no such message.
func (s *Store) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE outbox SET delivered_at = COALESCE(delivered_at, $1) WHERE id = $2`,
		s.stamp(at), id)
	if err != nil {
		return fmt.Errorf("postgres: mark outbound %d delivered: %w", id, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: mark outbound %d delivered: %w", id, engine.ErrNotFound)
	}
	return nil
}

// RepliesTo lists the outbox messages, delivered or queued, that answer an
// inbound message, in order.
func (s *Store) RepliesTo(ctx context.Context, inboundID int64) ([]engine.Outbound, error) {
	out, err := queryAll(ctx, s, scanOutbound, `SELECT `+outboxCols+` FROM outbox
		WHERE inbound_id = $1 ORDER BY id`, inboundID)
	if err != nil {
		return nil, fmt.Errorf("postgres: replies to inbound %d: %w", inboundID, err)
	}
	return out, nil
}

func scanOutbound(r pgx.Row) (engine.Outbound, error) {
	var o engine.Outbound
	var kind int16
	var meta []byte
	to := &o.To
	if err := r.Scan(&o.ID, &kind, &to.Channel, &to.Conversation, &to.Thread, &to.ReplyTo, &o.Text,
		&o.Delta, &o.Final, &o.Error, &o.InboundID, &meta); err != nil {
		return engine.Outbound{}, err
	}
	o.Kind = engine.OutboundKind(kind)
	if err := fromJSON(meta, &o.Meta); err != nil {
		return engine.Outbound{}, fmt.Errorf("outbound %d meta: %w", o.ID, err)
	}
	return o, nil
}
