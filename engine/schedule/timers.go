package schedule

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/hearthbot/hearth/engine"
)

// The timers: one gocron job per heartbeat and routine, whose times come
// from a timing (a custom gocron.Cron).

func (s *Scheduler) reconcile(want map[string]wantJob) error {
	s.armMu.Lock()
	defer s.armMu.Unlock()
	s.mu.Lock()
	var stale []string
	for key := range s.jobs {
		if _, ok := want[key]; !ok {
			stale = append(stale, key)
		}
	}
	s.mu.Unlock()
	for _, key := range stale {
		s.unarmLocked(key)
	}
	var errs []error
	for key, w := range want {
		if err := s.armLocked(key, w.fp, w.timing); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("schedule: arming timers: %w", err)
	}
	return nil
}

// Job keys name timers and distributed locks.
func heartbeatKey(userID string) string { return "heartbeat:" + userID }
func routineKey(id string) string       { return "routine:" + id }

func routineFingerprint(r engine.Routine) string {
	sc := r.Schedule
	return fmt.Sprintf("%s|%s|%d|%d|%s|%d", sc.Kind, sc.Cron, sc.Every, sc.At.UnixNano(), sc.Timezone, r.CreatedAt.UnixNano())
}

// arm registers or replaces the timer of key, unless it is armed with the
// same fingerprint already.
func (s *Scheduler) arm(key, fp string, t timing) error {
	s.armMu.Lock()
	defer s.armMu.Unlock()
	return s.armLocked(key, fp, t)
}

func (s *Scheduler) armLocked(key, fp string, t timing) error {
	if !s.running() {
		return nil
	}
	s.mu.Lock()
	cur := s.jobs[key]
	s.mu.Unlock()
	if cur != nil && cur.fp == fp {
		return nil
	}
	if t == nil {
		return nil // disarmed meanwhile; the next sync arms it again
	}
	if t.next(s.clock.Now()).IsZero() {
		if cur != nil {
			s.unarmLocked(key)
		}
		return nil
	}
	def := gocron.CronJob(key, false)
	task := gocron.NewTask(s.fire, key)
	opts := []gocron.JobOption{
		gocron.WithName("hearth:" + key),
		gocron.WithCronImplementation(cronAdapter{t}),
	}
	var (
		j   gocron.Job
		err error
	)
	if cur != nil {
		j, err = s.cron.Update(cur.id, def, task, opts...)
	} else {
		j, err = s.cron.NewJob(def, task, opts...)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	if j == nil { // the scheduler shut down meanwhile
		return nil
	}
	s.mu.Lock()
	s.jobs[key] = &armed{id: j.ID(), fp: fp, timing: t}
	s.mu.Unlock()
	return nil
}

func (s *Scheduler) unarm(key string) {
	s.armMu.Lock()
	defer s.armMu.Unlock()
	s.unarmLocked(key)
}

func (s *Scheduler) unarmLocked(key string) {
	s.mu.Lock()
	cur := s.jobs[key]
	delete(s.jobs, key)
	s.mu.Unlock()
	if cur != nil {
		if err := s.cron.RemoveJob(cur.id); err != nil && !errors.Is(err, gocron.ErrJobNotFound) {
			s.log.Warn("removing a timer failed", "job", key, "err", err)
		}
	}
}

// fingerprints copies the fingerprint of every armed job.
func (s *Scheduler) fingerprints() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.jobs))
	for k, a := range s.jobs {
		out[k] = a.fp
	}
	return out
}

// armedTiming returns the timing of an armed job.
func (s *Scheduler) armedTiming(key string) (timing, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.jobs[key]
	if a == nil {
		return nil, false
	}
	return a.timing, true
}

// NextFire is when the timer of a heartbeat (kind engine.RunHeartbeat, id
// a user id) or a routine fires next in this process; zero when it is not
// armed.
func (s *Scheduler) NextFire(kind engine.RunKind, id string) time.Time {
	key := routineKey(id)
	if kind == engine.RunHeartbeat {
		key = heartbeatKey(id)
	}
	t, ok := s.armedTiming(key)
	if !ok {
		return never
	}
	return t.next(s.clock.Now())
}

// Armed counts the timers of this process.
func (s *Scheduler) Armed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// farFuture stands for "never" towards gocron, which would loop on a zero
// next time when a job is armed.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// cronAdapter is gocron's view of a timing (a custom cron).
type cronAdapter struct{ t timing }

// IsValid implements gocron.Cron: a timing that never fires again is
// refused.
func (c cronAdapter) IsValid(_ string, _ *time.Location, now time.Time) error {
	if c.t.next(now).IsZero() {
		return gocron.ErrCronJobInvalid
	}
	return nil
}

// Next implements gocron.Cron.
func (c cronAdapter) Next(last time.Time) time.Time {
	if n := c.t.next(last); !n.IsZero() {
		return n
	}
	return farFuture
}
