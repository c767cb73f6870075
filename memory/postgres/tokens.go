package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

// API tokens (migration 00003).

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
		return fmt.Errorf("postgres: create api token %q: %w", t.ID, err)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.UserID, t.Name, t.Hash, t.Hint, s.stamp(t.CreatedAt), nullTime(t.LastUsed), nullTime(t.RevokedAt))
	if isUniqueViolation(err) {
		err = engine.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("postgres: create api token %q: %w", t.ID, s.poolErr(missingRef(err)))
	}
	return nil
}

// APITokenByHash returns the unrevoked token with this hash.
func (s *Store) APITokenByHash(ctx context.Context, hash []byte) (engine.APIToken, error) {
	if len(hash) != engine.APITokenHashLen {
		return engine.APIToken{}, fmt.Errorf("postgres: api token by hash: %w", engine.ErrNotFound)
	}
	if err := s.check(ctx); err != nil {
		return engine.APIToken{}, err
	}
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM api_tokens
		WHERE hash = $1 AND revoked_at IS NULL`, hash))
	if err != nil {
		return t, fmt.Errorf("postgres: api token by hash: %w", s.poolErr(noRows(err)))
	}
	return t, nil
}

// ListAPITokens lists a user's tokens (everyone's for ""), oldest first.
func (s *Store) ListAPITokens(ctx context.Context, userID string) ([]engine.APIToken, error) {
	var out []engine.APIToken
	var err error
	if userID == "" {
		out, err = queryAll(ctx, s, scanToken, `SELECT `+tokenCols+` FROM api_tokens ORDER BY created_at, id`)
	} else {
		out, err = queryAll(ctx, s, scanToken, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1
			ORDER BY created_at, id`, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list api tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken revokes a token, keeping the first revocation time.
func (s *Store) RevokeAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.changeToken(ctx, "revoke", id,
		`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, s.stamp(at), id)
}

// TouchAPIToken records a use of a token.
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return s.changeToken(ctx, "touch", id, `UPDATE api_tokens SET last_used = $1 WHERE id = $2`, s.stamp(at), id)
}

// changeToken runs one statement on the token row id, with ErrNotFound
// when it matched nothing.
func (s *Store) changeToken(ctx context.Context, op, id, query string, args ...any) error {
	if id == "" {
		return fmt.Errorf("postgres: %s api token: id is empty", op)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s api token %q: %w", op, id, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s api token %q: %w", op, id, engine.ErrNotFound)
	}
	return nil
}

func scanToken(r pgx.Row) (engine.APIToken, error) {
	var t engine.APIToken
	var created time.Time
	var used, revoked *time.Time
	if err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Hint, &created, &used, &revoked); err != nil {
		return engine.APIToken{}, err
	}
	t.CreatedAt = created.UTC()
	t.LastUsed = fromNull(used)
	t.RevokedAt = fromNull(revoked)
	return t, nil
}
