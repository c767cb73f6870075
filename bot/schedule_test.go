package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/repl"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/internal/fakellm"
)

func TestScheduleProblems(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	if err := ScheduleProblems(loadConfig(t, f.BaseURL())); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	cases := []struct {
		env, key string
	}{
		{"HEARTH_HEARTBEAT__INTERVAL=30s", "heartbeat.interval"},
		{"HEARTH_HEARTBEAT__ACTIVE_HOURS=8-22", "heartbeat.active_hours"},
		{"HEARTH_HEARTBEAT__ACTIVE_HOURS=10:00-10:00", "heartbeat.active_hours"},
		{"HEARTH_HEARTBEAT__DAILY_TOKEN_BUDGET=-1", "heartbeat.daily_token_budget"},
		{"HEARTH_HEARTBEAT__MAX_FAILURES=0", "heartbeat.max_failures"},
		{"HEARTH_HEARTBEAT__DEDUPE_WINDOW=0s", "heartbeat.dedupe_window"},
		{"HEARTH_HEARTBEAT__MISSED=later", "heartbeat.missed"},
		{"HEARTH_ROUTINES__MAX_PER_USER=0", "routines.max_per_user"},
		{"HEARTH_ROUTINES__MIN_INTERVAL=10s", "routines.min_interval"},
		{"HEARTH_ROUTINES__MAX_FAILURES=0", "routines.max_failures"},
		{"HEARTH_SCHEDULE__MAX_CONCURRENT=0", "schedule.max_concurrent"},
		{"HEARTH_SCHEDULE__SYNC_INTERVAL=1s", "schedule.sync_interval"},
		{"HEARTH_SCHEDULE__RUN_RETENTION=1m", "schedule.run_retention"},
		{"HEARTH_SCHEDULE__LOCK_MIN_HOLD=-1s", "schedule.lock_min_hold"},
	}
	for _, c := range cases {
		err := ScheduleProblems(loadConfig(t, f.BaseURL(), c.env))
		var ce *config.Error
		if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != c.key {
			t.Errorf("%s: %v, want one problem with %s", c.env, err, c.key)
		}
	}
	// The problems reach the bot: setupSchedule refuses them.
	b, err := New(context.Background(), loadConfig(t, f.BaseURL(), "HEARTH_HEARTBEAT__MISSED=later"), Options{Mode: ModeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Tools = tools.New(tools.Options{})
	if _, err := b.setupSchedule(context.Background()); err == nil || !strings.Contains(err.Error(), "heartbeat.missed") {
		t.Fatalf("setupSchedule with a bad key: %v", err)
	}
}

// The wiring registers the tools; the console and CLI functions act on
// the owner's routines and heartbeat.
func TestScheduleWiringConsoleAndCLI(t *testing.T) {
	ctx := context.Background()
	f := fakellm.NewOpenAI(t)
	b, err := New(ctx, loadConfig(t, f.BaseURL(), "HEARTH_AGENT__TIMEZONE=Europe/Paris"), Options{Mode: ModeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Tools = tools.New(tools.Options{})
	sched, err := b.setupSchedule(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, sensitive := range map[string]bool{"routine_create": true, "routine_update": true, "routine_delete": true,
		"routine_list": false, "routine_run_now": false, "heartbeat_update": true} {
		info, ok := b.Tools.Info(name)
		if !ok || info.Sensitive != sensitive {
			t.Errorf("tool %s: registered %v, sensitive %v", name, ok, info.Sensitive)
		}
	}
	owner, err := b.Store.IdentityFor(ctx, ownerChannel, ownerID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Tools.Execute(ctx, "routine_create", engine.ToolInvocation{UserID: owner.UserID, Timezone: "Europe/Paris",
		From: engine.Address{Channel: "repl", Conversation: "console"},
		Args: json.RawMessage(`{"name":"Standup","prompt":"Remind me of the standup.","cron":"45 9 * * 1-5"}`)})
	if err != nil || res.IsError {
		t.Fatalf("routine_create: %+v, %v", res, err)
	}

	console := scheduleAdmin{b, sched}
	list, err := console.Routines(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "Standup" || list[0].Schedule != "cron 45 9 * * 1-5 (Europe/Paris)" ||
		!list[0].Enabled || list[0].NextRun.IsZero() {
		t.Fatalf("/routines: %+v, %v", list, err)
	}
	id := list[0].ID
	line, err := console.Heartbeat(ctx, "")
	if err != nil || !strings.HasPrefix(line, "heartbeat: on, every 30m0s; active 08:00-22:00, Europe/Paris") {
		t.Fatalf("/heartbeat: %q, %v", line, err)
	}
	if line, err := console.Heartbeat(ctx, "pause"); err != nil || line != "heartbeat paused" {
		t.Fatalf("/heartbeat pause: %q, %v", line, err)
	}
	if line, _ := console.Heartbeat(ctx, ""); !strings.Contains(line, "paused (paused by the user)") {
		t.Fatalf("/heartbeat after pause: %q", line)
	}
	if line, err := console.Heartbeat(ctx, "resume"); err != nil || line != "heartbeat resumed" {
		t.Fatalf("/heartbeat resume: %q, %v", line, err)
	}
	if _, err := console.Heartbeat(ctx, "run"); err == nil {
		t.Fatal("/heartbeat run on a scheduler that is not running succeeded")
	}
	if _, err := (scheduleAdmin{b, nil}).Routines(ctx); !errors.Is(err, repl.ErrNotAvailable) {
		t.Fatalf("without a scheduler: %v", err)
	}

	// The CLI side works on the store alone.
	all, err := b.RoutineList(ctx, "")
	if err != nil || len(all) != 1 || all[0].NextRunAt.IsZero() {
		t.Fatalf("RoutineList: %+v, %v", all, err)
	}
	r, runs, err := b.RoutineShow(ctx, id, 5)
	if err != nil || r.Prompt != "Remind me of the standup." || len(runs) != 0 {
		t.Fatalf("RoutineShow: %+v %+v %v", r, runs, err)
	}
	at, err := b.RoutineRequestRun(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _ := b.RoutineShow(ctx, id, 5); !r.RunRequestedAt.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("run request %v, want %v", r.RunRequestedAt, at)
	}
	if _, ok, err := b.RoutineRunSince(ctx, id, at); err != nil || ok {
		t.Fatalf("a run before any process took the request: %v %v", ok, err)
	}
	if err := b.RoutineDelete(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.RoutineShow(ctx, id, 5); err == nil || !strings.Contains(err.Error(), "no routine") {
		t.Fatalf("show after rm: %v", err)
	}
	if err := b.RoutineDelete(ctx, id); err == nil {
		t.Fatal("deleting twice succeeded")
	}
}
