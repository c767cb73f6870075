package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/runtime"
)

// Limits of a routine's text.
const (
	MaxNameLen   = 100
	MaxPromptLen = 4000
)

// Errors of routine operations; match them with errors.Is.
var (
	// ErrInvalidRoutine: a routine definition that cannot be stored.
	ErrInvalidRoutine = errors.New("invalid routine")
	// ErrTooManyRoutines: the user has MaxPerUser routines already.
	ErrTooManyRoutines = errors.New("too many routines")
)

// normalise fills a routine's defaults and checks it against the rules:
// a usable schedule in the future, not firing more often than
// MinInterval, text within bounds, and a conversation for the session and
// delivery that need one.
func (s *Scheduler) normalise(r *engine.Routine, now time.Time) error {
	r.Name = strings.TrimSpace(r.Name)
	r.Prompt = strings.TrimSpace(r.Prompt)
	if r.Session == "" {
		r.Session = engine.SessionOwn
	}
	if r.Deliver == "" {
		r.Deliver = engine.DeliverOrigin
	}
	if r.Missed == "" {
		r.Missed = engine.MissedRunOnce
	}
	if r.Schedule.Timezone == "" {
		r.Schedule.Timezone = s.o.DefaultTimezone
	}
	switch {
	case r.Name == "":
		return fmt.Errorf("%w: the name is empty", ErrInvalidRoutine)
	case utf8.RuneCountInString(r.Name) > MaxNameLen:
		return fmt.Errorf("%w: the name is longer than %d characters", ErrInvalidRoutine, MaxNameLen)
	case strings.IndexFunc(r.Name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: the name contains control characters", ErrInvalidRoutine)
	case r.Prompt == "":
		return fmt.Errorf("%w: the prompt (what to do at each run) is empty", ErrInvalidRoutine)
	case utf8.RuneCountInString(r.Prompt) > MaxPromptLen:
		return fmt.Errorf("%w: the prompt is longer than %d characters", ErrInvalidRoutine, MaxPromptLen)
	case !utf8.ValidString(r.Name) || !utf8.ValidString(r.Prompt) || strings.ContainsRune(r.Prompt, 0):
		return fmt.Errorf("%w: the name or prompt is not valid text", ErrInvalidRoutine)
	case r.Session != engine.SessionOwn && r.Session != engine.SessionMain:
		return fmt.Errorf("%w: session %q: want own or main", ErrInvalidRoutine, r.Session)
	case r.Deliver != engine.DeliverOrigin && r.Deliver != engine.DeliverLast && r.Deliver != engine.DeliverNone:
		return fmt.Errorf("%w: deliver %q: want origin, last or none", ErrInvalidRoutine, r.Deliver)
	case r.Missed != engine.MissedRunOnce && r.Missed != engine.MissedSkip:
		return fmt.Errorf("%w: missed %q: want run_once or skip", ErrInvalidRoutine, r.Missed)
	}
	hasConv := r.CreatedFrom.Channel != "" && r.CreatedFrom.Channel != runtime.JobChannel
	if r.Session == engine.SessionMain && !hasConv {
		return fmt.Errorf("%w: the main session is the conversation the routine is created in, and there is none", ErrInvalidRoutine)
	}
	if r.Deliver == engine.DeliverOrigin && !hasConv {
		r.Deliver = engine.DeliverLast
	}
	if r.Schedule.Kind == engine.ScheduleCron {
		r.Schedule.Cron = strings.Join(strings.Fields(r.Schedule.Cron), " ")
	}
	t, err := s.routineTiming(*r)
	if err != nil {
		return err
	}
	next := t.next(now)
	switch {
	case next.IsZero() && r.Schedule.Kind == engine.ScheduleOnce:
		return fmt.Errorf("%w: %s is in the past", ErrInvalidSchedule, r.Schedule.At.Format(time.RFC3339))
	case next.IsZero():
		return fmt.Errorf("%w: %s never fires", ErrInvalidSchedule, Describe(r.Schedule))
	}
	if r.Schedule.Kind != engine.ScheduleOnce {
		if gap := minGap(t, now); gap < s.o.Routines.MinInterval {
			return fmt.Errorf("%w: %s runs every %s; the shortest interval allowed is %s",
				ErrInvalidSchedule, Describe(r.Schedule), gap, s.o.Routines.MinInterval)
		}
	}
	return nil
}

// CreateRoutine validates and stores a new routine for r.UserID and arms
// it. The id is assigned; CreatedFrom should be the conversation the
// request came from. The stored routine is returned, with NextRunAt set.
func (s *Scheduler) CreateRoutine(ctx context.Context, r engine.Routine) (engine.Routine, error) {
	now := s.clock.Now()
	r.CreatedAt, r.UpdatedAt = now, now
	r.RoutineState = engine.RoutineState{Status: engine.RoutineActive}
	r.RunRequestedAt = time.Time{}
	if err := s.normalise(&r, now); err != nil {
		return r, err
	}
	existing, err := s.o.Store.ListRoutines(ctx, r.UserID)
	if err != nil {
		return r, err
	}
	n := 0
	for _, e := range existing {
		if e.Status != engine.RoutineDone {
			n++
		}
	}
	if n >= s.o.Routines.MaxPerUser {
		return r, fmt.Errorf("%w: %d is the limit; delete one first", ErrTooManyRoutines, s.o.Routines.MaxPerUser)
	}
	t, _ := s.routineTiming(r)
	r.NextRunAt = t.next(now)
	for range 3 {
		r.ID = "rt_" + engine.NewID()[:10]
		err = s.o.Store.CreateRoutine(ctx, r)
		if !errors.Is(err, engine.ErrConflict) {
			break
		}
	}
	if err != nil {
		return r, err
	}
	if err := s.arm(routineKey(r.ID), routineFingerprint(r), t); err != nil {
		s.log.Error("arming a new routine failed; the next sync retries", "routine", r.ID, "err", err)
	}
	return r, nil
}

// Routine returns one of a user's routines; ErrNotFound for a routine of
// another user.
func (s *Scheduler) Routine(ctx context.Context, userID, id string) (engine.Routine, error) {
	r, err := s.o.Store.GetRoutine(ctx, id)
	if err != nil {
		return r, err
	}
	if r.UserID != userID {
		return engine.Routine{}, fmt.Errorf("routine %q: %w", id, engine.ErrNotFound)
	}
	r.NextRunAt = NextRun(r, s.clock.Now())
	return r, nil
}

// Routines lists a user's routines (everyone's for ""), oldest first,
// with NextRunAt computed now.
func (s *Scheduler) Routines(ctx context.Context, userID string) ([]engine.Routine, error) {
	list, err := s.o.Store.ListRoutines(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for i := range list {
		list[i].NextRunAt = NextRun(list[i], now)
	}
	return list, nil
}

// UpdateRoutine replaces the definition of one of a user's routines with
// r's (Name, Prompt, Schedule, Session, Deliver, Missed) and re-arms it.
// Status changes (pause, resume) go through SetRoutineEnabled.
func (s *Scheduler) UpdateRoutine(ctx context.Context, userID string, r engine.Routine) (engine.Routine, error) {
	cur, err := s.Routine(ctx, userID, r.ID)
	if err != nil {
		return r, err
	}
	now := s.clock.Now()
	r.UserID, r.CreatedAt, r.CreatedFrom, r.UpdatedAt = cur.UserID, cur.CreatedAt, cur.CreatedFrom, now
	r.RoutineState = cur.RoutineState
	if err := s.normalise(&r, now); err != nil {
		return cur, err
	}
	if err := s.o.Store.UpdateRoutine(ctx, r); err != nil {
		return cur, err
	}
	if cur.Status == engine.RoutineDone && r.Schedule.Kind == engine.ScheduleOnce {
		// A finished one-time routine given a new time runs again.
		if err := s.updateRoutineState(ctx, r.ID, func(st *engine.RoutineState) {
			st.Status, st.StatusReason = engine.RoutineActive, ""
		}); err != nil {
			return cur, err
		}
		r.Status, r.StatusReason = engine.RoutineActive, ""
	}
	s.rearm(r)
	r.NextRunAt = NextRun(r, now)
	return r, nil
}

// SetRoutineEnabled pauses or resumes one of a user's routines; resuming
// clears its failure count.
func (s *Scheduler) SetRoutineEnabled(ctx context.Context, userID, id string, enabled bool) (engine.Routine, error) {
	r, err := s.Routine(ctx, userID, id)
	if err != nil {
		return r, err
	}
	if r.Status == engine.RoutineDone && enabled {
		return r, fmt.Errorf("%w: routine %s already ran (it was one-time); give it a new time to run it again", ErrInvalidRoutine, id)
	}
	if err := s.updateRoutineState(ctx, id, func(st *engine.RoutineState) {
		if enabled {
			st.Status, st.StatusReason, st.Failures = engine.RoutineActive, "", 0
		} else if st.Status == engine.RoutineActive {
			st.Status, st.StatusReason = engine.RoutinePaused, "paused by the user"
		}
	}); err != nil {
		return r, err
	}
	r, err = s.Routine(ctx, userID, id)
	if err != nil {
		return r, err
	}
	s.rearm(r)
	return r, nil
}

// rearm arms an active routine or disarms any other.
func (s *Scheduler) rearm(r engine.Routine) {
	key := routineKey(r.ID)
	if r.Status != engine.RoutineActive {
		s.unarm(key)
		return
	}
	t, err := s.routineTiming(r)
	if err != nil {
		s.unarm(key)
		return
	}
	if err := s.arm(key, routineFingerprint(r), t); err != nil {
		s.log.Error("arming a routine failed; the next sync retries", "routine", r.ID, "err", err)
	}
}

// DeleteRoutine deletes one of a user's routines (its runs are kept).
func (s *Scheduler) DeleteRoutine(ctx context.Context, userID, id string) error {
	if _, err := s.Routine(ctx, userID, id); err != nil {
		return err
	}
	if err := s.o.Store.DeleteRoutine(ctx, id); err != nil {
		return err
	}
	s.unarm(routineKey(id))
	return nil
}

// RunRoutineNow starts one of a user's routines now, outside its
// schedule, without waiting for its answer (which goes to its target).
func (s *Scheduler) RunRoutineNow(ctx context.Context, userID, id string) (Event, error) {
	if !s.running() {
		return Event{}, ErrNotStarted
	}
	if _, err := s.Routine(ctx, userID, id); err != nil {
		return Event{}, err
	}
	return s.runRoutine(ctx, id, s.clock.Now(), triggerManual, ""), nil
}
