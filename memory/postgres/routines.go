package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

// The scheduler's tables (migration 00002): routines here, heartbeats and
// job_runs in runs.go.

var _ engine.JobStore = (*Store)(nil)

const routineCols = `id, user_id, name, prompt, schedule_kind, cron, every_ns, at, timezone, session, deliver,
	from_channel, from_conversation, from_thread, missed, status, status_reason, last_slot, last_run_at,
	next_run_at, failures, run_requested_at, created_at, updated_at`

// CreateRoutine stores a new routine; see engine.RoutineStore.
func (s *Store) CreateRoutine(ctx context.Context, r engine.Routine) error {
	if r.Status == "" {
		r.Status = engine.RoutineActive
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("postgres: create routine %q: %w", r.ID, err)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	created := s.stamp(r.CreatedAt)
	updated := created
	if !r.UpdatedAt.IsZero() {
		updated = ts(r.UpdatedAt)
	}
	sc, f := r.Schedule, r.CreatedFrom
	_, err := s.pool.Exec(ctx, `INSERT INTO routines (`+routineCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
		NULL, $22, $23)`,
		r.ID, r.UserID, r.Name, r.Prompt, string(sc.Kind), sc.Cron, int64(sc.Every), nullTime(sc.At),
		sc.Timezone, string(r.Session), string(r.Deliver), f.Channel, f.Conversation, f.Thread,
		string(r.Missed), string(r.Status), r.StatusReason, nullTime(r.LastSlot), nullTime(r.LastRunAt),
		nullTime(r.NextRunAt), r.Failures, created, updated)
	if isUniqueViolation(err) {
		err = engine.ErrConflict
	}
	if err != nil {
		return fmt.Errorf("postgres: create routine %q: %w", r.ID, s.poolErr(missingRef(err)))
	}
	return nil
}

// GetRoutine returns a routine; ErrNotFound when there is none.
func (s *Store) GetRoutine(ctx context.Context, id string) (engine.Routine, error) {
	if err := s.check(ctx); err != nil {
		return engine.Routine{}, err
	}
	r, err := scanRoutine(s.pool.QueryRow(ctx, `SELECT `+routineCols+` FROM routines WHERE id = $1`, id))
	if err != nil {
		return r, fmt.Errorf("postgres: get routine %q: %w", id, s.poolErr(noRows(err)))
	}
	return r, nil
}

// ListRoutines lists a user's routines (everyone's for ""), oldest first.
func (s *Store) ListRoutines(ctx context.Context, userID string) ([]engine.Routine, error) {
	var out []engine.Routine
	var err error
	if userID == "" {
		out, err = queryAll(ctx, s, scanRoutine, `SELECT `+routineCols+` FROM routines ORDER BY created_at, id`)
	} else {
		out, err = queryAll(ctx, s, scanRoutine, `SELECT `+routineCols+` FROM routines WHERE user_id = $1
			ORDER BY created_at, id`, userID)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: list routines: %w", err)
	}
	return out, nil
}

// UpdateRoutine saves a routine's definition; see engine.RoutineStore.
func (s *Store) UpdateRoutine(ctx context.Context, r engine.Routine) error {
	if r.Status == "" {
		r.Status = engine.RoutineActive // not written; only to pass validation
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("postgres: update routine %q: %w", r.ID, err)
	}
	sc := r.Schedule
	return s.changeRoutine(ctx, "update routine", r.ID, `UPDATE routines SET name = $1, prompt = $2,
		schedule_kind = $3, cron = $4, every_ns = $5, at = $6, timezone = $7, session = $8, deliver = $9,
		missed = $10, updated_at = $11 WHERE id = $12`,
		r.Name, r.Prompt, string(sc.Kind), sc.Cron, int64(sc.Every), nullTime(sc.At), sc.Timezone,
		string(r.Session), string(r.Deliver), string(r.Missed), s.stamp(r.UpdatedAt), r.ID)
}

// UpdateRoutineState saves the run state of a routine.
func (s *Store) UpdateRoutineState(ctx context.Context, id string, st engine.RoutineState) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("postgres: update routine state %q: %w", id, err)
	}
	return s.changeRoutine(ctx, "update routine state", id, `UPDATE routines SET status = $1,
		status_reason = $2, last_slot = $3, last_run_at = $4, next_run_at = $5, failures = $6 WHERE id = $7`,
		string(st.Status), st.StatusReason, nullTime(st.LastSlot), nullTime(st.LastRunAt),
		nullTime(st.NextRunAt), st.Failures, id)
}

// DeleteRoutine removes a routine; ErrNotFound when there is none.
func (s *Store) DeleteRoutine(ctx context.Context, id string) error {
	return s.changeRoutine(ctx, "delete routine", id, `DELETE FROM routines WHERE id = $1`, id)
}

// RequestRoutineRun records a request to run the routine once, soon.
func (s *Store) RequestRoutineRun(ctx context.Context, id string, at time.Time) error {
	return s.changeRoutine(ctx, "request routine run", id,
		`UPDATE routines SET run_requested_at = $1 WHERE id = $2`, s.stamp(at), id)
}

// ClaimRoutineRun clears a pending run request and returns its time, in
// one statement that locks the row: of several callers, from any number
// of processes, exactly one gets true.
func (s *Store) ClaimRoutineRun(ctx context.Context, id string) (time.Time, bool, error) {
	if err := s.check(ctx); err != nil {
		return time.Time{}, false, err
	}
	var at time.Time
	err := s.pool.QueryRow(ctx, `UPDATE routines r SET run_requested_at = NULL
		FROM (SELECT id, run_requested_at FROM routines
		      WHERE id = $1 AND run_requested_at IS NOT NULL FOR UPDATE) old
		WHERE r.id = old.id
		RETURNING old.run_requested_at`, id).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: claim routine run %q: %w", id, s.poolErr(err))
	}
	return at.UTC(), true, nil
}

// changeRoutine runs one statement on the routine row id, with
// ErrNotFound when it matched nothing.
func (s *Store) changeRoutine(ctx context.Context, op, id, query string, args ...any) error {
	if id == "" {
		return fmt.Errorf("postgres: %s: id is empty", op)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("postgres: %s %q: %w", op, id, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s %q: %w", op, id, engine.ErrNotFound)
	}
	return nil
}

func scanRoutine(r pgx.Row) (engine.Routine, error) {
	var rt engine.Routine
	sc, f := &rt.Schedule, &rt.CreatedFrom
	var kind, session, deliver, missed, status string
	var every int64
	var created, updated time.Time
	var at, lastSlot, lastRun, nextRun, requested *time.Time
	if err := r.Scan(&rt.ID, &rt.UserID, &rt.Name, &rt.Prompt, &kind, &sc.Cron, &every, &at, &sc.Timezone,
		&session, &deliver, &f.Channel, &f.Conversation, &f.Thread, &missed, &status, &rt.StatusReason,
		&lastSlot, &lastRun, &nextRun, &rt.Failures, &requested, &created, &updated); err != nil {
		return engine.Routine{}, err
	}
	sc.Kind, sc.Every, sc.At = engine.ScheduleKind(kind), time.Duration(every), fromNull(at)
	rt.Session, rt.Deliver, rt.Missed = engine.RoutineSession(session), engine.DeliveryMode(deliver), engine.MissedPolicy(missed)
	rt.Status = engine.RoutineStatus(status)
	rt.LastSlot, rt.LastRunAt, rt.NextRunAt = fromNull(lastSlot), fromNull(lastRun), fromNull(nextRun)
	rt.RunRequestedAt = fromNull(requested)
	rt.CreatedAt, rt.UpdatedAt = created.UTC(), updated.UTC()
	return rt, nil
}
