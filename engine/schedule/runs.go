package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
)

// start records a run and hands its turn to the engine. With wait it
// returns only when the result is in (HandleResult), ctx ends or
// RunTimeout passes, so the firing keeps its concurrency slot meanwhile.
func (s *Scheduler) start(ctx context.Context, rec engine.RunRecord, job runtime.Job, wait bool) Event {
	ev := Event{Phase: PhaseStarted, Kind: rec.Kind, UserID: rec.UserID, RoutineID: rec.RoutineID,
		RunID: rec.RunID, Slot: rec.ScheduledAt, Outcome: engine.RunRunning}
	r := s.getRunner()
	if r == nil {
		ev.Phase, ev.Detail = PhaseSkipped, ErrNotStarted.Error()
		s.emit(ev)
		return ev
	}
	var done chan struct{}
	if wait {
		done = s.addWaiter(rec.RunID)
		defer s.removeWaiter(rec.RunID)
	}
	receipt, err := r.RunJob(context.WithoutCancel(ctx), job)
	if err != nil {
		rec.Outcome, rec.Detail, rec.FinishedAt = engine.RunFailed, "could not start: "+err.Error(), s.clock.Now()
		if ferr := s.o.Store.FinishRun(context.WithoutCancel(ctx), rec); ferr != nil {
			s.log.Error("recording a run that could not start failed", "run", rec.RunID, "err", ferr)
		}
		s.log.Warn("a scheduled run could not start", "run", rec.RunID, "err", err)
		ev.Phase, ev.Outcome, ev.Detail = PhaseFinished, engine.RunFailed, rec.Detail
		s.emit(ev)
		return ev
	}
	if receipt.Status == engine.Duplicate {
		// The engine knows this turn already (a retry after a crash); its
		// result is, or will be, recorded through HandleResult.
		ev.Phase = PhaseDuplicate
		s.emit(ev)
		return ev
	}
	s.emit(ev)
	if !wait {
		return ev
	}
	timer := time.NewTimer(s.o.RunTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-ctx.Done():
	case <-timer.C:
		s.log.Warn("a scheduled run is taking longer than its timeout; releasing its slot", "run", rec.RunID, "timeout", s.o.RunTimeout)
	}
	return ev
}

func (s *Scheduler) addWaiter(runID string) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[runID] = ch
	s.mu.Unlock()
	return ch
}

func (s *Scheduler) removeWaiter(runID string) {
	s.mu.Lock()
	delete(s.waiters, runID)
	s.mu.Unlock()
}

func (s *Scheduler) release(runID string) {
	s.mu.Lock()
	ch := s.waiters[runID]
	delete(s.waiters, runID)
	s.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// HandleResult records the result of a job's turn; it is the engine's
// OnJobDone hook (runtime.Options.OnJobDone). Results of turns that are not
// scheduler runs are ignored. Results that arrive before Start are kept
// and handled at Start.
func (s *Scheduler) HandleResult(ctx context.Context, r runtime.JobResult) {
	s.mu.Lock()
	if !s.started {
		s.early = append(s.early, r)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	s.handle(ctx, r)
}

func (s *Scheduler) handle(ctx context.Context, r runtime.JobResult) {
	defer s.release(r.RunID)
	ctx = context.WithoutCancel(ctx)
	rec, err := s.o.Store.GetRun(ctx, r.RunID)
	if errors.Is(err, engine.ErrNotFound) {
		return // not one of ours
	}
	if err != nil {
		s.log.Error("loading a run to record its result failed", "run", r.RunID, "err", err)
		return
	}
	rec.FinishedAt, rec.Usage = s.clock.Now(), r.Usage
	switch rec.Kind {
	case engine.RunHeartbeat:
		s.heartbeatDone(ctx, &rec, r)
	case engine.RunRoutine:
		s.routineDone(ctx, &rec, r)
	}
	if err := s.o.Store.FinishRun(ctx, rec); err != nil {
		s.log.Error("recording a run's result failed", "run", rec.RunID, "err", err)
	}
	s.emit(Event{Phase: PhaseFinished, Kind: rec.Kind, UserID: rec.UserID, RoutineID: rec.RoutineID, RunID: rec.RunID,
		Slot: rec.ScheduledAt, Outcome: rec.Outcome, Delivered: rec.Delivered, Suppressed: rec.Suppressed,
		Usage: rec.Usage, Detail: rec.Detail})
}

// failureDetail describes a failed turn for the run record.
func failureDetail(r runtime.JobResult) string {
	d := "the turn failed"
	if r.Err != nil {
		d = r.Err.Error()
	}
	return truncate(d, 500)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// withinBudget reports whether the user may spend more tokens on
// scheduled work today (their local day). When not, the user is told once
// a day, at tell (or their last conversation).
func (s *Scheduler) withinBudget(ctx context.Context, u engine.User, tell engine.Address) (bool, error) {
	budget := s.o.Heartbeat.DailyTokenBudget
	if budget <= 0 {
		return true, nil
	}
	loc := s.userLoc(u)
	now := s.clock.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	used, err := s.o.Store.UsageSince(ctx, u.ID, midnight)
	if err != nil {
		return false, fmt.Errorf("token budget: %w", err)
	}
	if used.Total() < budget {
		return true, nil
	}
	day := now.Format(time.DateOnly)
	mu := s.stripe(heartbeatKey(u.ID))
	mu.Lock()
	defer mu.Unlock()
	hb, err := s.loadHeartbeat(ctx, u.ID)
	if err != nil {
		return false, err
	}
	if hb.BudgetNoticeDay == day {
		return false, nil
	}
	hb.BudgetNoticeDay = day
	if err := s.o.Store.PutHeartbeat(ctx, hb); err != nil {
		return false, fmt.Errorf("token budget: %w", err)
	}
	if tell.Channel == "" {
		tell = s.lastConversation(ctx, u.ID)
	}
	if tell.Channel != "" {
		msg := fmt.Sprintf("Your scheduled checks and routines have used today's budget of %d tokens (%d so far), "+
			"so they are paused until midnight. The owner can raise heartbeat.daily_token_budget.", budget, used.Total())
		s.notify(ctx, tell, msg)
	}
	return false, nil
}

// lastConversation is where the user last wrote from directly (zero when
// they never did).
func (s *Scheduler) lastConversation(ctx context.Context, userID string) engine.Address {
	in, err := s.o.Store.LastInbound(ctx, userID)
	if err != nil {
		if !errors.Is(err, engine.ErrNotFound) {
			s.log.Warn("finding the user's last conversation failed", "user", userID, "err", err)
		}
		return engine.Address{}
	}
	a := in.Inbound.ReplyAddress()
	a.ReplyTo = ""
	return a
}

func (s *Scheduler) notify(ctx context.Context, to engine.Address, text string) bool {
	r := s.getRunner()
	if r == nil || to.Channel == "" {
		return false
	}
	if err := r.Notify(ctx, to, text); err != nil {
		s.log.Warn("sending a scheduler notice failed", "channel", to.Channel, "err", err)
		return false
	}
	return true
}
