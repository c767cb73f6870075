package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const inboxCols = `id, channel, message_id, conversation, thread, sender_id, sender_name, direct, mentioned,
	text, attachments, meta, received_at, COALESCE(user_id, ''), COALESCE(session_id, ''), status, created_at`

// jsonArg is a JSON parameter: the encoded value, or NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// SaveInbound stores an accepted message and returns it with its ID (and
// CreatedAt, the store's clock when zero; Status, pending when empty).
// When the channel and message id were stored before it stores nothing
// and returns the earlier record and false. Of concurrent saves of one
// message, from any number of processes, exactly one inserts.
func (s *Store) SaveInbound(ctx context.Context, m engine.StoredInbound) (engine.StoredInbound, bool, error) {
	if err := m.Prepare(); err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("postgres: save inbound: %w", err)
	}
	in := &m.Inbound
	att, err := jsonOrNull(in.Attachments, in.Attachments == nil)
	if err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("postgres: save inbound: attachments: %w", err)
	}
	meta, err := jsonOrNull(in.Meta, in.Meta == nil)
	if err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("postgres: save inbound: meta: %w", err)
	}
	if err := s.check(ctx); err != nil {
		return engine.StoredInbound{}, false, err
	}
	created := s.stamp(m.CreatedAt)
	// ON CONFLICT DO NOTHING waits for a concurrent insert of the same key
	// to end: when it committed, the SELECT that follows sees its row; when
	// it rolled back, this insert goes through. A row deleted in between
	// is the only reason to try again.
	for range 3 {
		err = s.pool.QueryRow(ctx, `INSERT INTO inbox (channel, message_id, conversation, thread, sender_id,
			sender_name, direct, mentioned, text, attachments, meta, received_at, user_id, session_id,
			status, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
			ON CONFLICT (channel, message_id) DO NOTHING
			RETURNING id`,
			in.Channel, in.MessageID, in.Conversation, in.Thread, in.Sender.ID, in.Sender.DisplayName,
			in.Direct, in.Mentioned, in.Text, jsonArg(att), jsonArg(meta), nullTime(in.ReceivedAt),
			nullString(m.UserID), nullString(m.SessionID), string(m.Status), created).Scan(&m.ID)
		if err == nil {
			m.CreatedAt = created
			if !in.ReceivedAt.IsZero() {
				in.ReceivedAt = ts(in.ReceivedAt)
			}
			return m, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
		var earlier engine.StoredInbound
		earlier, err = scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboxCols+` FROM inbox
			WHERE channel = $1 AND message_id = $2`, in.Channel, in.MessageID))
		if err == nil {
			return earlier, false, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			break
		}
	}
	return engine.StoredInbound{}, false, fmt.Errorf("postgres: save inbound %s/%s: %w",
		in.Channel, in.MessageID, s.poolErr(missingRef(err)))
}

// PendingInbound lists pending messages in acceptance order.
func (s *Store) PendingInbound(ctx context.Context) ([]engine.StoredInbound, error) {
	out, err := queryAll(ctx, s, scanInbound, `SELECT `+inboxCols+` FROM inbox
		WHERE status = 'pending' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending inbound: %w", err)
	}
	return out, nil
}

// PendingInboundForSession lists one session's pending messages with
// ID > afterID, in order.
func (s *Store) PendingInboundForSession(ctx context.Context, sessionID string, afterID int64) ([]engine.StoredInbound, error) {
	out, err := queryAll(ctx, s, scanInbound, `SELECT `+inboxCols+` FROM inbox
		WHERE session_id = $1 AND status = 'pending' AND id > $2 ORDER BY id`, sessionID, afterID)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending inbound of session %q: %w", sessionID, err)
	}
	return out, nil
}

// GetInbound returns a stored inbound message; ErrNotFound when there is
// none.
func (s *Store) GetInbound(ctx context.Context, id int64) (engine.StoredInbound, error) {
	if err := s.check(ctx); err != nil {
		return engine.StoredInbound{}, err
	}
	m, err := scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboxCols+` FROM inbox WHERE id = $1`, id))
	if err != nil {
		return m, fmt.Errorf("postgres: get inbound %d: %w", id, s.poolErr(noRows(err)))
	}
	return m, nil
}

// CompleteTurn, in one transaction, sets the inbound message's status
// (InboxDone when empty) and adds the turn's token usage to it, appends
// the history entries with the next sequence numbers of their sessions
// (reserved under each session's row lock, taken in id order), and queues
// the outbound messages, returning their outbox ids in order. A history
// entry without SessionID or InboundID and an outbound message without
// InboundID take the turn's. On any error nothing is written.
func (s *Store) CompleteTurn(ctx context.Context, rec engine.TurnRecord) ([]int64, error) {
	status := rec.Status
	if status == "" {
		status = engine.InboxDone
	}
	if err := validateTurn(rec, status); err != nil {
		return nil, fmt.Errorf("postgres: complete turn of inbound %d: %w", rec.InboundID, err)
	}
	var ids []int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		now := ts(s.now())
		var sessionID string
		if rec.InboundID != 0 {
			err := tx.QueryRow(ctx, `UPDATE inbox SET status = $1, input_tokens = input_tokens + $2,
				output_tokens = output_tokens + $3, updated_at = $4
				WHERE id = $5 RETURNING COALESCE(session_id, '')`,
				string(status), rec.Usage.InputTokens, rec.Usage.OutputTokens, now, rec.InboundID).Scan(&sessionID)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("inbound %d: %w", rec.InboundID, engine.ErrNotFound)
			}
			if err != nil {
				return err
			}
		}
		seqs, err := reserveSeqs(ctx, tx, rec.History, sessionID)
		if err != nil {
			return err
		}
		ids, err = writeTurn(ctx, tx, &rec, seqs, sessionID, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: complete turn of inbound %d: %w", rec.InboundID, s.poolErr(err))
	}
	return ids, nil
}

// reserveSeqs advances the last_seq of every session the entries go to
// and returns, per session, the first sequence number reserved.
func reserveSeqs(ctx context.Context, tx pgx.Tx, hist []engine.HistoryEntry, sessionID string) (map[string]int64, error) {
	counts := map[string]int64{}
	for i := range hist {
		sid := hist[i].SessionID
		if sid == "" {
			sid = sessionID
		}
		if sid == "" {
			return nil, fmt.Errorf("history entry %d: no session id (and the inbound message has none)", i)
		}
		counts[sid]++
	}
	order := make([]string, 0, len(counts))
	for sid := range counts {
		order = append(order, sid)
	}
	slices.Sort(order) // one lock order for every transaction: no deadlocks
	first := make(map[string]int64, len(counts))
	for _, sid := range order {
		var last int64
		err := tx.QueryRow(ctx, `UPDATE sessions SET last_seq = last_seq + $1 WHERE id = $2 RETURNING last_seq`,
			counts[sid], sid).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("session %q: %w", sid, engine.ErrNotFound)
		}
		if err != nil {
			return nil, err
		}
		first[sid] = last - counts[sid] + 1
	}
	return first, nil
}

// writeTurn inserts the history entries and outbox rows of a turn in one
// round trip and returns the outbox ids.
func writeTurn(ctx context.Context, tx pgx.Tx, rec *engine.TurnRecord, next map[string]int64, sessionID string, now time.Time) ([]int64, error) {
	if len(rec.History) == 0 && len(rec.Outbound) == 0 {
		return nil, nil
	}
	b := &pgx.Batch{}
	for i := range rec.History {
		e := &rec.History[i]
		sid, inbound := e.SessionID, e.InboundID
		if sid == "" {
			sid = sessionID
		}
		if inbound == 0 {
			inbound = rec.InboundID
		}
		calls, err := jsonOrNull(e.Message.ToolCalls, len(e.Message.ToolCalls) == 0)
		if err != nil {
			return nil, fmt.Errorf("history entry %d tool calls: %w", i, err)
		}
		created := now
		if !e.CreatedAt.IsZero() {
			created = ts(e.CreatedAt)
		}
		b.Queue(`INSERT INTO history (session_id, seq, inbound_id, role, content, tool_calls, tool_call_id,
			name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			sid, next[sid], nullID(inbound), string(e.Message.Role), e.Message.Content, jsonArg(calls),
			e.Message.ToolCallID, e.Message.Name, created)
		next[sid]++
	}
	for i := range rec.Outbound {
		o := &rec.Outbound[i]
		inbound := o.InboundID
		if inbound == 0 {
			inbound = rec.InboundID
		}
		if err := queueOutbox(b, o, inbound, now); err != nil {
			return nil, fmt.Errorf("outbound %d: %w", i, err)
		}
	}
	br := tx.SendBatch(ctx, b)
	ids, err := readTurnResults(br, len(rec.History), len(rec.Outbound))
	if cerr := br.Close(); err == nil && cerr != nil {
		err = missingRef(cerr)
	}
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func readTurnResults(br pgx.BatchResults, entries, outbound int) ([]int64, error) {
	for i := range entries {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("history entry %d: %w", i, missingRef(err))
		}
	}
	ids := make([]int64, 0, outbound)
	for i := range outbound {
		var id int64
		if err := br.QueryRow().Scan(&id); err != nil {
			return nil, fmt.Errorf("outbound %d: %w", i, missingRef(err))
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func validateTurn(rec engine.TurnRecord, status engine.InboxStatus) error {
	if !status.Valid() {
		return fmt.Errorf("invalid status %q", status)
	}
	if rec.Usage.InputTokens < 0 || rec.Usage.OutputTokens < 0 {
		return fmt.Errorf("negative token usage %+v", rec.Usage)
	}
	for i := range rec.History {
		switch rec.History[i].Message.Role {
		case engine.RoleSystem, engine.RoleUser, engine.RoleAssistant, engine.RoleTool:
		default:
			return fmt.Errorf("history entry %d: invalid role %q", i, rec.History[i].Message.Role)
		}
	}
	for i := range rec.Outbound {
		if err := validateOutbound(&rec.Outbound[i]); err != nil {
			return fmt.Errorf("outbound %d: %w", i, err)
		}
	}
	return nil
}

func scanInbound(r pgx.Row) (engine.StoredInbound, error) {
	var m engine.StoredInbound
	in := &m.Inbound
	var att, meta []byte
	var received *time.Time
	var status string
	var created time.Time
	if err := r.Scan(&m.ID, &in.Channel, &in.MessageID, &in.Conversation, &in.Thread, &in.Sender.ID,
		&in.Sender.DisplayName, &in.Direct, &in.Mentioned, &in.Text, &att, &meta, &received,
		&m.UserID, &m.SessionID, &status, &created); err != nil {
		return engine.StoredInbound{}, err
	}
	in.ReceivedAt = fromNull(received)
	m.Status = engine.InboxStatus(status)
	m.CreatedAt = created.UTC()
	if err := fromJSON(att, &in.Attachments); err != nil {
		return engine.StoredInbound{}, fmt.Errorf("inbound %d attachments: %w", m.ID, err)
	}
	if err := fromJSON(meta, &in.Meta); err != nil {
		return engine.StoredInbound{}, fmt.Errorf("inbound %d meta: %w", m.ID, err)
	}
	return m, nil
}
