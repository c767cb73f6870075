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
	heartbeatCols = `user_id, paused, pause_reason, target_channel, target_conversation, target_thread,
		last_slot, last_run_at, failures, last_alert_hash, last_alert_at, budget_notice_day, updated_at`
	runCols = `run_id, kind, user_id, routine_id, scheduled_at, started_at, finished_at, outcome, detail,
		input_tokens, output_tokens, delivered, suppressed, target_channel, target_conversation, target_thread`
)

// GetHeartbeat returns a user's heartbeat; ErrNotFound when none is stored.
func (s *Store) GetHeartbeat(ctx context.Context, userID string) (engine.HeartbeatState, error) {
	if err := s.check(ctx); err != nil {
		return engine.HeartbeatState{}, err
	}
	h, err := scanHeartbeat(s.pool.QueryRow(ctx, `SELECT `+heartbeatCols+` FROM heartbeats WHERE user_id = $1`, userID))
	if err != nil {
		return h, fmt.Errorf("postgres: get heartbeat of %q: %w", userID, s.poolErr(noRows(err)))
	}
	return h, nil
}

// PutHeartbeat creates or replaces a user's heartbeat (UpdatedAt: the
// store's clock when zero).
func (s *Store) PutHeartbeat(ctx context.Context, h engine.HeartbeatState) error {
	switch {
	case h.UserID == "":
		return errors.New("postgres: put heartbeat: user id is empty")
	case h.Failures < 0:
		return fmt.Errorf("postgres: put heartbeat of %q: negative failure count %d", h.UserID, h.Failures)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	t := h.Target
	_, err := s.pool.Exec(ctx, `INSERT INTO heartbeats (`+heartbeatCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (user_id) DO UPDATE SET paused = excluded.paused, pause_reason = excluded.pause_reason,
		target_channel = excluded.target_channel, target_conversation = excluded.target_conversation,
		target_thread = excluded.target_thread, last_slot = excluded.last_slot,
		last_run_at = excluded.last_run_at, failures = excluded.failures,
		last_alert_hash = excluded.last_alert_hash, last_alert_at = excluded.last_alert_at,
		budget_notice_day = excluded.budget_notice_day, updated_at = excluded.updated_at`,
		h.UserID, h.Paused, h.PauseReason, t.Channel, t.Conversation, t.Thread,
		nullTime(h.LastSlot), nullTime(h.LastRunAt), h.Failures, h.LastAlertHash,
		nullTime(h.LastAlertAt), h.BudgetNoticeDay, s.stamp(h.UpdatedAt))
	if err != nil {
		return fmt.Errorf("postgres: put heartbeat of %q: %w", h.UserID, s.poolErr(missingRef(err)))
	}
	return nil
}

// ListHeartbeats lists every stored heartbeat, by user id.
func (s *Store) ListHeartbeats(ctx context.Context) ([]engine.HeartbeatState, error) {
	out, err := queryAll(ctx, s, scanHeartbeat, `SELECT `+heartbeatCols+` FROM heartbeats ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list heartbeats: %w", err)
	}
	return out, nil
}

func scanHeartbeat(r pgx.Row) (engine.HeartbeatState, error) {
	var h engine.HeartbeatState
	t := &h.Target
	var updated time.Time
	var lastSlot, lastRun, lastAlert *time.Time
	if err := r.Scan(&h.UserID, &h.Paused, &h.PauseReason, &t.Channel, &t.Conversation, &t.Thread,
		&lastSlot, &lastRun, &h.Failures, &h.LastAlertHash, &lastAlert, &h.BudgetNoticeDay, &updated); err != nil {
		return engine.HeartbeatState{}, err
	}
	h.LastSlot, h.LastRunAt, h.LastAlertAt = fromNull(lastSlot), fromNull(lastRun), fromNull(lastAlert)
	h.UpdatedAt = updated.UTC()
	return h, nil
}

func validOutcome(o engine.RunOutcome) bool {
	switch o {
	case engine.RunRunning, engine.RunOK, engine.RunFailed, engine.RunSkipped:
		return true
	}
	return false
}

// StartRun records a started run; false when the run id exists. Of several
// processes starting one run id, exactly one gets true.
func (s *Store) StartRun(ctx context.Context, r engine.RunRecord) (bool, error) {
	switch {
	case r.RunID == "":
		return false, errors.New("postgres: start run: run id is empty")
	case r.UserID == "":
		return false, fmt.Errorf("postgres: start run %q: user id is empty", r.RunID)
	case r.Kind != engine.RunHeartbeat && r.Kind != engine.RunRoutine:
		return false, fmt.Errorf("postgres: start run %q: unknown kind %q (heartbeat or routine)", r.RunID, r.Kind)
	case r.ScheduledAt.IsZero():
		return false, fmt.Errorf("postgres: start run %q: scheduled time is zero", r.RunID)
	}
	if r.Outcome == "" {
		r.Outcome = engine.RunRunning
	}
	if !validOutcome(r.Outcome) {
		return false, fmt.Errorf("postgres: start run %q: unknown outcome %q", r.RunID, r.Outcome)
	}
	if err := s.check(ctx); err != nil {
		return false, err
	}
	t := r.Target
	tag, err := s.pool.Exec(ctx, `INSERT INTO job_runs (`+runCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (run_id) DO NOTHING`,
		r.RunID, string(r.Kind), r.UserID, r.RoutineID, ts(r.ScheduledAt), s.stamp(r.StartedAt),
		nullTime(r.FinishedAt), string(r.Outcome), r.Detail, r.Usage.InputTokens, r.Usage.OutputTokens,
		r.Delivered, r.Suppressed, t.Channel, t.Conversation, t.Thread)
	if err != nil {
		return false, fmt.Errorf("postgres: start run %q: %w", r.RunID, s.poolErr(missingRef(err)))
	}
	return tag.RowsAffected() == 1, nil
}

// FinishRun saves the end of a run; ErrNotFound when it was never started.
func (s *Store) FinishRun(ctx context.Context, r engine.RunRecord) error {
	if !validOutcome(r.Outcome) {
		return fmt.Errorf("postgres: finish run %q: unknown outcome %q", r.RunID, r.Outcome)
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE job_runs SET finished_at = $1, outcome = $2, detail = $3,
		input_tokens = $4, output_tokens = $5, delivered = $6, suppressed = $7 WHERE run_id = $8`,
		s.stamp(r.FinishedAt), string(r.Outcome), r.Detail, r.Usage.InputTokens, r.Usage.OutputTokens,
		r.Delivered, r.Suppressed, r.RunID)
	if err != nil {
		return fmt.Errorf("postgres: finish run %q: %w", r.RunID, s.poolErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: finish run %q: %w", r.RunID, engine.ErrNotFound)
	}
	return nil
}

// GetRun returns a run; ErrNotFound when there is none.
func (s *Store) GetRun(ctx context.Context, runID string) (engine.RunRecord, error) {
	if err := s.check(ctx); err != nil {
		return engine.RunRecord{}, err
	}
	r, err := scanRun(s.pool.QueryRow(ctx, `SELECT `+runCols+` FROM job_runs WHERE run_id = $1`, runID))
	if err != nil {
		return r, fmt.Errorf("postgres: get run %q: %w", runID, s.poolErr(noRows(err)))
	}
	return r, nil
}

// ListRuns lists matching runs, newest start first.
func (s *Store) ListRuns(ctx context.Context, f engine.RunFilter) ([]engine.RunRecord, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("postgres: list runs: negative limit %d", f.Limit)
	}
	out, err := queryAll(ctx, s, scanRun, `SELECT `+runCols+` FROM job_runs
		WHERE ($1 = '' OR user_id = $1) AND ($2 = '' OR routine_id = $2) AND ($3 = '' OR kind = $3)
		ORDER BY started_at DESC, run_id DESC LIMIT $4`,
		f.UserID, f.RoutineID, string(f.Kind), limitArg(f.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list runs: %w", err)
	}
	return out, nil
}

// UsageSince sums the tokens of a user's runs started at or after since.
func (s *Store) UsageSince(ctx context.Context, userID string, since time.Time) (engine.Usage, error) {
	if err := s.check(ctx); err != nil {
		return engine.Usage{}, err
	}
	var u engine.Usage
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0)
		FROM job_runs WHERE user_id = $1 AND started_at >= $2`, userID, ts(since)).Scan(&u.InputTokens, &u.OutputTokens)
	if err != nil {
		return engine.Usage{}, fmt.Errorf("postgres: usage of %q: %w", userID, s.poolErr(err))
	}
	return u, nil
}

// PruneRuns deletes finished runs started before before.
func (s *Store) PruneRuns(ctx context.Context, before time.Time) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM job_runs WHERE started_at < $1 AND outcome <> 'running'`, ts(before))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune runs: %w", s.poolErr(err))
	}
	return tag.RowsAffected(), nil
}

func scanRun(r pgx.Row) (engine.RunRecord, error) {
	var rr engine.RunRecord
	t := &rr.Target
	var kind, outcome string
	var scheduled, started time.Time
	var finished *time.Time
	if err := r.Scan(&rr.RunID, &kind, &rr.UserID, &rr.RoutineID, &scheduled, &started, &finished, &outcome,
		&rr.Detail, &rr.Usage.InputTokens, &rr.Usage.OutputTokens, &rr.Delivered, &rr.Suppressed,
		&t.Channel, &t.Conversation, &t.Thread); err != nil {
		return engine.RunRecord{}, err
	}
	rr.Kind, rr.Outcome = engine.RunKind(kind), engine.RunOutcome(outcome)
	rr.ScheduledAt, rr.StartedAt, rr.FinishedAt = scheduled.UTC(), started.UTC(), fromNull(finished)
	return rr, nil
}

// LastInbound returns the user's newest direct message on a real channel.
func (s *Store) LastInbound(ctx context.Context, userID string) (engine.StoredInbound, error) {
	if err := s.check(ctx); err != nil {
		return engine.StoredInbound{}, err
	}
	m, err := scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboxCols+` FROM inbox
		WHERE user_id = $1 AND direct AND channel <> 'job' ORDER BY id DESC LIMIT 1`, userID))
	if err != nil {
		return m, fmt.Errorf("postgres: last inbound of %q: %w", userID, s.poolErr(noRows(err)))
	}
	return m, nil
}
