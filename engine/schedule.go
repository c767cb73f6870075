package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Scheduling: what the scheduler (engine/schedule) persists for heartbeats
// and routines. The store is the source of truth: every process sharing a
// database rebuilds its timers from it, and a run is recorded under a run
// id that is unique across processes.

// ScheduleKind says how a routine's times are computed.
type ScheduleKind string

// Schedule kinds.
const (
	// ScheduleCron: a standard five-field cron expression (or a descriptor
	// such as @daily) read in Schedule.Timezone.
	ScheduleCron ScheduleKind = "cron"
	// ScheduleEvery: a fixed interval counted from the routine's CreatedAt.
	ScheduleEvery ScheduleKind = "every"
	// ScheduleOnce: one run at Schedule.At.
	ScheduleOnce ScheduleKind = "once"
)

// Schedule says when a routine runs.
type Schedule struct {
	Kind ScheduleKind `json:"kind"`
	// Cron is the expression of a ScheduleCron routine.
	Cron string `json:"cron,omitempty"`
	// Every is the interval of a ScheduleEvery routine.
	Every time.Duration `json:"every,omitempty"`
	// At is the instant of a ScheduleOnce routine.
	At time.Time `json:"at,omitzero"`
	// Timezone is the IANA zone the cron expression is read in and times
	// are shown in.
	Timezone string `json:"timezone,omitempty"`
}

// RoutineSession says which session a routine's runs use.
type RoutineSession string

// Routine sessions.
const (
	// SessionOwn: a session of the routine alone ("job:routine:ID"); its
	// runs never wait for, or appear in, the user's conversation.
	SessionOwn RoutineSession = "own"
	// SessionMain: the session of the conversation the routine was created
	// in; runs queue behind the user's messages and join that history.
	SessionMain RoutineSession = "main"
)

// DeliveryMode says where a routine's reply goes.
type DeliveryMode string

// Delivery modes.
const (
	// DeliverOrigin: the conversation the routine was created in.
	DeliverOrigin DeliveryMode = "origin"
	// DeliverLast: the conversation the user last wrote from.
	DeliverLast DeliveryMode = "last"
	// DeliverNone: nowhere; the run is recorded only.
	DeliverNone DeliveryMode = "none"
)

// MissedPolicy says what happens to a run that fell due while no process
// was running.
type MissedPolicy string

// Missed-run policies.
const (
	// MissedRunOnce: run the latest missed time once, at start.
	MissedRunOnce MissedPolicy = "run_once"
	// MissedSkip: wait for the next scheduled time.
	MissedSkip MissedPolicy = "skip"
)

// RoutineStatus is a routine's state.
type RoutineStatus string

// Routine statuses.
const (
	RoutineActive RoutineStatus = "active"
	// RoutinePaused: by the user, or after too many failures in a row.
	RoutinePaused RoutineStatus = "paused"
	// RoutineDone: a one-shot routine that has run.
	RoutineDone RoutineStatus = "done"
)

// Routine is a prompt a user asked to have run on a schedule ("every
// weekday at 8, summarise my notifications").
type Routine struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Name   string `json:"name"`
	// Prompt is what the agent is asked at each run.
	Prompt   string         `json:"prompt"`
	Schedule Schedule       `json:"schedule"`
	Session  RoutineSession `json:"session"`
	Deliver  DeliveryMode   `json:"deliver"`
	// CreatedFrom is the conversation the routine was created in: the
	// main session and the DeliverOrigin target.
	CreatedFrom Address      `json:"created_from"`
	Missed      MissedPolicy `json:"missed"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	RoutineState
	// RunRequestedAt is set by RequestRoutineRun until a scheduler claims
	// the request (ClaimRoutineRun); read-only otherwise.
	RunRequestedAt time.Time `json:"run_requested_at,omitzero"`
}

// RoutineState is what runs change on a routine; UpdateRoutineState
// writes exactly these fields.
type RoutineState struct {
	Status RoutineStatus `json:"status"`
	// StatusReason says why a routine is paused ("failed 5 times in a row").
	StatusReason string `json:"status_reason,omitempty"`
	// LastSlot is the scheduled time of the last run started.
	LastSlot  time.Time `json:"last_slot,omitzero"`
	LastRunAt time.Time `json:"last_run_at,omitzero"`
	// NextRunAt is the next scheduled time, for display.
	NextRunAt time.Time `json:"next_run_at,omitzero"`
	// Failures counts failed runs in a row.
	Failures int `json:"failures,omitempty"`
}

// HeartbeatState is one user's heartbeat settings and state.
type HeartbeatState struct {
	UserID string `json:"user_id"`
	// Paused stops the heartbeat (by the user, or after failures).
	Paused      bool   `json:"paused"`
	PauseReason string `json:"pause_reason,omitempty"`
	// Target is where alerts go; a zero Channel means the conversation the
	// user last wrote from.
	Target Address `json:"target"`
	// LastSlot is the scheduled time of the last check that ran the model.
	LastSlot  time.Time `json:"last_slot,omitzero"`
	LastRunAt time.Time `json:"last_run_at,omitzero"`
	// Failures counts failed checks in a row.
	Failures int `json:"failures,omitempty"`
	// LastAlertHash identifies the last alert delivered (a hash of its
	// normalised text), so the same alert is not repeated within a window.
	LastAlertHash string    `json:"last_alert_hash,omitempty"`
	LastAlertAt   time.Time `json:"last_alert_at,omitzero"`
	// BudgetNoticeDay is the user's local date (2006-01-02) on which they
	// were told that the daily token budget of scheduled work ran out.
	BudgetNoticeDay string    `json:"budget_notice_day,omitempty"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// RunKind names what a run was.
type RunKind string

// Run kinds.
const (
	RunHeartbeat RunKind = "heartbeat"
	RunRoutine   RunKind = "routine"
)

// RunOutcome is how a run ended.
type RunOutcome string

// Run outcomes.
const (
	// RunRunning: started, not finished (or the process stopped first).
	RunRunning RunOutcome = "running"
	// RunOK: the model answered; Delivered and Suppressed say what happened
	// to the answer.
	RunOK RunOutcome = "ok"
	// RunFailed: the turn failed (model error, deadline).
	RunFailed RunOutcome = "failed"
	// RunSkipped: not run (budget spent); Detail says why.
	RunSkipped RunOutcome = "skipped"
)

// RunRecord is one heartbeat or routine run.
type RunRecord struct {
	// RunID is unique across processes: kind, owner and scheduled time.
	RunID     string  `json:"run_id"`
	Kind      RunKind `json:"kind"`
	UserID    string  `json:"user_id"`
	RoutineID string  `json:"routine_id,omitempty"`
	// ScheduledAt is the time the run was due.
	ScheduledAt time.Time  `json:"scheduled_at"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  time.Time  `json:"finished_at,omitzero"`
	Outcome     RunOutcome `json:"outcome"`
	// Detail is the reason of a skip or suppression, or the failure.
	Detail     string `json:"detail,omitempty"`
	Usage      Usage  `json:"usage"`
	Delivered  bool   `json:"delivered"`
	Suppressed bool   `json:"suppressed"`
	// Target is where the answer went or would have gone.
	Target Address `json:"target"`
}

// RunFilter selects runs; zero fields match everything.
type RunFilter struct {
	UserID    string
	RoutineID string
	Kind      RunKind
	// Limit bounds the result (0: no bound).
	Limit int
}

// RoutineStore keeps routines.
type RoutineStore interface {
	// CreateRoutine stores a new routine (an empty Status is
	// RoutineActive); ErrConflict when the id is taken, ErrNotFound when
	// the user does not exist.
	CreateRoutine(ctx context.Context, r Routine) error
	GetRoutine(ctx context.Context, id string) (Routine, error)
	// ListRoutines lists a user's routines (everyone's when userID is
	// empty), oldest first.
	ListRoutines(ctx context.Context, userID string) ([]Routine, error)
	// UpdateRoutine saves the definition: Name, Prompt, Schedule, Session,
	// Deliver, Missed and UpdatedAt (the store's clock when zero).
	UpdateRoutine(ctx context.Context, r Routine) error
	// UpdateRoutineState saves the RoutineState fields of routine id.
	UpdateRoutineState(ctx context.Context, id string, st RoutineState) error
	// DeleteRoutine removes a routine; its runs are kept.
	DeleteRoutine(ctx context.Context, id string) error
	// RequestRoutineRun asks any scheduler sharing the store to run the
	// routine once, soon (hearth routines run).
	RequestRoutineRun(ctx context.Context, id string, at time.Time) error
	// ClaimRoutineRun takes a pending run request: it returns the time it
	// was requested and true for exactly one caller.
	ClaimRoutineRun(ctx context.Context, id string) (time.Time, bool, error)
}

// HeartbeatStore keeps each user's heartbeat settings and state.
type HeartbeatStore interface {
	// GetHeartbeat returns a user's heartbeat; ErrNotFound when none was
	// stored (the scheduler's defaults apply).
	GetHeartbeat(ctx context.Context, userID string) (HeartbeatState, error)
	// PutHeartbeat creates or replaces a user's heartbeat; ErrNotFound when
	// the user does not exist.
	PutHeartbeat(ctx context.Context, h HeartbeatState) error
	// ListHeartbeats lists every stored heartbeat.
	ListHeartbeats(ctx context.Context) ([]HeartbeatState, error)
}

// RunStore records runs.
type RunStore interface {
	// StartRun records a run as started. It returns false, changing
	// nothing, when the run id was recorded before: of several processes
	// starting the same run, exactly one gets true.
	StartRun(ctx context.Context, r RunRecord) (bool, error)
	// FinishRun saves FinishedAt (the store's clock when zero), Outcome,
	// Detail, Usage, Delivered and Suppressed of a started run;
	// ErrNotFound when it was never started.
	FinishRun(ctx context.Context, r RunRecord) error
	GetRun(ctx context.Context, runID string) (RunRecord, error)
	// ListRuns lists matching runs, newest start first.
	ListRuns(ctx context.Context, f RunFilter) ([]RunRecord, error)
	// UsageSince sums the tokens of a user's runs started at or after
	// since.
	UsageSince(ctx context.Context, userID string, since time.Time) (Usage, error)
	// PruneRuns deletes finished runs started before before and returns
	// how many.
	PruneRuns(ctx context.Context, before time.Time) (int64, error)
}

// JobStore is everything the scheduler needs from a store besides
// engine.Store.
type JobStore interface {
	RoutineStore
	HeartbeatStore
	RunStore
	// LastInbound returns the user's newest direct (one-to-one) message on
	// a real channel (never a scheduler job, never a group: heartbeat alerts
	// are private); ErrNotFound when there is none.
	LastInbound(ctx context.Context, userID string) (StoredInbound, error)
}

// Validate reports what a store must refuse, naming the field: missing
// ids or name, a schedule without its value, unknown session, delivery,
// missed-run or status values.
func (r Routine) Validate() error {
	switch {
	case r.ID == "":
		return errors.New("id is empty")
	case r.UserID == "":
		return errors.New("user id is empty")
	case r.Name == "":
		return errors.New("name is empty")
	}
	switch r.Schedule.Kind {
	case ScheduleCron:
		if r.Schedule.Cron == "" {
			return errors.New("a cron schedule needs an expression")
		}
	case ScheduleEvery:
		if r.Schedule.Every <= 0 {
			return fmt.Errorf("an every schedule needs a positive interval, got %s", r.Schedule.Every)
		}
	case ScheduleOnce:
		if r.Schedule.At.IsZero() {
			return errors.New("a once schedule needs a time")
		}
	default:
		return fmt.Errorf("unknown schedule kind %q", r.Schedule.Kind)
	}
	if r.Session != SessionOwn && r.Session != SessionMain {
		return fmt.Errorf("unknown session %q (own or main)", r.Session)
	}
	if r.Deliver != DeliverOrigin && r.Deliver != DeliverLast && r.Deliver != DeliverNone {
		return fmt.Errorf("unknown delivery %q (origin, last or none)", r.Deliver)
	}
	if r.Missed != MissedRunOnce && r.Missed != MissedSkip {
		return fmt.Errorf("unknown missed-run policy %q (run_once or skip)", r.Missed)
	}
	return r.RoutineState.Validate()
}

// Validate reports a run state a store must refuse.
func (st RoutineState) Validate() error {
	switch st.Status {
	case RoutineActive, RoutinePaused, RoutineDone:
	default:
		return fmt.Errorf("unknown status %q (active, paused or done)", st.Status)
	}
	if st.Failures < 0 {
		return fmt.Errorf("negative failure count %d", st.Failures)
	}
	return nil
}
