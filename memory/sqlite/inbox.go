package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// SaveInbound stores an accepted message and returns it with its ID (and
// CreatedAt, the store's clock when zero; Status, pending when empty).
// When the channel and message id were stored before it stores nothing
// and returns the earlier record and false.
func (s *Store) SaveInbound(ctx context.Context, m engine.StoredInbound) (engine.StoredInbound, bool, error) {
	if err := m.Prepare(); err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("sqlite: save inbound: %w", err)
	}
	in := &m.Inbound
	att, err := jsonOrNull(in.Attachments, in.Attachments == nil)
	if err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("sqlite: save inbound: attachments: %w", err)
	}
	meta, err := jsonOrNull(in.Meta, in.Meta == nil)
	if err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("sqlite: save inbound: meta: %w", err)
	}
	created := micros(s.stamp(m.CreatedAt))
	fresh := false
	err = s.write(ctx, func(ctx context.Context) error {
		res, err := s.w.insertInbound.ExecContext(ctx, in.Channel, in.MessageID, in.Conversation, in.Thread,
			in.Sender.ID, in.Sender.DisplayName, boolInt(in.Direct), boolInt(in.Mentioned), in.Text,
			att, meta, nullMicros(in.ReceivedAt), nullString(m.UserID), nullString(m.SessionID),
			string(m.Status), created, created)
		if isForeignKeyViolation(err) {
			return s.missingReference(ctx, err, m.UserID, m.SessionID, 0)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 { // a duplicate: return the earlier record
			m, err = scanInbound(s.w.inboundByMessage.QueryRowContext(ctx, in.Channel, in.MessageID))
			return err
		}
		fresh = true
		m.ID, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return engine.StoredInbound{}, false, fmt.Errorf("sqlite: save inbound %s/%s: %w", in.Channel, in.MessageID, err)
	}
	if fresh {
		m.CreatedAt = fromMicros(created)
		if !in.ReceivedAt.IsZero() {
			in.ReceivedAt = fromMicros(micros(in.ReceivedAt))
		}
	}
	return m, fresh, nil
}

// PendingInbound lists pending messages in acceptance order.
func (s *Store) PendingInbound(ctx context.Context) ([]engine.StoredInbound, error) {
	out, err := queryAll(ctx, s, s.r.pendingInbound, scanInbound)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending inbound: %w", err)
	}
	return out, nil
}

// PendingInboundForSession lists one session's pending messages with
// ID > afterID, in order.
func (s *Store) PendingInboundForSession(ctx context.Context, sessionID string, afterID int64) ([]engine.StoredInbound, error) {
	out, err := queryAll(ctx, s, s.r.pendingInboundForSession, scanInbound, sessionID, afterID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending inbound of session %q: %w", sessionID, err)
	}
	return out, nil
}

// GetInbound returns a stored inbound message; ErrNotFound when there is
// none.
func (s *Store) GetInbound(ctx context.Context, id int64) (engine.StoredInbound, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.StoredInbound{}, err
	}
	m, err := scanInbound(s.r.getInbound.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("sqlite: get inbound %d: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("sqlite: get inbound %d: %w", id, err)
	}
	return m, nil
}

// CompleteTurn, in one transaction, sets the inbound message's status
// (InboxDone when empty) and adds the turn's token usage to it, appends
// the history entries with the next sequence numbers of their sessions,
// and queues the outbound messages, returning their outbox ids in order.
// A history entry without SessionID or InboundID and an outbound message
// without InboundID take the turn's. On any error nothing is written.
func (s *Store) CompleteTurn(ctx context.Context, rec engine.TurnRecord) ([]int64, error) {
	status := rec.Status
	if status == "" {
		status = engine.InboxDone
	}
	if err := validateTurn(rec, status); err != nil {
		return nil, fmt.Errorf("sqlite: complete turn of inbound %d: %w", rec.InboundID, err)
	}
	ids := make([]int64, 0, len(rec.Outbound))
	err := s.tx(ctx, func(ctx context.Context) error {
		now := s.now()
		var sessionID string
		if rec.InboundID != 0 {
			var err error
			if sessionID, err = s.finishInbound(ctx, &rec, status, now); err != nil {
				return err
			}
		}
		for i := range rec.History {
			e := &rec.History[i]
			sid, inbound := e.SessionID, e.InboundID
			if sid == "" {
				sid = sessionID
			}
			if inbound == 0 {
				inbound = rec.InboundID
			}
			if sid == "" {
				return fmt.Errorf("history entry %d: no session id (and the inbound message has none)", i)
			}
			if err := s.appendHistory(ctx, sid, inbound, e, now); err != nil {
				return fmt.Errorf("history entry %d: %w", i, err)
			}
		}
		for i := range rec.Outbound {
			o := &rec.Outbound[i]
			inbound := o.InboundID
			if inbound == 0 {
				inbound = rec.InboundID
			}
			id, err := s.insertOutbox(ctx, o, inbound, now)
			if err != nil {
				return fmt.Errorf("outbound %d: %w", i, err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: complete turn of inbound %d: %w", rec.InboundID, err)
	}
	return ids, nil
}

// finishInbound sets the status and usage of the turn's inbound message
// and returns its session, which it reads only when a history entry lacks
// one. ErrNotFound when there is no such message.
func (s *Store) finishInbound(ctx context.Context, rec *engine.TurnRecord, status engine.InboxStatus, now time.Time) (string, error) {
	args := []any{string(status), rec.Usage.InputTokens, rec.Usage.OutputTokens, micros(now), rec.InboundID}
	for i := range rec.History {
		if rec.History[i].SessionID == "" {
			var sessionID string
			err := s.w.finishInboundSession.QueryRowContext(ctx, args...).Scan(&sessionID)
			if errors.Is(err, sql.ErrNoRows) {
				return "", fmt.Errorf("inbound %d: %w", rec.InboundID, engine.ErrNotFound)
			}
			return sessionID, err
		}
	}
	res, err := s.w.finishInbound.ExecContext(ctx, args...)
	if err != nil {
		return "", err
	}
	n, err := res.RowsAffected()
	if err == nil && n == 0 {
		err = fmt.Errorf("inbound %d: %w", rec.InboundID, engine.ErrNotFound)
	}
	return "", err
}

func validateTurn(rec engine.TurnRecord, status engine.InboxStatus) error {
	if !status.Valid() {
		return fmt.Errorf("invalid status %q", status)
	}
	if rec.Usage.InputTokens < 0 || rec.Usage.OutputTokens < 0 {
		return fmt.Errorf("negative token usage %+v", rec.Usage)
	}
	for i := range rec.History {
		if err := validateMessage(&rec.History[i].Message); err != nil {
			return fmt.Errorf("history entry %d: %w", i, err)
		}
	}
	for i := range rec.Outbound {
		if err := validateOutbound(&rec.Outbound[i]); err != nil {
			return fmt.Errorf("outbound %d: %w", i, err)
		}
	}
	return nil
}

func validateMessage(m *engine.ChatMessage) error {
	switch m.Role {
	case engine.RoleSystem, engine.RoleUser, engine.RoleAssistant, engine.RoleTool:
		return nil
	}
	return fmt.Errorf("invalid role %q", m.Role)
}

func (s *Store) appendHistory(ctx context.Context, sessionID string, inboundID int64, e *engine.HistoryEntry, now time.Time) error {
	msg := &e.Message
	calls, err := jsonOrNull(msg.ToolCalls, len(msg.ToolCalls) == 0)
	if err != nil {
		return fmt.Errorf("tool calls: %w", err)
	}
	created := e.CreatedAt
	if created.IsZero() {
		created = now
	}
	_, err = s.w.appendHistory.ExecContext(ctx, sessionID, sessionID, nullID(inboundID), string(msg.Role),
		msg.Content, calls, nullString(msg.ToolCallID), nullString(msg.Name), micros(created))
	if isForeignKeyViolation(err) {
		return s.missingReference(ctx, err, "", sessionID, inboundID)
	}
	return err
}

// missingReference turns a foreign key violation into ErrNotFound naming
// the first referenced row that does not exist. It runs on the writer
// connection, inside the failed write.
func (s *Store) missingReference(ctx context.Context, cause error, userID, sessionID string, inboundID int64) error {
	checks := []struct {
		st   *sql.Stmt
		arg  any
		what string
		skip bool
	}{
		{s.w.userExists, userID, fmt.Sprintf("user %q", userID), userID == ""},
		{s.w.sessionExists, sessionID, fmt.Sprintf("session %q", sessionID), sessionID == ""},
		{s.w.inboundExists, inboundID, fmt.Sprintf("inbound %d", inboundID), inboundID == 0},
	}
	for _, c := range checks {
		if c.skip {
			continue
		}
		var ok bool
		if err := c.st.QueryRowContext(ctx, c.arg).Scan(&ok); err != nil {
			return errors.Join(cause, err)
		}
		if !ok {
			return fmt.Errorf("%s: %w", c.what, engine.ErrNotFound)
		}
	}
	return cause
}

func scanInbound(r scanner) (engine.StoredInbound, error) {
	var m engine.StoredInbound
	in := &m.Inbound
	var direct, mentioned int64
	var att, meta sql.NullString
	var received sql.NullInt64
	var status string
	var created int64
	if err := r.Scan(&m.ID, &in.Channel, &in.MessageID, &in.Conversation, &in.Thread, &in.Sender.ID,
		&in.Sender.DisplayName, &direct, &mentioned, &in.Text, &att, &meta, &received,
		&m.UserID, &m.SessionID, &status, &created); err != nil {
		return engine.StoredInbound{}, err
	}
	in.Direct = direct != 0
	in.Mentioned = mentioned != 0
	in.ReceivedAt = fromNullMicros(received)
	m.Status = engine.InboxStatus(status)
	m.CreatedAt = fromMicros(created)
	if err := fromJSON(att, &in.Attachments); err != nil {
		return engine.StoredInbound{}, fmt.Errorf("inbound %d attachments: %w", m.ID, err)
	}
	if err := fromJSON(meta, &in.Meta); err != nil {
		return engine.StoredInbound{}, fmt.Errorf("inbound %d meta: %w", m.ID, err)
	}
	return m, nil
}
