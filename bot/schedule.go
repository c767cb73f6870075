package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hearthbot/hearth/adapters/repl"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/memory/postgres"
)

// The scheduler's wiring. buildEngine calls setupSchedule after the tool
// registry is filled and before the engine is built (the engine reports
// job results to Scheduler.HandleResult); Run starts the scheduler after
// the engine (in the console and serve modes) and stops it before the
// engine shuts down.

// setupSchedule builds the scheduler of heartbeats and routines from the
// configuration and registers its agent tools (routine_create,
// routine_list, routine_update, routine_delete, routine_run_now,
// heartbeat_update) in b.Tools.
func (b *Bot) setupSchedule(_ context.Context) (*schedule.Scheduler, error) {
	cfg := b.cfg
	if err := ScheduleProblems(cfg); err != nil {
		return nil, err
	}
	st, ok := b.Store.(schedule.Store)
	if !ok {
		return nil, fmt.Errorf("the store (%T) cannot keep routines and heartbeats", b.Store)
	}
	var locker gocron.Locker
	if pg, ok := b.Store.(*postgres.Store); ok {
		locker = pg.Locker().WithMinHold(cfg.Schedule.LockMinHold)
	}
	h, r, s := cfg.Heartbeat, cfg.Routines, cfg.Schedule
	sched, err := schedule.New(schedule.Options{
		Store:  st,
		Docs:   workspaceDocs(b.Store),
		Locker: locker,
		Heartbeat: schedule.HeartbeatOptions{
			Enabled: h.Enabled, Interval: h.Interval, ActiveHours: h.ActiveHours, Model: h.Model,
			DailyTokenBudget: h.DailyTokenBudget, MaxFailures: h.MaxFailures, DedupeWindow: h.DedupeWindow,
			Missed: engine.MissedPolicy(h.Missed),
		},
		Routines:        schedule.RoutineOptions{MaxPerUser: r.MaxPerUser, MinInterval: r.MinInterval, MaxFailures: r.MaxFailures},
		MaxConcurrent:   s.MaxConcurrent,
		SyncInterval:    s.SyncInterval,
		RunRetention:    s.RunRetention,
		RunTimeout:      cfg.Agent.TurnTimeout + time.Minute,
		DefaultTimezone: cfg.Agent.Timezone,
		Logger:          b.log.With("component", "schedule"),
	})
	if err != nil {
		return nil, err
	}
	for _, t := range schedule.Tools(sched) {
		if err := b.Tools.Register(t); err != nil {
			return nil, fmt.Errorf("register tool: %w", err)
		}
	}
	return sched, nil
}

// workspaceDocs reads HEARTBEAT.md from the users' memory workspace when
// the store keeps documents; nil otherwise (every heartbeat is then
// skipped, with a warning at start).
func workspaceDocs(st engine.Store) schedule.DocReader {
	ds, ok := st.(engine.DocumentStore)
	if !ok {
		return nil
	}
	return schedule.DocReaderFunc(func(ctx context.Context, userID, path string) (string, error) {
		d, err := ds.GetDocument(ctx, userID, path)
		return d.Content, err
	})
}

// ScheduleProblems checks the heartbeat, routines and schedule keys; it
// returns a *config.Error naming each bad key, or nil.
func ScheduleProblems(cfg *config.Config) error {
	var ps []config.Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, config.Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	atLeast := func(key string, d, lo time.Duration) {
		if d < lo {
			add(key, "must be at least %s, got %s", lo, d)
		}
	}
	positive := func(key string, n int) {
		if n < 1 {
			add(key, "must be at least 1, got %d", n)
		}
	}
	h, r, s := cfg.Heartbeat, cfg.Routines, cfg.Schedule
	atLeast("heartbeat.interval", h.Interval, time.Minute)
	if err := schedule.ValidateActiveHours(h.ActiveHours); err != nil {
		add("heartbeat.active_hours", "%s", strings.TrimPrefix(err.Error(), "active hours "))
	}
	if h.DailyTokenBudget < 0 {
		add("heartbeat.daily_token_budget", "must not be negative (0 means no cap), got %d", h.DailyTokenBudget)
	}
	positive("heartbeat.max_failures", h.MaxFailures)
	atLeast("heartbeat.dedupe_window", h.DedupeWindow, time.Minute)
	if h.Missed != string(engine.MissedSkip) && h.Missed != string(engine.MissedRunOnce) {
		add("heartbeat.missed", "must be skip or run_once, got %q", h.Missed)
	}
	positive("routines.max_per_user", r.MaxPerUser)
	atLeast("routines.min_interval", r.MinInterval, time.Minute)
	positive("routines.max_failures", r.MaxFailures)
	if s.MaxConcurrent < 1 || s.MaxConcurrent > 100 {
		add("schedule.max_concurrent", "must be between 1 and 100, got %d", s.MaxConcurrent)
	}
	atLeast("schedule.sync_interval", s.SyncInterval, 5*time.Second)
	atLeast("schedule.run_retention", s.RunRetention, time.Hour)
	if s.LockMinHold < 0 {
		add("schedule.lock_min_hold", "must not be negative, got %s", s.LockMinHold)
	}
	if len(ps) > 0 {
		return &config.Error{Problems: ps}
	}
	return nil
}

// scheduleAdmin backs the console's /routines and /heartbeat for the
// owner. The composition root's admin delegates to it:
//
//	func (a *admin) Routines(ctx context.Context) ([]repl.RoutineInfo, error) {
//		return scheduleAdmin{a.b, a.b.sched}.Routines(ctx)
//	}
type scheduleAdmin struct {
	b *Bot
	s *schedule.Scheduler
}

func (a scheduleAdmin) owner(ctx context.Context) (string, error) {
	if a.s == nil {
		return "", repl.ErrNotAvailable
	}
	id, err := a.b.Store.IdentityFor(ctx, ownerChannel, ownerID)
	if err != nil {
		return "", err
	}
	return id.UserID, nil
}

// Routines lists the owner's routines.
func (a scheduleAdmin) Routines(ctx context.Context) ([]repl.RoutineInfo, error) {
	owner, err := a.owner(ctx)
	if err != nil {
		return nil, err
	}
	list, err := a.s.Routines(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := make([]repl.RoutineInfo, 0, len(list))
	for _, r := range list {
		out = append(out, repl.RoutineInfo{ID: r.ID, Name: r.Name, Schedule: schedule.Describe(r.Schedule),
			Enabled: r.Status == engine.RoutineActive, NextRun: r.NextRunAt, LastRun: r.LastRunAt})
	}
	return out, nil
}

// Heartbeat shows ("") or acts on ("run", "pause", "resume") the owner's
// heartbeat and returns a line to print.
func (a scheduleAdmin) Heartbeat(ctx context.Context, action string) (string, error) {
	owner, err := a.owner(ctx)
	if err != nil {
		return "", err
	}
	switch action {
	case "":
		st, err := a.s.HeartbeatStatus(ctx, owner)
		if err != nil {
			return "", err
		}
		return describeHeartbeat(st), nil
	case "run":
		ev, err := a.s.RunHeartbeatNow(ctx, owner)
		if err != nil {
			return "", err
		}
		if ev.Phase == schedule.PhaseStarted {
			return "heartbeat: checking now; an alert, if any, arrives as a message", nil
		}
		return "heartbeat: not run: " + ev.Detail, nil
	case "pause":
		if err := a.s.PauseHeartbeat(ctx, owner); err != nil {
			return "", err
		}
		return "heartbeat paused", nil
	case "resume":
		if err := a.s.ResumeHeartbeat(ctx, owner); err != nil {
			return "", err
		}
		return "heartbeat resumed", nil
	}
	return "", fmt.Errorf("unknown heartbeat action %q (run, pause or resume)", action)
}

func describeHeartbeat(st schedule.HeartbeatStatus) string {
	var b strings.Builder
	switch {
	case !st.Enabled:
		b.WriteString("heartbeat: off (heartbeat.enabled is false)")
	case st.Paused:
		fmt.Fprintf(&b, "heartbeat: paused (%s)", st.PauseReason)
	default:
		fmt.Fprintf(&b, "heartbeat: on, every %s", st.Interval)
	}
	hours := st.ActiveHours
	if hours == "" {
		hours = "all day"
	}
	fmt.Fprintf(&b, "; active %s, %s", hours, st.Timezone)
	if loc, err := time.LoadLocation(st.Timezone); err == nil && !st.Next.IsZero() {
		fmt.Fprintf(&b, "; next check %s", st.Next.In(loc).Format("Mon 15:04"))
	}
	if st.Target.Channel != "" {
		fmt.Fprintf(&b, "; alerts go to %s/%s", st.Target.Channel, st.Target.Conversation)
	} else {
		b.WriteString("; alerts go to your last conversation")
	}
	if r := st.LastRun; r != nil {
		what := string(r.Outcome)
		switch {
		case r.Delivered:
			what = "alert sent"
		case r.Suppressed:
			what = "nothing to report"
		}
		fmt.Fprintf(&b, "; last check %s: %s", r.StartedAt.Local().Format("Mon 15:04"), what)
	}
	if st.Budget > 0 {
		fmt.Fprintf(&b, "; %d of %d tokens used today", st.UsedToday.Total(), st.Budget)
	}
	return b.String()
}

// jobStore is the store's scheduler side, for the CLI.
func (b *Bot) jobStore() (engine.JobStore, error) {
	js, ok := b.Store.(engine.JobStore)
	if !ok {
		return nil, fmt.Errorf("the store (%T) cannot keep routines", b.Store)
	}
	return js, nil
}

// RoutineList lists routines (every user's when userID is empty), oldest
// first, with their next run computed now (hearth routines ls).
func (b *Bot) RoutineList(ctx context.Context, userID string) ([]engine.Routine, error) {
	js, err := b.jobStore()
	if err != nil {
		return nil, err
	}
	list, err := js.ListRoutines(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := b.o.Now()
	for i := range list {
		list[i].NextRunAt = schedule.NextRun(list[i], now)
	}
	return list, nil
}

// RoutineShow returns a routine and its newest runs, at most limit
// (hearth routines show).
func (b *Bot) RoutineShow(ctx context.Context, id string, limit int) (engine.Routine, []engine.RunRecord, error) {
	js, err := b.jobStore()
	if err != nil {
		return engine.Routine{}, nil, err
	}
	r, err := js.GetRoutine(ctx, id)
	if err != nil {
		return r, nil, routineErr(id, err)
	}
	r.NextRunAt = schedule.NextRun(r, b.o.Now())
	runs, err := js.ListRuns(ctx, engine.RunFilter{RoutineID: id, Limit: limit})
	return r, runs, err
}

// RoutineDelete deletes a routine (hearth routines rm); running processes
// drop its timer when it next fires or at their next sync.
func (b *Bot) RoutineDelete(ctx context.Context, id string) error {
	js, err := b.jobStore()
	if err != nil {
		return err
	}
	return routineErr(id, js.DeleteRoutine(ctx, id))
}

// RoutineRequestRun asks the running Hearth process(es) to run a routine
// once, at their next sync (hearth routines run); exactly one does. It
// returns the time of the request, to find the run with RoutineRunSince.
func (b *Bot) RoutineRequestRun(ctx context.Context, id string) (time.Time, error) {
	js, err := b.jobStore()
	if err != nil {
		return time.Time{}, err
	}
	now := b.o.Now()
	return now, routineErr(id, js.RequestRoutineRun(ctx, id, now))
}

// RoutineRunSince returns the first run of a routine started at or after
// since, and whether there is one.
func (b *Bot) RoutineRunSince(ctx context.Context, id string, since time.Time) (engine.RunRecord, bool, error) {
	js, err := b.jobStore()
	if err != nil {
		return engine.RunRecord{}, false, err
	}
	runs, err := js.ListRuns(ctx, engine.RunFilter{RoutineID: id, Limit: 20})
	if err != nil {
		return engine.RunRecord{}, false, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		if !runs[i].StartedAt.Before(since.Truncate(time.Microsecond)) {
			return runs[i], true, nil
		}
	}
	return engine.RunRecord{}, false, nil
}

func routineErr(id string, err error) error {
	if errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("no routine %q (hearth routines ls lists them)", id)
	}
	return err
}
