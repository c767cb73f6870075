package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/jonboulle/clockwork"
)

// Store is what the scheduler needs of the store.
type Store interface {
	engine.JobStore
	GetUser(ctx context.Context, id string) (engine.User, error)
	ListUsers(ctx context.Context) ([]engine.User, error)
	ActiveSession(ctx context.Context, userID, key string) (engine.Session, error)
	CreateSession(ctx context.Context, s engine.Session) error
}

// Runner runs jobs and sends notices; runtime.Engine implements it.
type Runner interface {
	RunJob(ctx context.Context, j runtime.Job) (engine.Receipt, error)
	Notify(ctx context.Context, to engine.Address, text string) error
}

// DocReader reads a document of a user's memory workspace (HEARTBEAT.md).
// A missing document is "" or an error wrapping engine.ErrNotFound.
type DocReader interface {
	ReadDoc(ctx context.Context, userID, path string) (string, error)
}

// DocReaderFunc adapts a function to DocReader.
type DocReaderFunc func(ctx context.Context, userID, path string) (string, error)

// ReadDoc implements DocReader.
func (f DocReaderFunc) ReadDoc(ctx context.Context, userID, path string) (string, error) {
	return f(ctx, userID, path)
}

// HeartbeatOptions configure the heartbeat of every user.
type HeartbeatOptions struct {
	// Enabled runs heartbeats (the zero Options runs none).
	Enabled bool
	// Interval between checks (default 30m).
	Interval time.Duration
	// ActiveHours "HH:MM-HH:MM" in each user's timezone; "" for always.
	ActiveHours string
	// Model, when set, is the (cheaper) model of heartbeat turns.
	Model string
	// DailyTokenBudget caps the tokens of one user's scheduled runs
	// (heartbeats and routines) per local day; 0: no cap.
	DailyTokenBudget int
	// MaxFailures pauses a heartbeat after this many failed checks in a
	// row, telling the user once (default 3).
	MaxFailures int
	// DedupeWindow: an alert identical (after normalisation) to the last
	// one delivered within this window is not sent again (default 24h).
	DedupeWindow time.Duration
	// Missed is the policy for a check that fell due while no process ran
	// (default skip).
	Missed engine.MissedPolicy
	// Path of the checklist in the workspace (default HEARTBEAT.md).
	Path string
}

// RoutineOptions bound routines.
type RoutineOptions struct {
	// MaxPerUser bounds a user's routines that are not done (default 50).
	MaxPerUser int
	// MinInterval is the shortest time allowed between two runs of a
	// routine (default 5m).
	MinInterval time.Duration
	// MaxFailures pauses a routine after this many failed runs in a row,
	// telling the user once (default 5).
	MaxFailures int
}

// Options configure a Scheduler. Store is required.
type Options struct {
	Store Store
	// Docs reads HEARTBEAT.md; without it every heartbeat is skipped.
	Docs DocReader
	// Clock drives every timer (default the real clock).
	Clock clockwork.Clock
	// Locker, when set, is gocron's distributed locker: while one process
	// runs a job, the others skip that firing.
	Locker    gocron.Locker
	Heartbeat HeartbeatOptions
	Routines  RoutineOptions
	// MaxConcurrent bounds runs in progress (default 2).
	MaxConcurrent int
	// SyncInterval is how often timers are reconciled with the store
	// (default 1m; negative: only at Start and on Sync).
	SyncInterval time.Duration
	// RunRetention: finished run records older than this are deleted at
	// each sync (default 30 days; negative: kept).
	RunRetention time.Duration
	// RunTimeout bounds how long a firing waits for its turn's result
	// while holding its concurrency slot (default 6m).
	RunTimeout time.Duration
	// DefaultTimezone is the zone of users who set none (default UTC).
	DefaultTimezone string
	// OnEvent observes every skip, start and end of a run (tests,
	// metrics). It must not block.
	OnEvent func(Event)
	Logger  *slog.Logger
}

// Event phases.
const (
	// PhaseSkipped: a run was not started; Detail says why.
	PhaseSkipped = "skipped"
	// PhaseDuplicate: the run was started before (by another process, or a
	// retry); nothing was done.
	PhaseDuplicate = "duplicate"
	// PhaseStarted: the run's turn was handed to the engine.
	PhaseStarted = "started"
	// PhaseFinished: the run ended and was recorded.
	PhaseFinished = "finished"
)

// Event reports what the scheduler did with one run.
type Event struct {
	Phase     string
	Kind      engine.RunKind
	UserID    string
	RoutineID string
	RunID     string
	// Slot is the scheduled time.
	Slot       time.Time
	Outcome    engine.RunOutcome
	Delivered  bool
	Suppressed bool
	Usage      engine.Usage
	Detail     string
}
