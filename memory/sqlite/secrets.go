package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func secretKey(op, userID, name string) error {
	if userID == "" || name == "" {
		return fmt.Errorf("sqlite: %s secret: user id and name are required, got %q/%q", op, userID, name)
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
		return fmt.Errorf("sqlite: put secret %q: empty ciphertext", sec.Name)
	}
	now := s.now()
	created, updated := sec.CreatedAt, sec.UpdatedAt
	if created.IsZero() {
		created = now
	}
	if updated.IsZero() {
		updated = now
	}
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.w.putSecret.ExecContext(ctx, sec.UserID, sec.Name, sec.Ciphertext, micros(created),
			micros(updated), nullMicros(sec.LastUsed))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put secret %q: %w", sec.Name, err)
	}
	return nil
}

// GetSecret returns one of a user's secrets; ErrNotFound when missing.
func (s *Store) GetSecret(ctx context.Context, userID, name string) (engine.StoredSecret, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.StoredSecret{}, err
	}
	sec, err := scanSecret(s.r.getSecret.QueryRowContext(ctx, userID, name))
	if errors.Is(err, sql.ErrNoRows) {
		return sec, fmt.Errorf("sqlite: get secret %q of %q: %w", name, userID, engine.ErrNotFound)
	}
	if err != nil {
		return sec, fmt.Errorf("sqlite: get secret %q of %q: %w", name, userID, err)
	}
	return sec, nil
}

// ListSecrets lists a user's secrets ordered by name.
func (s *Store) ListSecrets(ctx context.Context, userID string) ([]engine.StoredSecret, error) {
	out, err := queryAll(ctx, s, s.r.listSecrets, scanSecret, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list secrets of %q: %w", userID, err)
	}
	return out, nil
}

// DeleteSecret removes a secret; ErrNotFound when missing.
func (s *Store) DeleteSecret(ctx context.Context, userID, name string) error {
	return s.changeSecret(ctx, "delete", userID, name, s.w.deleteSecret, userID, name)
}

// TouchSecret records that a secret was used at at (the store's clock
// when zero); ErrNotFound when missing.
func (s *Store) TouchSecret(ctx context.Context, userID, name string, at time.Time) error {
	return s.changeSecret(ctx, "touch", userID, name, s.w.touchSecret, micros(s.stamp(at)), userID, name)
}

func (s *Store) changeSecret(ctx context.Context, op, userID, name string, st *sql.Stmt, args ...any) error {
	if err := secretKey(op, userID, name); err != nil {
		return err
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s secret %q of %q: %w", op, name, userID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s secret %q of %q: %w", op, name, userID, engine.ErrNotFound)
	}
	return nil
}

func scanSecret(r scanner) (engine.StoredSecret, error) {
	var sec engine.StoredSecret
	var created, updated int64
	var used sql.NullInt64
	if err := r.Scan(&sec.UserID, &sec.Name, &sec.Ciphertext, &created, &updated, &used); err != nil {
		return engine.StoredSecret{}, err
	}
	sec.CreatedAt = fromMicros(created)
	sec.UpdatedAt = fromMicros(updated)
	sec.LastUsed = fromNullMicros(used)
	return sec, nil
}
