package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const secretCols = `user_id, name, ciphertext, created_at, updated_at, last_used`

func secretKey(op, userID, name string) error {
	if userID == "" || name == "" {
		return fmt.Errorf("postgres: %s secret: user id and name are required, got %q/%q", op, userID, name)
	}
	return nil
}

// PutSecret creates or replaces a secret. Replacing keeps CreatedAt and
// takes the new Ciphertext, UpdatedAt (the store's clock when zero) and
// LastUsed (zero: never used).
func (s *Store) PutSecret(ctx context.Context, sec engine.StoredSecret) error {
	if err := secretKey("put", sec.UserID, sec.Name); err != nil {
		return err
	}
	if len(sec.Ciphertext) == 0 {
		return fmt.Errorf("postgres: put secret %q: empty ciphertext", sec.Name)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	now := ts(s.now())
	created, updated := now, now
	if !sec.CreatedAt.IsZero() {
		created = ts(sec.CreatedAt)
	}
	if !sec.UpdatedAt.IsZero() {
		updated = ts(sec.UpdatedAt)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO secrets (`+secretCols+`) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (user_id, name) DO UPDATE SET ciphertext = excluded.ciphertext,
		updated_at = excluded.updated_at, last_used = excluded.last_used`,
		sec.UserID, sec.Name, sec.Ciphertext, created, updated, nullTime(sec.LastUsed))
	if err != nil {
		return fmt.Errorf("postgres: put secret %q: %w", sec.Name, s.poolErr(err))
	}
	return nil
}

// GetSecret returns one of a user's secrets; ErrNotFound when missing.
func (s *Store) GetSecret(ctx context.Context, userID, name string) (engine.StoredSecret, error) {
	if err := s.check(ctx); err != nil {
		return engine.StoredSecret{}, err
	}
	sec, err := scanSecret(s.pool.QueryRow(ctx, `SELECT `+secretCols+` FROM secrets
		WHERE user_id = $1 AND name = $2`, userID, name))
	if err != nil {
		return sec, fmt.Errorf("postgres: get secret %q of %q: %w", name, userID, s.poolErr(noRows(err)))
	}
	return sec, nil
}

// ListSecrets lists a user's secrets ordered by name.
func (s *Store) ListSecrets(ctx context.Context, userID string) ([]engine.StoredSecret, error) {
	out, err := queryAll(ctx, s, scanSecret, `SELECT `+secretCols+` FROM secrets
		WHERE user_id = $1 ORDER BY name`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list secrets of %q: %w", userID, err)
	}
	return out, nil
}

// DeleteSecret removes a secret; ErrNotFound when missing.
func (s *Store) DeleteSecret(ctx context.Context, userID, name string) error {
	return s.changeSecret(ctx, "delete", userID, name,
		`DELETE FROM secrets WHERE user_id = $1 AND name = $2`, userID, name)
}

// TouchSecret records that a secret was used at at (the store's clock
// when zero); ErrNotFound when missing.
func (s *Store) TouchSecret(ctx context.Context, userID, name string, at time.Time) error {
	return s.changeSecret(ctx, "touch", userID, name,
		`UPDATE secrets SET last_used = $3 WHERE user_id = $1 AND name = $2`, userID, name, s.stamp(at))
}

func (s *Store) changeSecret(ctx context.Context, op, userID, name, query string, args ...any) error {
	if err := secretKey(op, userID, name); err != nil {
		return err
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s secret %q of %q: %w", op, name, userID, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s secret %q of %q: %w", op, name, userID, engine.ErrNotFound)
	}
	return nil
}

func scanSecret(r pgx.Row) (engine.StoredSecret, error) {
	var sec engine.StoredSecret
	var created, updated time.Time
	var used *time.Time
	if err := r.Scan(&sec.UserID, &sec.Name, &sec.Ciphertext, &created, &updated, &used); err != nil {
		return engine.StoredSecret{}, err
	}
	sec.CreatedAt = created.UTC()
	sec.UpdatedAt = updated.UTC()
	sec.LastUsed = fromNull(used)
	return sec, nil
}
