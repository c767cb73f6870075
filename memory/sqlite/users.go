package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hearthbot/hearth/engine"
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
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.w.createUser.ExecContext(ctx, u.ID, u.Name, string(u.Role), u.Timezone, micros(s.stamp(u.CreatedAt)))
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create user %q: %w", u.ID, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create user %q: %w", u.ID, err)
	}
	return nil
}

// GetUser returns a user; ErrNotFound when there is none.
func (s *Store) GetUser(ctx context.Context, id string) (engine.User, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.User{}, err
	}
	u, err := scanUser(s.r.getUser.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("sqlite: get user %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("sqlite: get user %q: %w", id, err)
	}
	return u, nil
}

// UpdateUser saves Name, Role and Timezone; ErrNotFound when there is no
// such user.
func (s *Store) UpdateUser(ctx context.Context, u engine.User) error {
	if err := validateUser(u); err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.w.updateUser.ExecContext(ctx, u.Name, string(u.Role), u.Timezone, u.ID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update user %q: %w", u.ID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: update user %q: %w", u.ID, engine.ErrNotFound)
	}
	return nil
}

// ListUsers lists every user, oldest first.
func (s *Store) ListUsers(ctx context.Context) ([]engine.User, error) {
	out, err := queryAll(ctx, s, s.r.listUsers, scanUser)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return out, nil
}

// LinkIdentity attaches a platform identity to a user. Linking it again to
// the same user updates its display name; ErrConflict when it belongs to
// another user, ErrNotFound when the user does not exist.
func (s *Store) LinkIdentity(ctx context.Context, id engine.Identity) error {
	switch {
	case id.Channel == "" || id.PlatformID == "":
		return fmt.Errorf("sqlite: link identity: channel and platform id are required, got %q/%q", id.Channel, id.PlatformID)
	case id.UserID == "":
		return fmt.Errorf("sqlite: link identity %s/%s: user id is empty", id.Channel, id.PlatformID)
	}
	err := s.write(ctx, func(ctx context.Context) error {
		var owner string
		err := s.w.linkIdentity.QueryRowContext(ctx, id.Channel, id.PlatformID, id.UserID, id.DisplayName,
			micros(s.stamp(id.CreatedAt))).Scan(&owner)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("already linked to another user: %w", engine.ErrConflict)
		case isForeignKeyViolation(err):
			return fmt.Errorf("user %q: %w", id.UserID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: link identity %s/%s: %w", id.Channel, id.PlatformID, err)
	}
	return nil
}

// IdentityFor finds who a platform sender is; ErrNotFound if unknown.
func (s *Store) IdentityFor(ctx context.Context, channel, platformID string) (engine.Identity, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Identity{}, err
	}
	id, err := scanIdentity(s.r.identityFor.QueryRowContext(ctx, channel, platformID))
	if errors.Is(err, sql.ErrNoRows) {
		return id, fmt.Errorf("sqlite: identity %s/%s: %w", channel, platformID, engine.ErrNotFound)
	}
	if err != nil {
		return id, fmt.Errorf("sqlite: identity %s/%s: %w", channel, platformID, err)
	}
	return id, nil
}

// ListIdentities lists a user's identities, oldest first.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]engine.Identity, error) {
	out, err := queryAll(ctx, s, s.r.listIdentities, scanIdentity, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list identities of %q: %w", userID, err)
	}
	return out, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanUser(r scanner) (engine.User, error) {
	var u engine.User
	var role string
	var created int64
	if err := r.Scan(&u.ID, &u.Name, &role, &u.Timezone, &created); err != nil {
		return engine.User{}, err
	}
	u.Role = engine.UserRole(role)
	u.CreatedAt = fromMicros(created)
	return u, nil
}

func scanIdentity(r scanner) (engine.Identity, error) {
	var id engine.Identity
	var created int64
	if err := r.Scan(&id.Channel, &id.PlatformID, &id.UserID, &id.DisplayName, &created); err != nil {
		return engine.Identity{}, err
	}
	id.CreatedAt = fromMicros(created)
	return id, nil
}

// queryAll runs a reader statement and scans every row.
func queryAll[T any](ctx context.Context, s *Store, st *sql.Stmt, scan func(scanner) (T, error), args ...any) ([]T, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
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
	return out, rows.Err()
}
