package sqlite

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// RecordAudit appends an entry (Time: the store's clock when zero) and
// returns its id.
func (s *Store) RecordAudit(ctx context.Context, e engine.AuditEntry) (int64, error) {
	if e.Kind == "" {
		return 0, errors.New("sqlite: record audit: kind is empty")
	}
	var id int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.w.insertAudit.ExecContext(ctx, micros(s.stamp(e.Time)), e.Kind, e.UserID, e.SessionID,
			e.Tool, e.Input, e.Output, e.Outcome, e.Error, int64(e.Duration), e.Bytes, e.Detail)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: record audit: %w", err)
	}
	return id, nil
}

// ListAudit returns the entries matching every non-zero field of f (Since:
// at or after), newest first, at most f.Limit (0: all).
func (s *Store) ListAudit(ctx context.Context, f engine.AuditFilter) ([]engine.AuditEntry, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("sqlite: list audit: negative limit %d", f.Limit)
	}
	since := int64(-1 << 63)
	if !f.Since.IsZero() {
		since = micros(f.Since)
	}
	out, err := queryAll(ctx, s, s.r.listAudit, scanAudit, f.UserID, f.Tool, f.Kind, since, sqlLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list audit: %w", err)
	}
	return out, nil
}

func scanAudit(r scanner) (engine.AuditEntry, error) {
	var e engine.AuditEntry
	var at, dur int64
	if err := r.Scan(&e.ID, &at, &e.Kind, &e.UserID, &e.SessionID, &e.Tool, &e.Input, &e.Output,
		&e.Outcome, &e.Error, &dur, &e.Bytes, &e.Detail); err != nil {
		return engine.AuditEntry{}, err
	}
	e.Time = fromMicros(at)
	e.Duration = time.Duration(dur)
	return e, nil
}
