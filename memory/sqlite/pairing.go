package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// CreatePairing stores a new pending request; ErrConflict when the code is
// taken.
func (s *Store) CreatePairing(ctx context.Context, p engine.PairingRequest) error {
	switch {
	case p.Code == "":
		return errors.New("sqlite: create pairing: code is empty")
	case p.Channel == "" || p.PlatformID == "":
		return fmt.Errorf("sqlite: create pairing %q: channel and platform id are required", p.Code)
	case p.ExpiresAt.IsZero():
		return fmt.Errorf("sqlite: create pairing %q: expiry is not set", p.Code)
	case p.Status != "" && p.Status != engine.PairingPending:
		return fmt.Errorf("sqlite: create pairing %q: a new request must be pending, got %q", p.Code, p.Status)
	}
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.w.createPairing.ExecContext(ctx, p.Code, p.Channel, p.PlatformID, p.DisplayName, p.Conversation,
			string(engine.PairingPending), p.UserID, micros(s.stamp(p.CreatedAt)), micros(p.ExpiresAt))
		return err
	})
	if isUniqueViolation(err) {
		return fmt.Errorf("sqlite: create pairing %q: %w", p.Code, engine.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create pairing %q: %w", p.Code, err)
	}
	return nil
}

// PendingPairingFor returns the sender's newest pending request that
// expires after now; ErrNotFound when there is none.
func (s *Store) PendingPairingFor(ctx context.Context, channel, platformID string, now time.Time) (engine.PairingRequest, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.PairingRequest{}, err
	}
	p, err := scanPairing(s.r.pendingPairingFor.QueryRowContext(ctx, channel, platformID, micros(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlite: pending pairing of %s/%s: %w", channel, platformID, engine.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: pending pairing of %s/%s: %w", channel, platformID, err)
	}
	return p, nil
}

// CountPendingPairings counts a channel's pending requests that expire
// after now.
func (s *Store) CountPendingPairings(ctx context.Context, channel string, now time.Time) (int, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.r.countPairings.QueryRowContext(ctx, channel, micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count pending pairings on %s: %w", channel, err)
	}
	return n, nil
}

// ListPendingPairings lists pending requests that expire after now,
// oldest first.
func (s *Store) ListPendingPairings(ctx context.Context, now time.Time) ([]engine.PairingRequest, error) {
	out, err := queryAll(ctx, s, s.r.listPendingPairings, scanPairing, micros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list pending pairings: %w", err)
	}
	return out, nil
}

// ResolvePairing moves a pending request that expires after now to
// approved (userID required) or denied, in one statement: of two
// concurrent calls for one code exactly one succeeds and the other gets
// ErrNotFound.
func (s *Store) ResolvePairing(ctx context.Context, code string, status engine.PairingStatus, userID string, now time.Time) (engine.PairingRequest, error) {
	switch {
	case status != engine.PairingApproved && status != engine.PairingDenied:
		return engine.PairingRequest{}, fmt.Errorf("sqlite: resolve pairing %q: status must be %q or %q, got %q",
			code, engine.PairingApproved, engine.PairingDenied, status)
	case status == engine.PairingApproved && userID == "":
		return engine.PairingRequest{}, fmt.Errorf("sqlite: resolve pairing %q: approval needs a user id", code)
	}
	var p engine.PairingRequest
	err := s.write(ctx, func(ctx context.Context) error {
		var err error
		p, err = scanPairing(s.w.resolvePairing.QueryRowContext(ctx, string(status), userID, micros(s.now()),
			code, micros(now)))
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlite: resolve pairing %q: no such pending, unexpired code: %w", code, engine.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: resolve pairing %q: %w", code, err)
	}
	return p, nil
}

func scanPairing(r scanner) (engine.PairingRequest, error) {
	var p engine.PairingRequest
	var status string
	var created, expires int64
	if err := r.Scan(&p.Code, &p.Channel, &p.PlatformID, &p.DisplayName, &p.Conversation, &status, &p.UserID,
		&created, &expires); err != nil {
		return engine.PairingRequest{}, err
	}
	p.Status = engine.PairingStatus(status)
	p.CreatedAt = fromMicros(created)
	p.ExpiresAt = fromMicros(expires)
	return p, nil
}
