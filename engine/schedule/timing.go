package schedule

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/robfig/cron/v3"
)

// timing computes when a job fires. It is a pure function of its
// definition, so every process sharing a store computes the same times,
// and a run's scheduled time (its "slot") names it across processes.
// Returned times are in UTC.
type timing interface {
	// next is the first fire time strictly after after; zero: never.
	next(after time.Time) time.Time
	// prev is the latest fire time at or before now; zero: none.
	prev(now time.Time) time.Time
}

// never is returned by timings that will not fire again.
var never time.Time

// cronTiming fires on a cron expression read in a timezone. A wall-clock
// time that does not exist on a spring-forward night is skipped that day;
// one that occurs twice on a fall-back night fires once.
type cronTiming struct {
	spec cron.Schedule
	loc  *time.Location
}

func (c cronTiming) next(after time.Time) time.Time {
	n := c.spec.Next(after)
	if n.IsZero() {
		return never
	}
	if sameWallClock(n.In(c.loc), after.In(c.loc)) {
		n = c.spec.Next(n) // the second occurrence of a fall-back hour
	}
	return n.UTC()
}

func sameWallClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

// cronLookbacks are the windows searched, shortest first, for the latest
// fire time before now: every window is searched forward from its start.
var cronLookbacks = [...]time.Duration{
	2 * time.Minute, 2 * time.Hour, 50 * time.Hour, 8 * 24 * time.Hour,
	32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 367 * 24 * time.Hour,
}

func (c cronTiming) prev(now time.Time) time.Time {
	for _, lb := range cronLookbacks {
		t := c.next(now.Add(-lb))
		if t.IsZero() || t.After(now) {
			continue
		}
		for {
			n := c.next(t)
			if n.IsZero() || n.After(now) {
				return t
			}
			t = n
		}
	}
	return never
}

// everyTiming fires at anchor + k·every (k ≥ 1), inside an optional
// window of active hours.
type everyTiming struct {
	anchor time.Time
	every  time.Duration
	window *window
}

// maxWindowSteps bounds the search for a slot inside the active hours.
const maxWindowSteps = 5000

func (e everyTiming) rawNext(after time.Time) time.Time {
	first := e.anchor.Add(e.every)
	if after.Before(first) {
		return first.UTC()
	}
	k := after.Sub(e.anchor)/e.every + 1
	return e.anchor.Add(k * e.every).UTC()
}

func (e everyTiming) rawPrev(now time.Time) time.Time {
	if now.Before(e.anchor.Add(e.every)) {
		return never
	}
	k := now.Sub(e.anchor) / e.every
	return e.anchor.Add(k * e.every).UTC()
}

func (e everyTiming) next(after time.Time) time.Time {
	t := e.rawNext(after)
	if e.window == nil {
		return t
	}
	for range maxWindowSteps {
		if e.window.contains(t) {
			return t
		}
		t = e.rawNext(e.window.nextStart(t).Add(-time.Nanosecond))
	}
	return never
}

func (e everyTiming) prev(now time.Time) time.Time {
	t := e.rawPrev(now)
	for i := 0; e.window != nil && !t.IsZero() && !e.window.contains(t); i++ {
		if i == maxWindowSteps {
			return never
		}
		t = e.rawPrev(t.Add(-time.Nanosecond))
	}
	return t
}

// onceTiming fires once, at at.
type onceTiming struct{ at time.Time }

func (o onceTiming) next(after time.Time) time.Time {
	if after.Before(o.at) {
		return o.at.UTC()
	}
	return never
}

func (o onceTiming) prev(now time.Time) time.Time {
	if o.at.After(now) {
		return never
	}
	return o.at.UTC()
}

// window is a daily span of active hours in a timezone, [start, end) in
// minutes after local midnight; start > end wraps past midnight.
type window struct {
	start, end int
	loc        *time.Location
}

func (w *window) contains(t time.Time) bool {
	l := t.In(w.loc)
	m := l.Hour()*60 + l.Minute()
	if w.start < w.end {
		return m >= w.start && m < w.end
	}
	return m >= w.start || m < w.end
}

// nextStart is the first instant after t at which the window opens.
func (w *window) nextStart(t time.Time) time.Time {
	l := t.In(w.loc)
	c := time.Date(l.Year(), l.Month(), l.Day(), w.start/60, w.start%60, 0, 0, w.loc)
	if !c.After(t) {
		c = time.Date(l.Year(), l.Month(), l.Day()+1, w.start/60, w.start%60, 0, 0, w.loc)
	}
	return c
}

// ValidateActiveHours checks an active-hours setting: "HH:MM-HH:MM" on a
// 24-hour clock (the end may be 24:00; a start after the end wraps past
// midnight, "22:00-06:00"), or "" for always.
func ValidateActiveHours(s string) error {
	_, err := parseActiveHours(s, time.UTC)
	return err
}

// parseActiveHours reads an active-hours setting; nil means always.
func parseActiveHours(s string, loc *time.Location) (*window, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return nil, fmt.Errorf("active hours %q: want HH:MM-HH:MM, such as 08:00-22:00", s)
	}
	start, err := clockMinutes(a, false)
	if err != nil {
		return nil, fmt.Errorf("active hours %q: start: %w", s, err)
	}
	end, err := clockMinutes(b, true)
	if err != nil {
		return nil, fmt.Errorf("active hours %q: end: %w", s, err)
	}
	if start == end || (start == 0 && end == 24*60) {
		if start == end {
			return nil, fmt.Errorf("active hours %q: start and end are equal; leave it empty for always", s)
		}
		return nil, nil
	}
	if end == 24*60 {
		end = 0
	}
	return &window{start: start, end: end, loc: loc}, nil
}

func clockMinutes(s string, endOfDay bool) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (mm != 0 || !endOfDay)) {
		return 0, fmt.Errorf("%q is not a time of day", s)
	}
	return hh*60 + mm, nil
}

// jitterEpoch anchors heartbeat slots; any fixed instant works.
var jitterEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Jitter is a user's fixed offset within a heartbeat interval, in whole
// seconds: a hash of the user id, so every process computes the same
// slots and many users spread evenly over the interval.
func Jitter(userID string, every time.Duration) time.Duration {
	if every <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(userID))
	x := h.Sum64()
	// splitmix64 finaliser: FNV alone clusters similar ids.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	if every < time.Second {
		return time.Duration(x % uint64(every))
	}
	return time.Duration(x%uint64(every/time.Second)) * time.Second // whole seconds
}

// heartbeatTiming fires every interval at the user's jitter offset, inside
// the active hours.
func heartbeatTiming(userID string, every time.Duration, w *window) timing {
	return everyTiming{anchor: jitterEpoch.Add(Jitter(userID, every)), every: every, window: w}
}

// Errors of schedule definitions; match them with errors.Is.
var (
	// ErrInvalidSchedule: a cron expression, interval or time that cannot
	// be used.
	ErrInvalidSchedule = errors.New("invalid schedule")
)

// cronParser reads five-field expressions and descriptors (@daily, ...).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// LoadTimezone loads an IANA zone, refusing "" and "Local" (which would
// silently mean the server's zone).
func LoadTimezone(name string) (*time.Location, error) {
	if name == "" || name == "Local" {
		return nil, fmt.Errorf("%w: timezone %q: use an IANA name such as Europe/Paris or UTC", ErrInvalidSchedule, name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%w: unknown timezone %q: use an IANA name such as Europe/Paris or UTC", ErrInvalidSchedule, name)
	}
	return loc, nil
}

// routineTiming builds the timing of a routine's schedule.
func routineTiming(r engine.Routine) (timing, error) { return routineTimingIn(r, LoadTimezone) }

// routineTimingIn is routineTiming with a timezone loader.
func routineTimingIn(r engine.Routine, load func(string) (*time.Location, error)) (timing, error) {
	sc := r.Schedule
	switch sc.Kind {
	case engine.ScheduleCron:
		loc, err := load(sc.Timezone)
		if err != nil {
			return nil, err
		}
		expr := strings.TrimSpace(sc.Cron)
		switch {
		case expr == "":
			return nil, fmt.Errorf("%w: the cron expression is empty", ErrInvalidSchedule)
		case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
			return nil, fmt.Errorf("%w: cron %q: give the timezone separately, not in the expression", ErrInvalidSchedule, expr)
		case strings.HasPrefix(expr, "@every"):
			return nil, fmt.Errorf("%w: cron %q: use an interval (every) instead of @every", ErrInvalidSchedule, expr)
		}
		parsed, err := cronParser.Parse(expr)
		if err != nil {
			return nil, fmt.Errorf("%w: cron %q: %v (five fields: minute hour day-of-month month day-of-week)", ErrInvalidSchedule, expr, err)
		}
		spec, ok := parsed.(*cron.SpecSchedule)
		if !ok {
			return nil, fmt.Errorf("%w: cron %q is not a calendar schedule", ErrInvalidSchedule, expr)
		}
		spec.Location = loc // read in the routine's zone (the parser leaves time.Local)
		return cronTiming{spec: spec, loc: loc}, nil
	case engine.ScheduleEvery:
		if sc.Every <= 0 {
			return nil, fmt.Errorf("%w: the interval must be positive, got %s", ErrInvalidSchedule, sc.Every)
		}
		if r.CreatedAt.IsZero() {
			return nil, fmt.Errorf("%w: an interval routine needs its creation time", ErrInvalidSchedule)
		}
		return everyTiming{anchor: r.CreatedAt, every: sc.Every}, nil
	case engine.ScheduleOnce:
		if sc.At.IsZero() {
			return nil, fmt.Errorf("%w: a one-time routine needs a time", ErrInvalidSchedule)
		}
		return onceTiming{at: sc.At}, nil
	}
	return nil, fmt.Errorf("%w: unknown schedule kind %q (cron, every or once)", ErrInvalidSchedule, sc.Kind)
}

// minGap is the shortest time between consecutive fires among the next
// few, for the minimum-interval rule.
func minGap(t timing, from time.Time) time.Duration {
	gap := time.Duration(1<<63 - 1)
	prev := t.next(from)
	for range 24 {
		if prev.IsZero() {
			break
		}
		n := t.next(prev)
		if n.IsZero() {
			break
		}
		gap = min(gap, n.Sub(prev))
		prev = n
	}
	return gap
}

// NextRun is when a routine runs next after now, zero when never (paused,
// done, or an invalid schedule).
func NextRun(r engine.Routine, now time.Time) time.Time {
	if r.Status != engine.RoutineActive {
		return never
	}
	t, err := routineTiming(r)
	if err != nil {
		return never
	}
	return t.next(now)
}

// Describe renders a schedule for people: "cron 0 9 * * 1-5 (Europe/Paris)",
// "every 2h0m0s", "once at 2026-03-27 17:00 CET".
func Describe(sc engine.Schedule) string {
	switch sc.Kind {
	case engine.ScheduleCron:
		return fmt.Sprintf("cron %s (%s)", sc.Cron, sc.Timezone)
	case engine.ScheduleEvery:
		return "every " + sc.Every.String()
	case engine.ScheduleOnce:
		at := sc.At
		if loc, err := LoadTimezone(sc.Timezone); err == nil {
			at = at.In(loc)
		}
		return "once at " + at.Format("2006-01-02 15:04 MST")
	}
	return string(sc.Kind)
}
