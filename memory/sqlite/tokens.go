package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// API tokens (migration 00004). The statements are not prepared at Open:
// the hot one, APITokenByHash, runs once per API request, next to a model
// call, where preparing per call costs microseconds.

var _ engine.APITokenStore = (*Store)(nil)

const tokenCols = `id, user_id, name, hash, hint, created_at, last_used, revoked_at`

// validateToken checks what the table's constraints would reject, with
// errors that name the field.
func validateToken(t engine.APIToken) error {
	switch {
	case t.ID == "":
		return errors.New("id is empty")
	case t.UserID == "":
		return errors.New("user id is empty")
	case len(t.Hash) != engine.APITokenHashLen:
		return fmt.Errorf("hash is %d bytes, want %d (SHA-256)", len(t.Hash), engine.APITokenHashLen)
	}
	return nil
}

// CreateAPIToken stores a new token; see engine.APITokenStore.
func (s *Store) CreateAPIToken(ctx context.Context, t engine.APIToken) error {
	if err := validateToken(t); err != nil {
		return fmt.Errorf("sqlite: create api token %q: %w", t.ID, err)
	}
	created := s.stamp(t.CreatedAt)
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.wconn.ExecContext(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.UserID, t.Name, t.Hash, t.Hint, micros(created), nullMicros(t.LastUsed), nullMicros(t.RevokedAt))
		switch {
		case isUniqueViolation(err):
			return engine.ErrConflict
		case isForeignKeyViolation(err):
			return fmt.Errorf("user %q: %w", t.UserID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create api token %q: %w", t.ID, err)
	}
	return nil
}

// APITokenByHash returns the unrevoked token with this hash.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (engine.APIToken, error) {
	if len(hash) != engine.APITokenHashLen {
		return engine.APIToken{}, fmt.Errorf("sqlite: api token by hash: %w", engine.ErrNotFound)
	}
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.APIToken{}, err
	}
	t, err := scanToken(s.rdb.QueryRowContext(rctx, `SELECT `+tokenCols+` FROM api_tokens
		WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("sqlite: api token by hash: %w", engine.ErrNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("sqlite: api token by hash: %w", err)
	}
	return t, nil
}

// ListAPITokens lists a user's tokens (everyone's for ""), oldest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]engine.APIToken, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(rctx, `SELECT `+tokenCols+` FROM api_tokens
		WHERE ?1 = '' OR user_id = ?1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list api tokens: %w", err)
	}
	defer rows.Close()
	var out []engine.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list api tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.changeToken(ctx, "revoke", id, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`,
		micros(s.stamp(at)), id)
}

// TouchAPIToken records a use of a token.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.changeToken(ctx, "touch", id, `UPDATE api_tokens SET last_used = ? WHERE id = ?`, micros(s.stamp(at)), id)
}

// changeToken runs one statement on the token row id, with ErrNotFound
// when it matched nothing.
func (s *Store) changeToken(ctx context.Context, op, id, query string, args ...any) error {
	if id == "" {
		return fmt.Errorf("sqlite: %s api token: id is empty", op)
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.wconn.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s api token %q: %w", op, id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s api token %q: %w", op, id, engine.ErrNotFound)
	}
	return nil
}

func scanToken(r scanner) (engine.APIToken, error) {
	var t engine.APIToken
	var created int64
	var used, revoked sql.NullInt64
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Hint, &created, &used, &revoked); err != nil {
		return engine.APIToken{}, err
	}
	t.CreatedAt = fromMicros(created)
	t.LastUsed = fromNullMicros(used)
	t.RevokedAt = fromNullMicros(revoked)
	return t, nil
}
