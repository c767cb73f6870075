package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// The scheduler's tables (migration 00003): routines, heartbeats and
// job_runs. These statements are not prepared at Open: the scheduler's
// traffic is a few statements per run, where preparing per call costs
// microseconds.

var _ engine.JobStore = (*Store)(nil)

const (
	routineCols = `id, user_id, name, prompt, schedule_kind, cron, every_ns, at, timezone, session, deliver,
		from_channel, from_conversation, from_thread, missed, status, status_reason, last_slot, last_run_at,
		next_run_at, failures, run_requested_at, created_at, updated_at`
	heartbeatCols = `user_id, paused, pause_reason, target_channel, target_conversation, target_thread,
		last_slot, last_run_at, failures, last_alert_hash, last_alert_at, budget_notice_day, updated_at`
	runCols = `run_id, kind, user_id, routine_id, scheduled_at, started_at, finished_at, outcome, detail,
		input_tokens, output_tokens, delivered, suppressed, target_channel, target_conversation, target_thread`
)

// CreateRoutine stores a new routine; see engine.RoutineStore.
func (s *Store) CreateRoutine(ctx context.Context, r engine.Routine) error {
	if r.Status == "" {
		r.Status = engine.RoutineActive
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sqlite: create routine %q: %w", r.ID, err)
	}
	created := s.stamp(r.CreatedAt)
	updated := r.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	sc, f := r.Schedule, r.CreatedFrom
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.wconn.ExecContext(ctx, `INSERT INTO routines (`+routineCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`,
			r.ID, r.UserID, r.Name, r.Prompt, string(sc.Kind), sc.Cron, int64(sc.Every), nullMicros(sc.At),
			sc.Timezone, string(r.Session), string(r.Deliver), f.Channel, f.Conversation, f.Thread,
			string(r.Missed), string(r.Status), r.StatusReason, nullMicros(r.LastSlot), nullMicros(r.LastRunAt),
			nullMicros(r.NextRunAt), r.Failures, micros(created), micros(updated))
		switch {
		case isUniqueViolation(err):
			return engine.ErrConflict
		case isForeignKeyViolation(err):
			return fmt.Errorf("user %q: %w", r.UserID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create routine %q: %w", r.ID, err)
	}
	return nil
}

// GetRoutine returns a routine; ErrNotFound when there is none.
func (s *Store) GetRoutine(ctx context.Context, id string) (engine.Routine, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Routine{}, err
	}
	r, err := scanRoutine(s.rdb.QueryRowContext(rctx, `SELECT `+routineCols+` FROM routines WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite: get routine %q: %w", id, engine.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: get routine %q: %w", id, err)
	}
	return r, nil
}

// ListRoutines lists a user's routines (everyone's for ""), oldest first.
func (s *Store) ListRoutines(ctx context.Context, userID string) ([]engine.Routine, error) {
	out, err := queryRows(ctx, s, scanRoutine, `SELECT `+routineCols+` FROM routines
		WHERE ?1 = '' OR user_id = ?1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list routines: %w", err)
	}
	return out, nil
}

// UpdateRoutine saves a routine's definition; see engine.RoutineStore.
func (s *Store) UpdateRoutine(ctx context.Context, r engine.Routine) error {
	if r.Status == "" {
		r.Status = engine.RoutineActive // not written; only to pass validation
	}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("sqlite: update routine %q: %w", r.ID, err)
	}
	sc := r.Schedule
	return s.changeRoutine(ctx, "update routine", r.ID, `UPDATE routines SET name = ?, prompt = ?,
		schedule_kind = ?, cron = ?, every_ns = ?, at = ?, timezone = ?, session = ?, deliver = ?, missed = ?,
		updated_at = ? WHERE id = ?`,
		r.Name, r.Prompt, string(sc.Kind), sc.Cron, int64(sc.Every), nullMicros(sc.At), sc.Timezone,
		string(r.Session), string(r.Deliver), string(r.Missed), micros(s.stamp(r.UpdatedAt)), r.ID)
}

// UpdateRoutineState saves the run state of a routine.
func (s *Store) UpdateRoutineState(ctx context.Context, id string, st engine.RoutineState) error {
	if err := st.Validate(); err != nil {
		return fmt.Errorf("sqlite: update routine state %q: %w", id, err)
	}
	return s.changeRoutine(ctx, "update routine state", id, `UPDATE routines SET status = ?, status_reason = ?,
		last_slot = ?, last_run_at = ?, next_run_at = ?, failures = ? WHERE id = ?`,
		string(st.Status), st.StatusReason, nullMicros(st.LastSlot), nullMicros(st.LastRunAt),
		nullMicros(st.NextRunAt), st.Failures, id)
}

// DeleteRoutine removes a routine; ErrNotFound when there is none.
func (s *Store) DeleteRoutine(ctx context.Context, id string) error {
	return s.changeRoutine(ctx, "delete routine", id, `DELETE FROM routines WHERE id = ?`, id)
}

// RequestRoutineRun records a request to run the routine once, soon.
func (s *Store) RequestRoutineRun(ctx context.Context, id string, at time.Time) error {
	return s.changeRoutine(ctx, "request routine run", id,
		`UPDATE routines SET run_requested_at = ? WHERE id = ?`, micros(s.stamp(at)), id)
}

// ClaimRoutineRun clears a pending run request and returns its time; of
// several callers exactly one gets true.
func (s *Store) ClaimRoutineRun(ctx context.Context, id string) (time.Time, bool, error) {
	var at sql.NullInt64
	err := s.tx(ctx, func(ctx context.Context) error {
		err := s.wconn.QueryRowContext(ctx, `SELECT run_requested_at FROM routines
			WHERE id = ? AND run_requested_at IS NOT NULL`, id).Scan(&at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = s.wconn.ExecContext(ctx, `UPDATE routines SET run_requested_at = NULL WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: claim routine run %q: %w", id, err)
	}
	return fromNullMicros(at), at.Valid, nil
}

// changeRoutine runs one statement on the routine row id, with
// ErrNotFound when it matched nothing.
func (s *Store) changeRoutine(ctx context.Context, op, id, query string, args ...any) error {
	if id == "" {
		return fmt.Errorf("sqlite: %s: id is empty", op)
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.wconn.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: %s %q: %w", op, id, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s %q: %w", op, id, engine.ErrNotFound)
	}
	return nil
}

func scanRoutine(r scanner) (engine.Routine, error) {
	var rt engine.Routine
	sc, f := &rt.Schedule, &rt.CreatedFrom
	var kind, session, deliver, missed, status string
	var every, created, updated int64
	var at, lastSlot, lastRun, nextRun, requested sql.NullInt64
	if err := r.Scan(&rt.ID, &rt.UserID, &rt.Name, &rt.Prompt, &kind, &sc.Cron, &every, &at, &sc.Timezone,
		&session, &deliver, &f.Channel, &f.Conversation, &f.Thread, &missed, &status, &rt.StatusReason,
		&lastSlot, &lastRun, &nextRun, &rt.Failures, &requested, &created, &updated); err != nil {
		return engine.Routine{}, err
	}
	sc.Kind, sc.Every, sc.At = engine.ScheduleKind(kind), time.Duration(every), fromNullMicros(at)
	rt.Session, rt.Deliver, rt.Missed = engine.RoutineSession(session), engine.DeliveryMode(deliver), engine.MissedPolicy(missed)
	rt.Status = engine.RoutineStatus(status)
	rt.LastSlot, rt.LastRunAt, rt.NextRunAt = fromNullMicros(lastSlot), fromNullMicros(lastRun), fromNullMicros(nextRun)
	rt.RunRequestedAt = fromNullMicros(requested)
	rt.CreatedAt, rt.UpdatedAt = fromMicros(created), fromMicros(updated)
	return rt, nil
}

// GetHeartbeat returns a user's heartbeat; ErrNotFound when none is stored.
func (s *Store) GetHeartbeat(ctx context.Context, userID string) (engine.HeartbeatState, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.HeartbeatState{}, err
	}
	h, err := scanHeartbeat(s.rdb.QueryRowContext(rctx, `SELECT `+heartbeatCols+` FROM heartbeats WHERE user_id = ?`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("sqlite: get heartbeat of %q: %w", userID, engine.ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("sqlite: get heartbeat of %q: %w", userID, err)
	}
	return h, nil
}

// PutHeartbeat creates or replaces a user's heartbeat (UpdatedAt: the
// store's clock when zero).
func (s *Store) PutHeartbeat(ctx context.Context, h engine.HeartbeatState) error {
	switch {
	case h.UserID == "":
		return errors.New("sqlite: put heartbeat: user id is empty")
	case h.Failures < 0:
		return fmt.Errorf("sqlite: put heartbeat of %q: negative failure count %d", h.UserID, h.Failures)
	}
	t := h.Target
	err := s.write(ctx, func(ctx context.Context) error {
		_, err := s.wconn.ExecContext(ctx, `INSERT INTO heartbeats (`+heartbeatCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason,
			target_channel = excluded.target_channel, target_conversation = excluded.target_conversation,
			target_thread = excluded.target_thread, last_slot = excluded.last_slot,
			last_run_at = excluded.last_run_at, failures = excluded.failures,
			last_alert_hash = excluded.last_alert_hash, last_alert_at = excluded.last_alert_at,
			budget_notice_day = excluded.budget_notice_day, updated_at = excluded.updated_at`,
			h.UserID, boolInt(h.Paused), h.PauseReason, t.Channel, t.Conversation, t.Thread,
			nullMicros(h.LastSlot), nullMicros(h.LastRunAt), h.Failures, h.LastAlertHash,
			nullMicros(h.LastAlertAt), h.BudgetNoticeDay, micros(s.stamp(h.UpdatedAt)))
		if isForeignKeyViolation(err) {
			return fmt.Errorf("user %q: %w", h.UserID, engine.ErrNotFound)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: put heartbeat of %q: %w", h.UserID, err)
	}
	return nil
}

// ListHeartbeats lists every stored heartbeat, by user id.
func (s *Store) ListHeartbeats(ctx context.Context) ([]engine.HeartbeatState, error) {
	out, err := queryRows(ctx, s, scanHeartbeat, `SELECT `+heartbeatCols+` FROM heartbeats ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list heartbeats: %w", err)
	}
	return out, nil
}

func scanHeartbeat(r scanner) (engine.HeartbeatState, error) {
	var h engine.HeartbeatState
	t := &h.Target
	var paused, updated int64
	var lastSlot, lastRun, lastAlert sql.NullInt64
	if err := r.Scan(&h.UserID, &paused, &h.PauseReason, &t.Channel, &t.Conversation, &t.Thread,
		&lastSlot, &lastRun, &h.Failures, &h.LastAlertHash, &lastAlert, &h.BudgetNoticeDay, &updated); err != nil {
		return engine.HeartbeatState{}, err
	}
	h.Paused = paused != 0
	h.LastSlot, h.LastRunAt, h.LastAlertAt = fromNullMicros(lastSlot), fromNullMicros(lastRun), fromNullMicros(lastAlert)
	h.UpdatedAt = fromMicros(updated)
	return h, nil
}

// StartRun records a started run; false when the run id exists.
func (s *Store) StartRun(ctx context.Context, r engine.RunRecord) (bool, error) {
	switch {
	case r.RunID == "":
		return false, errors.New("sqlite: start run: run id is empty")
	case r.UserID == "":
		return false, fmt.Errorf("sqlite: start run %q: user id is empty", r.RunID)
	case r.Kind != engine.RunHeartbeat && r.Kind != engine.RunRoutine:
		return false, fmt.Errorf("sqlite: start run %q: unknown kind %q (heartbeat or routine)", r.RunID, r.Kind)
	case r.ScheduledAt.IsZero():
		return false, fmt.Errorf("sqlite: start run %q: scheduled time is zero", r.RunID)
	}
	if r.Outcome == "" {
		r.Outcome = engine.RunRunning
	}
	if !validOutcome(r.Outcome) {
		return false, fmt.Errorf("sqlite: start run %q: unknown outcome %q", r.RunID, r.Outcome)
	}
	t := r.Target
	var inserted bool
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.wconn.ExecContext(ctx, `INSERT INTO job_runs (`+runCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
			r.RunID, string(r.Kind), r.UserID, r.RoutineID, micros(r.ScheduledAt), micros(s.stamp(r.StartedAt)),
			nullMicros(r.FinishedAt), string(r.Outcome), r.Detail, r.Usage.InputTokens, r.Usage.OutputTokens,
			boolInt(r.Delivered), boolInt(r.Suppressed), t.Channel, t.Conversation, t.Thread)
		if isForeignKeyViolation(err) {
			return fmt.Errorf("user %q: %w", r.UserID, engine.ErrNotFound)
		}
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		inserted = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: start run %q: %w", r.RunID, err)
	}
	return inserted, nil
}

func validOutcome(o engine.RunOutcome) bool {
	switch o {
	case engine.RunRunning, engine.RunOK, engine.RunFailed, engine.RunSkipped:
		return true
	}
	return false
}

// FinishRun saves the end of a run; ErrNotFound when it was never started.
func (s *Store) FinishRun(ctx context.Context, r engine.RunRecord) error {
	if !validOutcome(r.Outcome) {
		return fmt.Errorf("sqlite: finish run %q: unknown outcome %q", r.RunID, r.Outcome)
	}
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.wconn.ExecContext(ctx, `UPDATE job_runs SET finished_at = ?, outcome = ?, detail = ?,
			input_tokens = ?, output_tokens = ?, delivered = ?, suppressed = ? WHERE run_id = ?`,
			micros(s.stamp(r.FinishedAt)), string(r.Outcome), r.Detail, r.Usage.InputTokens, r.Usage.OutputTokens,
			boolInt(r.Delivered), boolInt(r.Suppressed), r.RunID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: finish run %q: %w", r.RunID, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: finish run %q: %w", r.RunID, engine.ErrNotFound)
	}
	return nil
}

// GetRun returns a run; ErrNotFound when there is none.
func (s *Store) GetRun(ctx context.Context, runID string) (engine.RunRecord, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.RunRecord{}, err
	}
	r, err := scanRun(s.rdb.QueryRowContext(rctx, `SELECT `+runCols+` FROM job_runs WHERE run_id = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("sqlite: get run %q: %w", runID, engine.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: get run %q: %w", runID, err)
	}
	return r, nil
}

// ListRuns lists matching runs, newest start first.
func (s *Store) ListRuns(ctx context.Context, f engine.RunFilter) ([]engine.RunRecord, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("sqlite: list runs: negative limit %d", f.Limit)
	}
	out, err := queryRows(ctx, s, scanRun, `SELECT `+runCols+` FROM job_runs
		WHERE (?1 = '' OR user_id = ?1) AND (?2 = '' OR routine_id = ?2) AND (?3 = '' OR kind = ?3)
		ORDER BY started_at DESC, run_id DESC LIMIT ?4`,
		f.UserID, f.RoutineID, string(f.Kind), sqlLimit(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list runs: %w", err)
	}
	return out, nil
}

// UsageSince sums the tokens of a user's runs started at or after since.
func (s *Store) UsageSince(ctx context.Context, userID string, since time.Time) (engine.Usage, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.Usage{}, err
	}
	var u engine.Usage
	err = s.rdb.QueryRowContext(rctx, `SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
		FROM job_runs WHERE user_id = ? AND started_at >= ?`, userID, micros(since)).Scan(&u.InputTokens, &u.OutputTokens)
	if err != nil {
		return engine.Usage{}, fmt.Errorf("sqlite: usage of %q: %w", userID, err)
	}
	return u, nil
}

// PruneRuns deletes finished runs started before before.
func (s *Store) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context) error {
		res, err := s.wconn.ExecContext(ctx, `DELETE FROM job_runs WHERE started_at < ? AND outcome <> 'running'`, micros(before))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune runs: %w", err)
	}
	return n, nil
}

func scanRun(r scanner) (engine.RunRecord, error) {
	var rr engine.RunRecord
	t := &rr.Target
	var kind, outcome string
	var scheduled, started int64
	var finished sql.NullInt64
	var delivered, suppressed int64
	if err := r.Scan(&rr.RunID, &kind, &rr.UserID, &rr.RoutineID, &scheduled, &started, &finished, &outcome,
		&rr.Detail, &rr.Usage.InputTokens, &rr.Usage.OutputTokens, &delivered, &suppressed,
		&t.Channel, &t.Conversation, &t.Thread); err != nil {
		return engine.RunRecord{}, err
	}
	rr.Kind, rr.Outcome = engine.RunKind(kind), engine.RunOutcome(outcome)
	rr.ScheduledAt, rr.StartedAt, rr.FinishedAt = fromMicros(scheduled), fromMicros(started), fromNullMicros(finished)
	rr.Delivered, rr.Suppressed = delivered != 0, suppressed != 0
	return rr, nil
}

// LastInbound returns the user's newest direct message on a real channel.
func (s *Store) LastInbound(ctx context.Context, userID string) (engine.StoredInbound, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.StoredInbound{}, err
	}
	m, err := scanInbound(s.rdb.QueryRowContext(rctx, `SELECT `+inboxCols+` FROM inbox INDEXED BY inbox_user_direct
		WHERE user_id = ? AND direct = 1 AND channel <> 'job' ORDER BY id DESC LIMIT 1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("sqlite: last inbound of %q: %w", userID, engine.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("sqlite: last inbound of %q: %w", userID, err)
	}
	return m, nil
}

// queryRows runs an unprepared query on the read pool and scans every row.
func queryRows[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(rctx, query, args...)
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
