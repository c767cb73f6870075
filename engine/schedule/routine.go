package schedule

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
)

// routineSessionKey is the session key of a routine's runs.
func routineSession(r engine.Routine) (key string, addr engine.Address) {
	if r.Session == engine.SessionMain && r.CreatedFrom.Channel != "" {
		addr = r.CreatedFrom
		addr.ReplyTo = ""
		return addr.Key(), addr
	}
	return "job:routine:" + r.ID, engine.Address{Channel: runtime.JobChannel, Conversation: "routine:" + r.ID}
}

// routineTarget is where a routine's reply goes (zero: nowhere).
func (s *Scheduler) routineTarget(ctx context.Context, r engine.Routine) engine.Address {
	switch r.Deliver {
	case engine.DeliverOrigin:
		to := r.CreatedFrom
		to.ReplyTo = ""
		if to.Channel != "" && to.Channel != runtime.JobChannel {
			return to
		}
		return s.lastConversation(ctx, r.UserID)
	case engine.DeliverLast:
		return s.lastConversation(ctx, r.UserID)
	}
	return engine.Address{}
}

// runRoutine runs a routine for the slot. Scheduled runs of a routine
// that was deleted, paused or finished meanwhile (perhaps by another
// process) are skipped and its timer disarmed.
func (s *Scheduler) runRoutine(ctx context.Context, id string, slot time.Time, trig trigger, runID string) Event {
	key := routineKey(id)
	ev := Event{Phase: PhaseSkipped, Kind: engine.RunRoutine, RoutineID: id, Slot: slot}
	skip := func(detail string) Event {
		ev.Detail = detail
		s.emit(ev)
		return ev
	}
	r, err := s.o.Store.GetRoutine(ctx, id)
	if errors.Is(err, engine.ErrNotFound) {
		s.unarm(key)
		return skip("deleted")
	}
	if err != nil {
		return skip(err.Error())
	}
	ev.UserID = r.UserID
	if trig.scheduled() && r.Status != engine.RoutineActive {
		s.unarm(key)
		return skip(string(r.Status))
	}
	user, err := s.o.Store.GetUser(ctx, r.UserID)
	if err != nil {
		return skip("user: " + err.Error())
	}
	now := s.clock.Now()
	if runID == "" {
		runID = routineRunID(id, slot)
		if !trig.scheduled() {
			runID = manualRunID("routine", id, now)
		}
	}
	target := s.routineTarget(ctx, r)
	rec := engine.RunRecord{RunID: runID, Kind: engine.RunRoutine, UserID: r.UserID, RoutineID: id,
		ScheduledAt: slot, StartedAt: now, Outcome: engine.RunRunning, Target: target}
	ok, err := s.withinBudget(ctx, user, target)
	if err != nil {
		return skip(err.Error())
	}
	if !ok {
		rec.Outcome, rec.Detail, rec.FinishedAt = engine.RunSkipped, "daily token budget spent", now
		if _, err := s.o.Store.StartRun(ctx, rec); err != nil {
			s.log.Warn("recording a skipped run failed", "run", runID, "err", err)
		}
		ev.RunID = runID
		return skip(rec.Detail)
	}
	started, err := s.o.Store.StartRun(ctx, rec)
	if err != nil {
		return skip("recording the run: " + err.Error())
	}
	ev.RunID = runID
	if !started {
		ev.Phase = PhaseDuplicate
		s.emit(ev)
		return ev
	}
	done := r.Schedule.Kind == engine.ScheduleOnce && trig.scheduled()
	if err := s.updateRoutineState(ctx, id, func(st *engine.RoutineState) {
		if trig.scheduled() {
			st.LastSlot = slot
		}
		st.LastRunAt = now
		if done {
			st.Status, st.NextRunAt = engine.RoutineDone, time.Time{}
		} else if t, err := s.routineTiming(r); err == nil {
			st.NextRunAt = t.next(now)
		}
	}); err != nil {
		s.log.Warn("saving routine state failed", "routine", id, "err", err)
	}
	if done {
		s.unarm(key)
	}
	sessKey, addr := routineSession(r)
	job := runtime.Job{
		RunID: runID, Kind: string(engine.RunRoutine), UserID: r.UserID, SessionKey: sessKey, Address: addr,
		Text: routinePrompt(r, slot.In(s.userLoc(user))), DeliverTo: target, Sentinel: RoutineOK,
	}
	return s.start(ctx, rec, job, trig.scheduled())
}

func routinePrompt(r engine.Routine, due time.Time) string {
	return fmt.Sprintf(`[Scheduled routine %q (%s), due %s]
%s

Answer with what the user should see now. If there is nothing worth telling them, answer exactly %s.`,
		r.Name, r.ID, due.Format("Monday 2006-01-02 15:04 MST"), r.Prompt, RoutineOK)
}

// updateRoutineState changes a routine's state under its stripe lock;
// ErrNotFound when it was deleted.
func (s *Scheduler) updateRoutineState(ctx context.Context, id string, fn func(*engine.RoutineState)) error {
	mu := s.stripe(routineKey(id))
	mu.Lock()
	defer mu.Unlock()
	r, err := s.o.Store.GetRoutine(ctx, id)
	if err != nil {
		return err
	}
	st := r.RoutineState
	fn(&st)
	return s.o.Store.UpdateRoutineState(ctx, id, st)
}

// routineDone records a routine run's result; failures in a row pause
// the routine and tell the user once.
func (s *Scheduler) routineDone(ctx context.Context, rec *engine.RunRecord, r runtime.JobResult) {
	switch {
	case r.Err != nil:
		rec.Outcome, rec.Detail = engine.RunFailed, failureDetail(r)
	case r.Suppressed:
		rec.Outcome, rec.Suppressed, rec.Detail = engine.RunOK, true, "nothing to report"
	default:
		rec.Outcome, rec.Delivered = engine.RunOK, r.Delivered
	}
	var notice string
	var name string
	err := s.updateRoutineState(ctx, rec.RoutineID, func(st *engine.RoutineState) {
		if r.Err == nil {
			st.Failures = 0
			return
		}
		st.Failures++
		if max := s.o.Routines.MaxFailures; max > 0 && st.Failures >= max && st.Status == engine.RoutineActive {
			st.Status = engine.RoutinePaused
			st.StatusReason = fmt.Sprintf("paused after %d failed runs in a row", st.Failures)
			notice = st.StatusReason
		}
	})
	if errors.Is(err, engine.ErrNotFound) {
		return // deleted meanwhile
	}
	if err != nil {
		s.log.Error("saving routine state failed", "routine", rec.RoutineID, "err", err)
		return
	}
	if notice != "" {
		s.unarm(routineKey(rec.RoutineID))
		if rt, err := s.o.Store.GetRoutine(ctx, rec.RoutineID); err == nil {
			name = rt.Name
		}
		to := rec.Target
		if to.Channel == "" {
			to = s.lastConversation(ctx, rec.UserID)
		}
		s.notify(ctx, to, fmt.Sprintf("I paused your routine %q (%s): %s. Resume it when the problem is fixed (ask me to enable it again).",
			name, rec.RoutineID, notice))
	}
}

// skipMissedOnce finishes a one-time routine whose time passed while no
// process ran and whose policy is to skip.
func (s *Scheduler) skipMissedOnce(ctx context.Context, id string) {
	err := s.updateRoutineState(ctx, id, func(st *engine.RoutineState) {
		if st.Status == engine.RoutineActive {
			st.Status, st.StatusReason, st.NextRunAt = engine.RoutineDone, "its time passed while Hearth was not running", time.Time{}
		}
	})
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		s.log.Warn("finishing a missed one-time routine failed", "routine", id, "err", err)
	}
	s.emit(Event{Phase: PhaseSkipped, Kind: engine.RunRoutine, RoutineID: id, Detail: "missed while not running"})
}
