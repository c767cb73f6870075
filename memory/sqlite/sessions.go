package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hearthbot/hearth/engine"
)

// ActiveSession returns the active session of a user for an address key;
// ErrNotFound when there is none.
func (s *Store) ActiveSession(ctx context.Context, userID, key string) (engine.Session, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Session{}, err
	}
	ses, err := scanSession(s.r.activeSession.QueryRowContext(ctx, userID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return ses, fmt.Errorf("sqlite: active session of %q for %q: %w", userID, key, engine.ErrNotFound)
	}
	if err != nil {
		return ses, fmt.Errorf("sqlite: active session of %q for %q: %w", userID, key, err)
	}
	return ses, nil
}

// CreateSession stores ses as the active session of its user and key and
// deactivates the one active before, in one transaction. ErrConflict when
// the id is taken, ErrNotFound when the user does not exist; either way
// nothing changes.
func (s *Store) CreateSession(ctx context.Context, ses engine.Session) error {
	switch {
	case ses.ID == "":
		return errors.New("sqlite: create session: id is empty")
	case ses.UserID == "":
		return fmt.Errorf("sqlite: create session %q: user id is empty", ses.ID)
	case ses.Key == "":
		return fmt.Errorf("sqlite: create session %q: key is empty", ses.ID)
	}
	created := s.stamp(ses.CreatedAt)
	updated := ses.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	a := ses.Address
	err := s.tx(ctx, func(ctx context.Context) error {
		if _, err := s.w.deactivateSessions.ExecContext(ctx, ses.UserID, ses.Key); err != nil {
			return err
		}
		_, err := s.w.insertSession.ExecContext(ctx, ses.ID, ses.UserID, ses.Key,
			a.Channel, a.Conversation, a.Thread, a.ReplyTo, boolInt(ses.Group),
			ses.Model, ses.Summary, ses.SummaryThrough, micros(created), micros(updated))
		switch {
		case isUniqueViolation(err):
			return engine.ErrConflict
		case isForeignKeyViolation(err):
			return fmt.Errorf("user %q: %w", ses.UserID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session %q: %w", ses.ID, err)
	}
	return nil
}

// GetSession returns a session by id; ErrNotFound when there is none.
func (s *Store) GetSession(ctx context.Context, id string) (engine.Session, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Session{}, err
	}
	ses, err := scanSession(s.r.getSession.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return ses, fmt.Errorf("sqlite: get session %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return ses, fmt.Errorf("sqlite: get session %q: %w", id, err)
	}
	return ses, nil
}

// UpdateSession saves Model, Summary, SummaryThrough and UpdatedAt (the
// store's clock when zero); ErrNotFound when there is no such session.
func (s *Store) UpdateSession(ctx context.Context, ses engine.Session) error {
	if ses.ID == "" {
		return errors.New("sqlite: update session: id is empty")
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.w.updateSession.ExecContext(ctx, ses.Model, ses.Summary, ses.SummaryThrough,
			micros(s.stamp(ses.UpdatedAt)), ses.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update session %q: %w", ses.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: update session %q: %w", ses.ID, engine.ErrNotFound)
	}
	return nil
}

// ListSessions lists a user's sessions (every user's when userID is empty),
// most recently updated first, at most limit (0: all).
func (s *Store) ListSessions(ctx context.Context, userID string, limit int) ([]engine.Session, error) {
	if limit < 0 {
		return nil, fmt.Errorf("sqlite: list sessions: negative limit %d", limit)
	}
	var out []engine.Session
	var err error
	if userID == "" {
		out, err = queryAll(ctx, s, s.r.listAllSessions, scanSession, sqlLimit(limit))
	} else {
		out, err = queryAll(ctx, s, s.r.listSessions, scanSession, userID, sqlLimit(limit))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions of %q: %w", userID, err)
	}
	return out, nil
}

func scanSession(r scanner) (engine.Session, error) {
	var ses engine.Session
	var group, active int64
	var created, updated int64
	a := &ses.Address
	if err := r.Scan(&ses.ID, &ses.UserID, &ses.Key, &a.Channel, &a.Conversation, &a.Thread, &a.ReplyTo,
		&group, &active, &ses.Model, &ses.Summary, &ses.SummaryThrough, &created, &updated); err != nil {
		return engine.Session{}, err
	}
	ses.Group = group != 0
	ses.Active = active != 0
	ses.CreatedAt = fromMicros(created)
	ses.UpdatedAt = fromMicros(updated)
	return ses, nil
}
