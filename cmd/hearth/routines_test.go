package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// homeOf returns HEARTH_HOME of an environment made by hearthEnv.
func homeOf(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HEARTH_HOME="); ok {
			return v
		}
	}
	return ""
}

func TestRoutinesCommands(t *testing.T) {
	env := hearthEnv(t, "")
	r := hearth(t, env, "", "routines", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "No routines.") {
		t.Fatalf("ls on a fresh home: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{
		{"routines"},
		{"routines", "show"},
		{"routines", "rm", "a", "b"},
		{"routines", "ls", "extra"},
		{"routines", "frobnicate"},
	} {
		if r := hearth(t, env, "", bad...); r.code != 2 || !strings.Contains(r.stderr, "usage") && !strings.Contains(r.stderr, "unknown routines command") {
			t.Errorf("%v: exit %d stderr %q", bad, r.code, r.stderr)
		}
	}

	// A routine as the assistant would have created it (the first command
	// created the owner).
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(homeOf(env), "hearth.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := st.IdentityFor(ctx, "repl", "owner")
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-time.Hour)
	err = st.CreateRoutine(ctx, engine.Routine{ID: "rt_0123456789", UserID: owner.UserID, Name: "Weekly report",
		Prompt:   "Remind me to send the weekly report.",
		Schedule: engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 17 * * 5", Timezone: "Europe/Paris"},
		Session:  engine.SessionOwn, Deliver: engine.DeliverOrigin, Missed: engine.MissedRunOnce,
		CreatedFrom: engine.Address{Channel: "telegram", Conversation: "42"}, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.StartRun(ctx, engine.RunRecord{RunID: "routine:rt_0123456789:1", Kind: engine.RunRoutine, UserID: owner.UserID,
		RoutineID: "rt_0123456789", ScheduledAt: created, StartedAt: created, Outcome: engine.RunOK, Delivered: true,
		Usage: engine.Usage{InputTokens: 120, OutputTokens: 30}}); err != nil {
		t.Fatal(err)
	}
	_ = st.Close()

	r = hearth(t, env, "", "routines", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "rt_0123456789") || !strings.Contains(r.stdout, "Weekly report") ||
		!strings.Contains(r.stdout, "cron 0 17 * * 5 (Europe/Paris)") || !strings.Contains(r.stdout, "Fri ") {
		t.Fatalf("ls: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "routines", "ls", "--user", "owner"); r.code != 0 || !strings.Contains(r.stdout, "rt_0123456789") {
		t.Fatalf("ls --user owner: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "routines", "ls", "--user", "nobody"); r.code != 1 || !strings.Contains(r.stderr, "no user") {
		t.Fatalf("ls --user nobody: %d %q", r.code, r.stderr)
	}
	r = hearth(t, env, "", "routines", "show", "rt_0123456789")
	for _, want := range []string{"Remind me to send the weekly report.", "origin (telegram/42)", "run_once", "17:00 CE", "ok, delivered", "150"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q: %q", want, r.stdout)
		}
	}
	r = hearth(t, env, "", "routines", "run", "rt_0123456789")
	if r.code != 0 || !strings.Contains(r.stdout, "Asked to run routine rt_0123456789 now") {
		t.Fatalf("run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "routines", "show", "rt_0123456789"); !strings.Contains(r.stdout, "run requested") {
		t.Fatalf("show after run: %q", r.stdout)
	}
	// Nobody serves: --wait says so and fails.
	if r := hearth(t, env, "", "routines", "run", "rt_0123456789", "--wait", "1s"); r.code != 1 || !strings.Contains(r.stderr, "no Hearth process took the request") {
		t.Fatalf("run --wait without a server: %d %q", r.code, r.stderr)
	}
	if r := hearth(t, env, "", "routines", "rm", "rt_0123456789"); r.code != 0 || !strings.Contains(r.stdout, "Deleted routine rt_0123456789") {
		t.Fatalf("rm: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"routines", "show", "rt_0123456789"}, {"routines", "rm", "rt_0123456789"}, {"routines", "run", "rt_0123456789"}} {
		if r := hearth(t, env, "", args...); r.code != 1 || !strings.Contains(r.stderr, `no routine "rt_0123456789"`) {
			t.Errorf("%v after rm: %d %q", args, r.code, r.stderr)
		}
	}
}
