// Package schedule is Hearth's proactive side: per-user heartbeats that
// read HEARTBEAT.md on an interval and speak only when something needs
// attention, and routines that run a prompt on a cron expression, a fixed
// interval or once. Both run as synthetic turns through the engine
// (runtime.Engine.RunJob), with their own concurrency limit, and are
// recorded run by run.
//
// # Design
//
// The store is the source of truth. Every process sharing it rebuilds its
// timers from it at Start and reconciles them every SyncInterval, so a
// routine created, changed or deleted by another process (or by `hearth
// routines`) takes effect everywhere. Timers are gocron jobs on an
// injectable clock; each job's times come from a pure function of its
// definition (timing.go), so the scheduled time of a run is the same in
// every process and names the run: "routine:ID:2026-03-28T08:00:00Z".
// Starting a run records it under that id first (engine.RunStore.StartRun),
// which exactly one process wins; the engine deduplicates the job's turn on
// the same id. With a distributed locker (PostgreSQL advisory locks) a
// job's firing is also skipped by the other processes while one runs it,
// which saves them the work.
//
// A firing holds one of MaxConcurrent slots (gocron's concurrency limit,
// taken before the distributed lock) until its turn's result arrives
// through HandleResult, the engine's OnJobDone hook, so scheduled work can
// never occupy every LLM slot of the conversations.
//
// Heartbeats deliver through Runner.Notify themselves, after checking the
// sentinel and whether the same alert went out within DedupeWindow;
// routines hand their target to the engine, which suppresses ROUTINE_OK.
package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/jonboulle/clockwork"
)

// Sentinels the model answers when there is nothing to report.
const (
	HeartbeatOK = "HEARTBEAT_OK"
	RoutineOK   = "ROUTINE_OK"
)

// ErrNotStarted: the scheduler was not started (or was stopped).
var ErrNotStarted = errors.New("scheduler is not running")

// Scheduler runs heartbeats and routines. Its methods are safe for
// concurrent use.
type Scheduler struct {
	o     Options
	log   *slog.Logger
	clock clockwork.Clock
	cron  gocron.Scheduler

	mu      sync.Mutex
	runner  Runner
	started bool
	stopped bool
	jobs    map[string]*armed
	waiters map[string]chan struct{}
	early   []runtime.JobResult
	base    context.Context
	cancel  context.CancelFunc
	bg      sync.WaitGroup

	// armMu serialises changes to the gocron jobs.
	armMu sync.Mutex
	// stripes serialise read-modify-write of one heartbeat or routine.
	stripes [64]sync.Mutex
	// locs caches loaded timezones by name (loading one reads the zone
	// database).
	locs sync.Map
}

// armed is a registered gocron job.
type armed struct {
	id     uuid.UUID
	fp     string
	timing timing
	// lastSlot is the slot this process fired last.
	lastSlot time.Time
}

// New checks the options and returns a stopped scheduler.
func New(o Options) (*Scheduler, error) {
	if o.Store == nil {
		return nil, errors.New("schedule: a store is required")
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	h := &o.Heartbeat
	if h.Interval == 0 {
		h.Interval = 30 * time.Minute
	}
	if h.MaxFailures == 0 {
		h.MaxFailures = 3
	}
	if h.DedupeWindow == 0 {
		h.DedupeWindow = 24 * time.Hour
	}
	if h.Missed == "" {
		h.Missed = engine.MissedSkip
	}
	if h.Path == "" {
		h.Path = "HEARTBEAT.md"
	}
	r := &o.Routines
	if r.MaxPerUser == 0 {
		r.MaxPerUser = 50
	}
	if r.MinInterval == 0 {
		r.MinInterval = 5 * time.Minute
	}
	if r.MaxFailures == 0 {
		r.MaxFailures = 5
	}
	if o.MaxConcurrent == 0 {
		o.MaxConcurrent = 2
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = time.Minute
	}
	if o.RunRetention == 0 {
		o.RunRetention = 30 * 24 * time.Hour
	}
	if o.RunTimeout == 0 {
		o.RunTimeout = 6 * time.Minute
	}
	if o.DefaultTimezone == "" {
		o.DefaultTimezone = "UTC"
	}
	switch {
	case h.Interval < time.Minute:
		return nil, fmt.Errorf("schedule: heartbeat interval must be at least 1m, got %s", h.Interval)
	case h.MaxFailures < 0 || r.MaxFailures < 0 || r.MaxPerUser < 0 || h.DailyTokenBudget < 0:
		return nil, errors.New("schedule: failure counts, routine limits and the token budget must not be negative")
	case h.DedupeWindow < 0 || r.MinInterval < 0 || o.RunTimeout < 0:
		return nil, errors.New("schedule: dedupe window, minimum interval and run timeout must not be negative")
	case h.Missed != engine.MissedSkip && h.Missed != engine.MissedRunOnce:
		return nil, fmt.Errorf("schedule: heartbeat missed-run policy %q: want skip or run_once", h.Missed)
	case o.MaxConcurrent < 0:
		return nil, fmt.Errorf("schedule: max concurrent runs must be positive, got %d", o.MaxConcurrent)
	}
	if err := ValidateActiveHours(h.ActiveHours); err != nil {
		return nil, fmt.Errorf("schedule: heartbeat %w", err)
	}
	if _, err := LoadTimezone(o.DefaultTimezone); err != nil {
		return nil, fmt.Errorf("schedule: default %w", err)
	}
	opts := []gocron.SchedulerOption{
		gocron.WithClock(o.Clock),
		gocron.WithLocation(time.UTC),
		gocron.WithLimitConcurrentJobs(uint(o.MaxConcurrent), gocron.LimitModeWait),
		gocron.WithLogger(o.Logger),
		gocron.WithStopTimeout(10 * time.Second),
	}
	if o.Locker != nil {
		opts = append(opts, gocron.WithDistributedLocker(o.Locker))
	}
	cs, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("schedule: %w", err)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		o: o, log: o.Logger, clock: o.Clock, cron: cs,
		jobs: map[string]*armed{}, waiters: map[string]chan struct{}{},
		base: base, cancel: cancel,
	}, nil
}

// Start arms every job from the store, runs the missed runs whose policy
// asks for it, and handles the results that arrived before it (the engine
// re-runs unfinished jobs at its own start, which comes first). ctx bounds
// the initial load only.
func (s *Scheduler) Start(ctx context.Context, r Runner) error {
	if r == nil {
		return errors.New("schedule: Start needs a runner")
	}
	s.mu.Lock()
	if s.started || s.stopped {
		s.mu.Unlock()
		return errors.New("schedule: already started")
	}
	s.runner, s.started = r, true
	early := s.early
	s.early = nil
	s.mu.Unlock()

	if s.o.Heartbeat.Enabled && s.o.Docs == nil {
		s.log.Warn("heartbeats are enabled but no workspace reader is configured; every check is skipped")
	}
	s.cron.Start()
	if err := s.sync(ctx, true); err != nil {
		return err
	}
	for _, res := range early {
		s.handle(s.base, res)
	}
	if s.o.SyncInterval > 0 {
		s.bg.Add(1)
		go s.syncLoop()
	}
	return nil
}

// Stop stops the timers and waits for firings in progress until ctx ends.
// Turns already handed to the engine finish there; their results are
// recorded by HandleResult while the engine runs, or at the next start.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return nil
	}
	s.stopped = true
	started := s.started
	s.mu.Unlock()
	s.cancel()
	if !started {
		return nil
	}
	err := s.cron.ShutdownWithContext(ctx)
	done := make(chan struct{})
	go func() {
		s.bg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("schedule: stop: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("schedule: stop: %w", err)
	}
	return nil
}

// Sync reconciles the timers with the store now.
func (s *Scheduler) Sync(ctx context.Context) error {
	if !s.running() {
		return ErrNotStarted
	}
	return s.sync(ctx, false)
}

func (s *Scheduler) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started && !s.stopped
}

func (s *Scheduler) getRunner() Runner {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runner
}

func (s *Scheduler) syncLoop() {
	defer s.bg.Done()
	t := s.clock.NewTicker(s.o.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.base.Done():
			return
		case <-t.Chan():
			if err := s.sync(s.base, false); err != nil && s.base.Err() == nil {
				s.log.Error("scheduler sync failed", "err", err)
			}
		}
	}
}

// wantJob is a timer the store asks for; timing is nil when the job is
// armed with the same fingerprint already.
type wantJob struct {
	fp     string
	timing timing
}

// dueRun is a run to start outside the timers (missed, requested).
type dueRun func(ctx context.Context)

// sync arms the timers the store asks for and disarms the others. At
// start it also collects the runs missed while no process ran.
func (s *Scheduler) sync(ctx context.Context, starting bool) error {
	now := s.clock.Now()
	want := map[string]wantJob{}
	var due []dueRun
	// Jobs armed with the same fingerprint keep their timer; only new or
	// changed ones need their timing built (the steady state of a sync).
	armedFP := s.fingerprints()

	if s.o.Heartbeat.Enabled {
		users, err := s.o.Store.ListUsers(ctx)
		if err != nil {
			return fmt.Errorf("schedule: sync: %w", err)
		}
		hbs, err := s.o.Store.ListHeartbeats(ctx)
		if err != nil {
			return fmt.Errorf("schedule: sync: %w", err)
		}
		byUser := make(map[string]engine.HeartbeatState, len(hbs))
		for _, h := range hbs {
			byUser[h.UserID] = h
		}
		for _, u := range users {
			hb := byUser[u.ID]
			if hb.Paused {
				continue
			}
			key, fp := heartbeatKey(u.ID), s.heartbeatFingerprint(u)
			if !starting && armedFP[key] == fp {
				want[key] = wantJob{fp: fp}
				continue
			}
			t, _ := s.heartbeatTiming(u)
			want[key] = wantJob{fp: fp, timing: t}
			if starting && s.o.Heartbeat.Missed == engine.MissedRunOnce {
				if p := t.prev(now); !p.IsZero() && p.After(hb.LastSlot) {
					userID := u.ID
					due = append(due, func(ctx context.Context) { s.runHeartbeat(ctx, userID, p, triggerMissed) })
				}
			}
		}
	}

	routines, err := s.o.Store.ListRoutines(ctx, "")
	if err != nil {
		return fmt.Errorf("schedule: sync: %w", err)
	}
	for _, r := range routines {
		if !r.RunRequestedAt.IsZero() {
			at, ok, err := s.o.Store.ClaimRoutineRun(ctx, r.ID)
			if err != nil {
				s.log.Error("claiming a routine run request failed", "routine", r.ID, "err", err)
			} else if ok {
				id, runID := r.ID, requestRunID(r.ID, at)
				due = append(due, func(ctx context.Context) { s.runRoutine(ctx, id, at, triggerRequest, runID) })
			}
		}
		if r.Status != engine.RoutineActive {
			continue
		}
		if r.Schedule.Kind == engine.ScheduleOnce && !r.Schedule.At.After(now) {
			// Its time passed while no process ran it.
			id, at := r.ID, r.Schedule.At.UTC()
			if r.Missed == engine.MissedRunOnce {
				due = append(due, func(ctx context.Context) { s.runRoutine(ctx, id, at, triggerMissed, "") })
			} else {
				due = append(due, func(ctx context.Context) { s.skipMissedOnce(ctx, id) })
			}
			continue
		}
		key, fp := routineKey(r.ID), routineFingerprint(r)
		if !starting && armedFP[key] == fp {
			want[key] = wantJob{fp: fp}
			continue
		}
		t, err := s.routineTiming(r)
		if err != nil {
			s.log.Error("routine has an unusable schedule; it does not run", "routine", r.ID, "err", err)
			continue
		}
		want[key] = wantJob{fp: fp, timing: t}
		if starting && r.Missed == engine.MissedRunOnce {
			if p := t.prev(now); !p.IsZero() && p.After(r.LastSlot) && !p.Before(r.CreatedAt) {
				id := r.ID
				due = append(due, func(ctx context.Context) { s.runRoutine(ctx, id, p, triggerMissed, "") })
			}
		}
	}

	if err := s.reconcile(want); err != nil {
		return err
	}
	if len(due) > 0 {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			for _, run := range due {
				if s.base.Err() != nil {
					return
				}
				run(s.base)
			}
		}()
	}
	if s.o.RunRetention > 0 {
		if n, err := s.o.Store.PruneRuns(ctx, now.Add(-s.o.RunRetention)); err != nil {
			s.log.Warn("pruning old run records failed", "err", err)
		} else if n > 0 {
			s.log.Debug("pruned old run records", "count", n)
		}
	}
	return nil
}

// trigger says why a run starts.
type trigger int

const (
	triggerSchedule trigger = iota // its timer fired
	triggerMissed                  // its time passed while no process ran
	triggerManual                  // run now (tool, console)
	triggerRequest                 // hearth routines run
)

func (t trigger) scheduled() bool { return t == triggerSchedule || t == triggerMissed }

// fire is every timer's task. A second firing for a slot this process
// fired already is dropped: gocron re-arms a timer at "now" when its
// bookkeeping lags a jump of the clock.
func (s *Scheduler) fire(ctx context.Context, key string) {
	s.mu.Lock()
	a := s.jobs[key]
	var slot time.Time
	if a != nil {
		slot = a.timing.prev(s.clock.Now())
		if slot.IsZero() || slot.Equal(a.lastSlot) {
			a = nil
		} else {
			a.lastSlot = slot
		}
	}
	s.mu.Unlock()
	if a == nil {
		return
	}
	switch kind, id, _ := strings.Cut(key, ":"); kind {
	case "heartbeat":
		s.runHeartbeat(ctx, id, slot, triggerSchedule)
	case "routine":
		s.runRoutine(ctx, id, slot, triggerSchedule, "")
	}
}

func slotID(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func heartbeatRunID(userID string, slot time.Time) string {
	return "heartbeat:" + userID + ":" + slotID(slot)
}

func routineRunID(id string, slot time.Time) string { return "routine:" + id + ":" + slotID(slot) }

func requestRunID(id string, at time.Time) string {
	return "routine:" + id + ":request:" + slotID(at)
}

func manualRunID(kind, id string, now time.Time) string {
	return kind + ":" + id + ":manual:" + slotID(now) + ":" + engine.NewID()[:8]
}

func (s *Scheduler) emit(e Event) {
	if s.o.OnEvent != nil {
		s.o.OnEvent(e)
	}
}

// stripe locks the read-modify-write of one heartbeat or routine.
func (s *Scheduler) stripe(key string) *sync.Mutex {
	var h uint32 = 2166136261
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &s.stripes[h%uint32(len(s.stripes))]
}

// userLoc is a user's timezone, or the default.
func (s *Scheduler) userLoc(u engine.User) *time.Location {
	if u.Timezone != "" {
		if loc, err := s.loc(u.Timezone); err == nil {
			return loc
		}
	}
	loc, err := s.loc(s.o.DefaultTimezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// loc is LoadTimezone with a cache.
func (s *Scheduler) loc(name string) (*time.Location, error) {
	if l, ok := s.locs.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := LoadTimezone(name)
	if err != nil {
		return nil, err
	}
	s.locs.Store(name, l)
	return l, nil
}

// routineTiming is the package's routineTiming with cached timezones.
func (s *Scheduler) routineTiming(r engine.Routine) (timing, error) {
	return routineTimingIn(r, s.loc)
}
