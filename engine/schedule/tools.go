package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// ToolSource is the ToolInfo.Source of the scheduler's tools.
const ToolSource = "builtin"

// Tools returns the agent's tools over s: routine_create, routine_list,
// routine_update, routine_delete, routine_run_now and heartbeat_update.
// Creating, changing or deleting a routine and redirecting the heartbeat
// are Sensitive: a turn tainted by untrusted content needs the owner's
// approval for them.
func Tools(s *Scheduler) []engine.Tool {
	return []engine.Tool{
		&tool{s: s, info: info("routine_create", createDesc, createSchema, true), run: s.toolCreate},
		&tool{s: s, info: info("routine_list", "List the user's routines with their schedules, state and next run.", `{"type":"object","properties":{},"additionalProperties":false}`, false), run: s.toolList},
		&tool{s: s, info: info("routine_update", updateDesc, updateSchema, true), run: s.toolUpdate},
		&tool{s: s, info: info("routine_delete", "Delete one of the user's routines by id.", idSchema, true), run: s.toolDelete},
		&tool{s: s, info: info("routine_run_now", "Run one of the user's routines now, outside its schedule; its answer goes where its answers always go.", idSchema, false), run: s.toolRunNow},
		&tool{s: s, info: info("heartbeat_update", heartbeatDesc, heartbeatSchema, true), run: s.toolHeartbeat},
	}
}

func info(name, desc, schema string, sensitive bool) engine.ToolInfo {
	return engine.ToolInfo{Name: name, Description: desc, Parameters: json.RawMessage(schema),
		Sensitive: sensitive, Parallel: !sensitive, Source: ToolSource, Timeout: 30 * time.Second}
}

type tool struct {
	s    *Scheduler
	info engine.ToolInfo
	run  func(ctx context.Context, inv engine.ToolInvocation) (string, error)
}

func (t *tool) Info() engine.ToolInfo { return t.info }

// Execute implements engine.Tool: a mistake the model can fix (a bad
// schedule, an unknown id) comes back as an error result it can read.
func (t *tool) Execute(ctx context.Context, inv engine.ToolInvocation) (engine.ToolResult, error) {
	out, err := t.run(ctx, inv)
	if err != nil {
		if userError(err) {
			return engine.ToolResult{Content: t.info.Name + ": " + err.Error(), IsError: true}, nil
		}
		t.s.log.Error("scheduler tool failed", "tool", t.info.Name, "err", err)
		return engine.ToolResult{Content: t.info.Name + ": the scheduler could not do that right now; try again later", IsError: true}, nil
	}
	return engine.ToolResult{Content: out}, nil
}

func userError(err error) bool {
	for _, target := range []error{ErrInvalidSchedule, ErrInvalidRoutine, ErrTooManyRoutines, engine.ErrNotFound, ErrNotStarted, errBadArgs} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

var errBadArgs = errors.New("invalid arguments")

const (
	createDesc = "Create a routine: a prompt you will be given on a schedule, in the user's timezone, to remind, " +
		"check or summarise something. Give exactly one of cron (repeating times, e.g. \"0 9 * * 1\" for every Monday at 9:00), " +
		"every (a fixed interval such as \"2h\") or at (one time, e.g. \"2026-03-27T17:00\"). " +
		"At each run you answer the prompt; answering ROUTINE_OK sends nothing."
	updateDesc = "Change one of the user's routines by id: any of name, prompt, schedule (cron, every or at), " +
		"timezone, session, deliver, missed; enabled false pauses it, true resumes it."
	heartbeatDesc = "Change the user's heartbeat (the periodic check of their HEARTBEAT.md checklist): " +
		"pause or resume it, and choose where its alerts go (here: this conversation; last: wherever the user last wrote from)."
	idSchema = `{"type":"object","properties":{"id":{"type":"string","description":"The routine's id (rt_...)."}},"required":["id"],"additionalProperties":false}`

	routineProps = `
    "name": {"type": "string", "description": "A short name, e.g. \"Weekly report reminder\"."},
    "prompt": {"type": "string", "description": "What to do at each run, as an instruction to yourself, e.g. \"Remind the user to send the weekly report.\""},
    "cron": {"type": "string", "description": "Five-field cron expression read in the timezone: minute hour day-of-month month day-of-week. \"0 9 * * 1-5\" is weekdays at 9:00."},
    "every": {"type": "string", "description": "A fixed interval counted from now: \"30m\", \"2h\", \"1d\", \"1w\"."},
    "at": {"type": "string", "description": "One time: local date and time in the timezone, \"2026-03-27T17:00\", or RFC 3339 with an offset."},
    "timezone": {"type": "string", "description": "IANA timezone such as Europe/Paris; defaults to the user's."},
    "session": {"type": "string", "enum": ["own", "main"], "description": "own (default): runs apart from this conversation; main: runs inside this conversation, with its history."},
    "deliver": {"type": "string", "enum": ["here", "last", "none"], "description": "here (default): answers come to this conversation; last: to wherever the user last wrote from; none: only recorded."},
    "missed": {"type": "string", "enum": ["run_once", "skip"], "description": "When Hearth was not running at the time: run once when it starts (default) or skip."}`
	createSchema = `{"type": "object", "properties": {` + routineProps + `},
  "required": ["name", "prompt"], "additionalProperties": false}`
	updateSchema = `{"type": "object", "properties": {
    "id": {"type": "string", "description": "The routine's id (rt_...)."},
    "enabled": {"type": "boolean", "description": "false pauses the routine, true resumes it."},` + routineProps + `},
  "required": ["id"], "additionalProperties": false}`
	heartbeatSchema = `{"type": "object", "properties": {
    "paused": {"type": "boolean", "description": "true pauses the heartbeat, false resumes it."},
    "deliver": {"type": "string", "enum": ["here", "last"], "description": "Where alerts go: here (this conversation) or last (wherever the user last wrote from, the default)."}
  }, "additionalProperties": false}`
)

// routineArgs are the fields routine_create and routine_update share.
type routineArgs struct {
	ID       string  `json:"id"`
	Enabled  *bool   `json:"enabled"`
	Name     *string `json:"name"`
	Prompt   *string `json:"prompt"`
	Cron     *string `json:"cron"`
	Every    *string `json:"every"`
	At       *string `json:"at"`
	Timezone *string `json:"timezone"`
	Session  *string `json:"session"`
	Deliver  *string `json:"deliver"`
	Missed   *string `json:"missed"`
}

func decode(inv engine.ToolInvocation, dst any) error {
	if len(inv.Args) == 0 {
		return nil
	}
	if err := json.Unmarshal(inv.Args, dst); err != nil {
		return fmt.Errorf("%w: %v", errBadArgs, err)
	}
	return nil
}

// timezone picks the routine's zone: the argument, the user's, the default.
func (s *Scheduler) timezone(a routineArgs, inv engine.ToolInvocation, current string) (string, *time.Location, error) {
	name := current
	if a.Timezone != nil && strings.TrimSpace(*a.Timezone) != "" {
		name = strings.TrimSpace(*a.Timezone)
	}
	if name == "" {
		name = inv.Timezone
	}
	if name == "" {
		name = s.o.DefaultTimezone
	}
	loc, err := LoadTimezone(name)
	return name, loc, err
}

// parseSchedule reads the one schedule field given; ok is false when none
// is.
func parseSchedule(a routineArgs, tz string, loc *time.Location) (engine.Schedule, bool, error) {
	n := 0
	for _, p := range []*string{a.Cron, a.Every, a.At} {
		if p != nil && strings.TrimSpace(*p) != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return engine.Schedule{}, false, nil
	case n > 1:
		return engine.Schedule{}, false, fmt.Errorf("%w: give exactly one of cron, every and at", ErrInvalidSchedule)
	}
	sc := engine.Schedule{Timezone: tz}
	switch {
	case a.Cron != nil && strings.TrimSpace(*a.Cron) != "":
		sc.Kind, sc.Cron = engine.ScheduleCron, strings.TrimSpace(*a.Cron)
	case a.Every != nil && strings.TrimSpace(*a.Every) != "":
		d, err := ParseEvery(*a.Every)
		if err != nil {
			return sc, false, err
		}
		sc.Kind, sc.Every = engine.ScheduleEvery, d
	default:
		at, err := ParseAt(*a.At, loc)
		if err != nil {
			return sc, false, err
		}
		sc.Kind, sc.At = engine.ScheduleOnce, at
	}
	return sc, true, nil
}

// ParseEvery reads an interval: a Go duration ("90m", "2h30m") or a
// whole number of days or weeks ("1d", "2w").
func ParseEvery(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if k, err := strconv.Atoi(n); err == nil && k > 0 && k <= 3660 {
				return time.Duration(k) * unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: interval %q: use a positive duration such as 30m, 2h or 1d", ErrInvalidSchedule, s)
	}
	return d, nil
}

// ParseAt reads a one-time instant: RFC 3339, or a local date and time
// ("2026-03-27T17:00", "2026-03-27 17:00[:05]") in loc.
func ParseAt(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: time %q: use a local date and time such as 2026-03-27T17:00", ErrInvalidSchedule, s)
}

func deliverMode(s string) (engine.DeliveryMode, error) {
	switch s {
	case "", "here":
		return engine.DeliverOrigin, nil
	case "last":
		return engine.DeliverLast, nil
	case "none":
		return engine.DeliverNone, nil
	}
	return "", fmt.Errorf("%w: deliver %q: want here, last or none", ErrInvalidRoutine, s)
}

func (s *Scheduler) toolCreate(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	var a routineArgs
	if err := decode(inv, &a); err != nil {
		return "", err
	}
	tz, loc, err := s.timezone(a, inv, "")
	if err != nil {
		return "", err
	}
	sc, ok, err := parseSchedule(a, tz, loc)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("%w: give one of cron, every or at", ErrInvalidSchedule)
	}
	r := engine.Routine{UserID: inv.UserID, Schedule: sc, CreatedFrom: inv.From}
	if err := applyText(&r, a); err != nil {
		return "", err
	}
	r, err = s.CreateRoutine(ctx, r)
	if err != nil {
		return "", err
	}
	return "Created " + s.view(r, loc), nil
}

// applyText copies the optional text and enum fields of a onto r.
func applyText(r *engine.Routine, a routineArgs) error {
	if a.Name != nil {
		r.Name = *a.Name
	}
	if a.Prompt != nil {
		r.Prompt = *a.Prompt
	}
	if a.Session != nil {
		r.Session = engine.RoutineSession(*a.Session)
	}
	if a.Missed != nil {
		r.Missed = engine.MissedPolicy(*a.Missed)
	}
	if a.Deliver != nil {
		d, err := deliverMode(*a.Deliver)
		if err != nil {
			return err
		}
		r.Deliver = d
	}
	return nil
}

func (s *Scheduler) toolList(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	list, err := s.Routines(ctx, inv.UserID)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "The user has no routines.", nil
	}
	_, loc, _ := s.timezone(routineArgs{}, inv, "")
	var b strings.Builder
	for _, r := range list {
		b.WriteString(s.view(r, loc))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func (s *Scheduler) toolUpdate(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	var a routineArgs
	if err := decode(inv, &a); err != nil {
		return "", err
	}
	r, err := s.Routine(ctx, inv.UserID, a.ID)
	if err != nil {
		return "", err
	}
	tz, loc, err := s.timezone(a, inv, r.Schedule.Timezone)
	if err != nil {
		return "", err
	}
	sc, ok, err := parseSchedule(a, tz, loc)
	if err != nil {
		return "", err
	}
	changed := ok || a.Timezone != nil || a.Name != nil || a.Prompt != nil || a.Session != nil || a.Deliver != nil || a.Missed != nil
	if changed {
		if ok {
			r.Schedule = sc
		}
		r.Schedule.Timezone = tz
		if err := applyText(&r, a); err != nil {
			return "", err
		}
		if r, err = s.UpdateRoutine(ctx, inv.UserID, r); err != nil {
			return "", err
		}
	}
	if a.Enabled != nil {
		if r, err = s.SetRoutineEnabled(ctx, inv.UserID, r.ID, *a.Enabled); err != nil {
			return "", err
		}
	} else if !changed {
		return "", fmt.Errorf("%w: nothing to change; give a field to change", errBadArgs)
	}
	return "Updated " + s.view(r, loc), nil
}

func (s *Scheduler) toolDelete(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	var a routineArgs
	if err := decode(inv, &a); err != nil {
		return "", err
	}
	r, err := s.Routine(ctx, inv.UserID, a.ID)
	if err != nil {
		return "", err
	}
	if err := s.DeleteRoutine(ctx, inv.UserID, a.ID); err != nil {
		return "", err
	}
	return fmt.Sprintf("Deleted routine %s %q.", r.ID, r.Name), nil
}

func (s *Scheduler) toolRunNow(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	var a routineArgs
	if err := decode(inv, &a); err != nil {
		return "", err
	}
	ev, err := s.RunRoutineNow(ctx, inv.UserID, a.ID)
	if err != nil {
		return "", err
	}
	switch ev.Phase {
	case PhaseStarted:
		return fmt.Sprintf("Started routine %s; its answer will arrive as a separate message.", a.ID), nil
	case PhaseFinished:
		return "", fmt.Errorf("routine %s could not start: %s", a.ID, ev.Detail)
	}
	return fmt.Sprintf("Routine %s did not run: %s.", a.ID, ev.Detail), nil
}

func (s *Scheduler) toolHeartbeat(ctx context.Context, inv engine.ToolInvocation) (string, error) {
	var a struct {
		Paused  *bool   `json:"paused"`
		Deliver *string `json:"deliver"`
	}
	if err := decode(inv, &a); err != nil {
		return "", err
	}
	if a.Paused == nil && a.Deliver == nil {
		return "", fmt.Errorf("%w: give paused or deliver", errBadArgs)
	}
	var done []string
	if a.Deliver != nil {
		to := engine.Address{}
		switch *a.Deliver {
		case "here":
			if inv.From.Channel == "" {
				return "", fmt.Errorf("%w: this turn has no conversation to deliver to", errBadArgs)
			}
			to = inv.From
		case "last":
		default:
			return "", fmt.Errorf("%w: deliver %q: want here or last", errBadArgs, *a.Deliver)
		}
		if err := s.SetHeartbeatTarget(ctx, inv.UserID, to); err != nil {
			return "", err
		}
		if to.Channel == "" {
			done = append(done, "alerts go to wherever the user last wrote from")
		} else {
			done = append(done, "alerts come to this conversation")
		}
	}
	if a.Paused != nil {
		if *a.Paused {
			if err := s.PauseHeartbeat(ctx, inv.UserID); err != nil {
				return "", err
			}
			done = append(done, "the heartbeat is paused")
		} else {
			if err := s.ResumeHeartbeat(ctx, inv.UserID); err != nil {
				return "", err
			}
			done = append(done, "the heartbeat is running")
		}
	}
	return "Done: " + strings.Join(done, "; ") + ".", nil
}

// view renders a routine for the model, times in loc.
func (s *Scheduler) view(r engine.Routine, loc *time.Location) string {
	if rl, err := LoadTimezone(r.Schedule.Timezone); err == nil {
		loc = rl
	}
	when := func(t time.Time) string {
		if t.IsZero() {
			return "none"
		}
		return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
	}
	deliver := map[engine.DeliveryMode]string{
		engine.DeliverOrigin: "to the conversation it was created in",
		engine.DeliverLast:   "to wherever the user last wrote from",
		engine.DeliverNone:   "nowhere (recorded only)",
	}[r.Deliver]
	state := string(r.Status)
	if r.StatusReason != "" {
		state += " (" + r.StatusReason + ")"
	}
	return fmt.Sprintf("routine %s %q: %s; %s; next run %s; last run %s; session %s; answers go %s; prompt: %s",
		r.ID, r.Name, Describe(r.Schedule), state, when(r.NextRunAt), when(r.LastRunAt), r.Session, deliver, r.Prompt)
}
