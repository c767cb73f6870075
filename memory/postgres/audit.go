package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

const auditCols = `id, time, kind, user_id, session_id, tool, input, output, outcome, error,
	duration_ns, bytes, detail`

// RecordAudit appends an entry (Time: the store's clock when zero) and
// returns its id.
func (s *Store) RecordAudit(ctx context.Context, e engine.AuditEntry) (int64, error) {
	if e.Kind == "" {
		return 0, errors.New("postgres: record audit: kind is empty")
	}
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO audit (time, kind, user_id, session_id, tool, input, output,
		outcome, error, duration_ns, bytes, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		s.stamp(e.Time), e.Kind, e.UserID, e.SessionID, e.Tool, e.Input, e.Output, e.Outcome, e.Error,
		int64(e.Duration), e.Bytes, e.Detail).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("postgres: record audit: %w", s.poolErr(err))
	}
	return id, nil
}

// ListAudit returns the entries matching every non-zero field of f (Since:
// at or after), newest first, at most f.Limit (0: all).
func (s *Store) ListAudit(ctx context.Context, f engine.AuditFilter) ([]engine.AuditEntry, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("postgres: list audit: negative limit %d", f.Limit)
	}
	out, err := queryAll(ctx, s, scanAudit, `SELECT `+auditCols+` FROM audit
		WHERE ($1 = '' OR user_id = $1) AND ($2 = '' OR tool = $2) AND ($3 = '' OR kind = $3)
		AND ($4::timestamptz IS NULL OR time >= $4)
		ORDER BY time DESC, id DESC LIMIT $5`,
		f.UserID, f.Tool, f.Kind, nullTime(f.Since), limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list audit: %w", err)
	}
	return out, nil
}

func scanAudit(r pgx.Row) (engine.AuditEntry, error) {
	var e engine.AuditEntry
	var at time.Time
	var dur int64
	if err := r.Scan(&e.ID, &at, &e.Kind, &e.UserID, &e.SessionID, &e.Tool, &e.Input, &e.Output,
		&e.Outcome, &e.Error, &dur, &e.Bytes, &e.Detail); err != nil {
		return engine.AuditEntry{}, err
	}
	e.Time = at.UTC()
	e.Duration = time.Duration(dur)
	return e, nil
}
