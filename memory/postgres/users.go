package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const (
	userCols     = `id, name, role, timezone, created_at`
	identityCols = `channel, platform_id, user_id, display_name, created_at`
)

func validRole(r engine.UserRole) bool { return r == engine.RoleOwner || r == engine.RoleMember }

func validateUser(u engine.User) error {
	switch {
	case u.ID == "":
		return errors.New("user id is empty")
	case !validRole(u.Role):
		return fmt.Errorf("user %q: role must be %q or %q, got %q", u.ID, engine.RoleOwner, engine.RoleMember, u.Role)
	}
	return nil
}

// CreateUser stores a new user; ErrConflict when the id is taken.
func (s *Store) CreateUser(ctx context.Context, u engine.User) error {
	if err := validateUser(u); err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5)`,
		u.ID, u.Name, string(u.Role), u.Timezone, s.stamp(u.CreatedAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create user %q: %w", u.ID, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user %q: %w", u.ID, s.poolErr(err))
	}
	return nil
}

// GetUser returns a user; ErrNotFound when there is none.
func (s *Store) GetUser(ctx context.Context, id string) (engine.User, error) {
	if err := s.check(ctx); err != nil {
		return engine.User{}, err
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return u, fmt.Errorf("postgres: get user %q: %w", id, s.poolErr(noRows(err)))
	}
	return u, nil
}

// UpdateUser saves Name, Role and Timezone; ErrNotFound when there is no
// such user.
func (s *Store) UpdateUser(ctx context.Context, u engine.User) error {
	if err := validateUser(u); err != nil {
		return fmt.Errorf("postgres: update user: %w", err)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE users SET name = $1, role = $2, timezone = $3 WHERE id = $4`,
		u.Name, string(u.Role), u.Timezone, u.ID)
	if err != nil {
		return fmt.Errorf("postgres: update user %q: %w", u.ID, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: update user %q: %w", u.ID, engine.ErrNotFound)
	}
	return nil
}

// ListUsers lists every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]engine.User, error) {
	out, err := queryAll(ctx, s, scanUser, `SELECT `+userCols+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", err)
	}
	return out, nil
}

// LinkIdentity attaches a platform identity to a user. Linking it again to
// the same user updates its display name; ErrConflict when it belongs to
// another user, ErrNotFound when the user does not exist.
func (s *Store) LinkIdentity(ctx context.Context, id engine.Identity) error {
	switch {
	case id.Channel == "" || id.PlatformID == "":
		return fmt.Errorf("postgres: link identity: channel and platform id are required, got %q/%q", id.Channel, id.PlatformID)
	case id.UserID == "":
		return fmt.Errorf("postgres: link identity %s/%s: user id is empty", id.Channel, id.PlatformID)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	var owner string
	err := s.pool.QueryRow(ctx, `INSERT INTO identities (`+identityCols+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (channel, platform_id) DO UPDATE SET display_name = excluded.display_name
		WHERE identities.user_id = excluded.user_id
		RETURNING user_id`,
		id.Channel, id.PlatformID, id.UserID, id.DisplayName, s.stamp(id.CreatedAt)).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("already linked to another user: %w", engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: link identity %s/%s: %w", id.Channel, id.PlatformID, s.poolErr(missingRef(err)))
	}
	return nil
}

// IdentityFor finds who a platform sender is; ErrNotFound if unknown.
func (s *Store) IdentityFor(ctx context.Context, channel, platformID string) (engine.Identity, error) {
	if err := s.check(ctx); err != nil {
		return engine.Identity{}, err
	}
	id, err := scanIdentity(s.pool.QueryRow(ctx, `SELECT `+identityCols+` FROM identities
		WHERE channel = $1 AND platform_id = $2`, channel, platformID))
	if err != nil {
		return id, fmt.Errorf("postgres: identity %s/%s: %w", channel, platformID, s.poolErr(noRows(err)))
	}
	return id, nil
}

// ListIdentities lists a user's identities, oldest first.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]engine.Identity, error) {
	out, err := queryAll(ctx, s, scanIdentity, `SELECT `+identityCols+` FROM identities WHERE user_id = $1
		ORDER BY created_at, channel, platform_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list identities of %q: %w", userID, err)
	}
	return out, nil
}

func scanUser(r pgx.Row) (engine.User, error) {
	var u engine.User
	var role string
	var created time.Time
	if err := r.Scan(&u.ID, &u.Name, &role, &u.Timezone, &created); err != nil {
		return engine.User{}, err
	}
	u.Role = engine.UserRole(role)
	u.CreatedAt = created.UTC()
	return u, nil
}

func scanIdentity(r pgx.Row) (engine.Identity, error) {
	var id engine.Identity
	var created time.Time
	if err := r.Scan(&id.Channel, &id.PlatformID, &id.UserID, &id.DisplayName, &created); err != nil {
		return engine.Identity{}, err
	}
	id.CreatedAt = created.UTC()
	return id, nil
}

// queryAll runs a query on the pool and scans every row.
func queryAll[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), query string, args ...any) ([]T, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, s.poolErr(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, s.poolErr(rows.Err())
}
