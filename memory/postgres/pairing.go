package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const pairingCols = `code, channel, platform_id, display_name, conversation, status, user_id, created_at, expires_at`

// CreatePairing stores a new pending request; ErrConflict when the code is
// taken.
func (s *Store) CreatePairing(ctx context.Context, p engine.PairingRequest) error {
	switch {
	case p.Code == "":
		return errors.New("postgres: create pairing: code is empty")
	case p.Channel == "" || p.PlatformID == "":
		return fmt.Errorf("postgres: create pairing %q: channel and platform id are required", p.Code)
	case p.ExpiresAt.IsZero():
		return fmt.Errorf("postgres: create pairing %q: expiry is not set", p.Code)
	case p.Status != "" && p.Status != engine.PairingPending:
		return fmt.Errorf("postgres: create pairing %q: a new request must be pending, got %q", p.Code, p.Status)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO pairing_requests (`+pairingCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.Code, p.Channel, p.PlatformID, p.DisplayName, p.Conversation, string(engine.PairingPending), p.UserID,
		s.stamp(p.CreatedAt), ts(p.ExpiresAt))
	if isUniqueViolation(err) {
		return fmt.Errorf("postgres: create pairing %q: %w", p.Code, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create pairing %q: %w", p.Code, s.poolErr(err))
	}
	return nil
}

// PendingPairingFor returns the sender's newest pending request that
// expires after now; ErrNotFound when there is none.
func (s *Store) PendingPairingFor(ctx context.Context, channel, platformID string, now time.Time) (engine.PairingRequest, error) {
	if err := s.check(ctx); err != nil {
		return engine.PairingRequest{}, err
	}
	p, err := scanPairing(s.pool.QueryRow(ctx, `SELECT `+pairingCols+` FROM pairing_requests
		WHERE channel = $1 AND platform_id = $2 AND status = 'pending' AND expires_at > $3
		ORDER BY created_at DESC, code LIMIT 1`, channel, platformID, ts(now)))
	if err != nil {
		return p, fmt.Errorf("postgres: pending pairing of %s/%s: %w", channel, platformID, s.poolErr(noRows(err)))
	}
	return p, nil
}

// CountPendingPairings counts a channel's pending requests that expire
// after now.
func (s *Store) CountPendingPairings(ctx context.Context, channel string, now time.Time) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM pairing_requests
		WHERE channel = $1 AND status = 'pending' AND expires_at > $2`, channel, ts(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count pending pairings on %s: %w", channel, s.poolErr(err))
	}
	return n, nil
}

// ListPendingPairings lists pending requests that expire after now,
// oldest first.
func (s *Store) ListPendingPairings(ctx context.Context, now time.Time) ([]engine.PairingRequest, error) {
	out, err := queryAll(ctx, s, scanPairing, `SELECT `+pairingCols+` FROM pairing_requests
		WHERE status = 'pending' AND expires_at > $1 ORDER BY created_at, code`, ts(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: list pending pairings: %w", err)
	}
	return out, nil
}

// ResolvePairing moves a pending request that expires after now to
// approved (userID required) or denied, in one conditional UPDATE: of
// concurrent calls for one code, from any number of processes, exactly one
// succeeds and the others get ErrNotFound.
func (s *Store) ResolvePairing(ctx context.Context, code string, status engine.PairingStatus, userID string, now time.Time) (engine.PairingRequest, error) {
	switch {
	case status != engine.PairingApproved && status != engine.PairingDenied:
		return engine.PairingRequest{}, fmt.Errorf("postgres: resolve pairing %q: status must be %q or %q, got %q",
			code, engine.PairingApproved, engine.PairingDenied, status)
	case status == engine.PairingApproved && userID == "":
		return engine.PairingRequest{}, fmt.Errorf("postgres: resolve pairing %q: approval needs a user id", code)
	}
	if err := s.check(ctx); err != nil {
		return engine.PairingRequest{}, err
	}
	p, err := scanPairing(s.pool.QueryRow(ctx, `UPDATE pairing_requests
		SET status = $1, user_id = $2, resolved_at = $3
		WHERE code = $4 AND status = 'pending' AND expires_at > $5
		RETURNING `+pairingCols, string(status), userID, ts(s.now()), code, ts(now)))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("postgres: resolve pairing %q: no such pending, unexpired code: %w", code, engine.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("postgres: resolve pairing %q: %w", code, s.poolErr(err))
	}
	return p, nil
}

func scanPairing(r pgx.Row) (engine.PairingRequest, error) {
	var p engine.PairingRequest
	var status string
	var created, expires time.Time
	if err := r.Scan(&p.Code, &p.Channel, &p.PlatformID, &p.DisplayName, &p.Conversation, &status, &p.UserID,
		&created, &expires); err != nil {
		return engine.PairingRequest{}, err
	}
	p.Status = engine.PairingStatus(status)
	p.CreatedAt = created.UTC()
	p.ExpiresAt = expires.UTC()
	return p, nil
}
