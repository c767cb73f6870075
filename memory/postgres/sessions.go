package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const sessionCols = `id, user_id, address_key, channel, conversation, thread, reply_to, is_group, active,
	model, summary, summary_through, created_at, updated_at`

// ActiveSession returns the active session of a user for an address key;
// ErrNotFound when there is none.
func (s *Store) ActiveSession(ctx context.Context, userID, key string) (engine.Session, error) {
	if err := s.check(ctx); err != nil {
		return engine.Session{}, err
	}
	ses, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND address_key = $2 AND active`, userID, key))
	if err != nil {
		return ses, fmt.Errorf("postgres: active session of %q for %q: %w", userID, key, s.poolErr(noRows(err)))
	}
	return ses, nil
}

// CreateSession stores ses as the active session of its user and key and
// deactivates the one active before, in one transaction that holds the
// user's row lock: concurrent creations for one user, from any process,
// run one after the other, each succeeds, and the last one stays active.
// ErrConflict when the id is taken, ErrNotFound when the user does not
// exist; either way nothing changes.
func (s *Store) CreateSession(ctx context.Context, ses engine.Session) error {
	switch {
	case ses.ID == "":
		return errors.New("postgres: create session: id is empty")
	case ses.UserID == "":
		return fmt.Errorf("postgres: create session %q: user id is empty", ses.ID)
	case ses.Key == "":
		return fmt.Errorf("postgres: create session %q: key is empty", ses.ID)
	}
	created := s.stamp(ses.CreatedAt)
	updated := created
	if !ses.UpdatedAt.IsZero() {
		updated = ts(ses.UpdatedAt)
	}
	a := ses.Address
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, ses.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("user %q: %w", ses.UserID, engine.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET active = false
			WHERE user_id = $1 AND address_key = $2 AND active`, ses.UserID, ses.Key); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO sessions (id, user_id, address_key, channel, conversation, thread,
			reply_to, is_group, active, model, summary, summary_through, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9, $10, $11, $12, $13)`,
			ses.ID, ses.UserID, ses.Key, a.Channel, a.Conversation, a.Thread, a.ReplyTo, ses.Group,
			ses.Model, ses.Summary, ses.SummaryThrough, created, updated)
		if isUniqueViolation(err) {
			return engine.ErrConflict
		}
		return missingRef(err)
	})
	if err != nil {
		return fmt.Errorf("postgres: create session %q: %w", ses.ID, s.poolErr(err))
	}
	return nil
}

// GetSession returns a session by id; ErrNotFound when there is none.
func (s *Store) GetSession(ctx context.Context, id string) (engine.Session, error) {
	if err := s.check(ctx); err != nil {
		return engine.Session{}, err
	}
	ses, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return ses, fmt.Errorf("postgres: get session %q: %w", id, s.poolErr(noRows(err)))
	}
	return ses, nil
}

// UpdateSession saves Model, Summary, SummaryThrough and UpdatedAt (the
// store's clock when zero); ErrNotFound when there is no such session.
func (s *Store) UpdateSession(ctx context.Context, ses engine.Session) error {
	if ses.ID == "" {
		return errors.New("postgres: update session: id is empty")
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET model = $1, summary = $2, summary_through = $3,
		updated_at = $4 WHERE id = $5`, ses.Model, ses.Summary, ses.SummaryThrough, s.stamp(ses.UpdatedAt), ses.ID)
	if err != nil {
		return fmt.Errorf("postgres: update session %q: %w", ses.ID, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update session %q: %w", ses.ID, engine.ErrNotFound)
	}
	return nil
}

// ListSessions lists a user's sessions (every user's when userID is empty),
// most recently updated first, at most limit (0: all).
func (s *Store) ListSessions(ctx context.Context, userID string, limit int) ([]engine.Session, error) {
	if limit < 0 {
		return nil, fmt.Errorf("postgres: list sessions: negative limit %d", limit)
	}
	var out []engine.Session
	var err error
	if userID == "" {
		out, err = queryAll(ctx, s, scanSession, `SELECT `+sessionCols+` FROM sessions
			ORDER BY updated_at DESC, n DESC LIMIT $1`, limitArg(limit))
	} else {
		out, err = queryAll(ctx, s, scanSession, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1
			ORDER BY updated_at DESC, n DESC LIMIT $2`, userID, limitArg(limit))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions of %q: %w", userID, err)
	}
	return out, nil
}

func scanSession(r pgx.Row) (engine.Session, error) {
	var ses engine.Session
	var created, updated time.Time
	a := &ses.Address
	if err := r.Scan(&ses.ID, &ses.UserID, &ses.Key, &a.Channel, &a.Conversation, &a.Thread, &a.ReplyTo,
		&ses.Group, &ses.Active, &ses.Model, &ses.Summary, &ses.SummaryThrough, &created, &updated); err != nil {
		return engine.Session{}, err
	}
	ses.CreatedAt = created.UTC()
	ses.UpdatedAt = updated.UTC()
	return ses, nil
}
