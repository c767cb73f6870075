package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// The scheduler's store methods (engine.JobStore): routines, heartbeats,
// run records and LastInbound. Beyond the interface's doc comments the
// suite pins down: ListRoutines orders by CreatedAt then id; UpdateRoutine
// leaves the state alone and UpdateRoutineState the definition;
// DeleteRoutine keeps the routine's runs; StartRun of a known run id
// changes nothing; ListRuns orders by StartedAt, newest first; PruneRuns
// never deletes a run still running.

// jobStore returns s as an engine.JobStore or fails the test: every
// backend must implement the scheduler's methods.
func jobStore(t *testing.T, s engine.Store) engine.JobStore {
	t.Helper()
	js, ok := s.(engine.JobStore)
	if !ok {
		t.Fatalf("%T does not implement engine.JobStore (routines, heartbeats, runs, LastInbound)", s)
	}
	return js
}

func newRoutine(id, userID string, created time.Time) engine.Routine {
	return engine.Routine{
		ID: id, UserID: userID, Name: "Routine " + id, Prompt: "Summarise my day.",
		Schedule: engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 9 * * 1-5", Timezone: "Europe/Paris"},
		Session:  engine.SessionOwn, Deliver: engine.DeliverOrigin,
		CreatedFrom: engine.Address{Channel: "telegram", Conversation: "42", Thread: "7"},
		Missed:      engine.MissedRunOnce, CreatedAt: created, UpdatedAt: created,
		RoutineState: engine.RoutineState{Status: engine.RoutineActive},
	}
}

func checkRoutine(t *testing.T, got, want engine.Routine) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Name != want.Name || got.Prompt != want.Prompt ||
		got.Schedule.Kind != want.Schedule.Kind || got.Schedule.Cron != want.Schedule.Cron ||
		got.Schedule.Every != want.Schedule.Every || got.Schedule.Timezone != want.Schedule.Timezone ||
		got.Session != want.Session || got.Deliver != want.Deliver || got.CreatedFrom != want.CreatedFrom ||
		got.Missed != want.Missed || got.Status != want.Status || got.StatusReason != want.StatusReason ||
		got.Failures != want.Failures {
		t.Errorf("routine = %+v,\nwant %+v", got, want)
	}
	checkTime(t, want.ID+" Schedule.At", got.Schedule.At, want.Schedule.At)
	checkTime(t, want.ID+" CreatedAt", got.CreatedAt, want.CreatedAt)
	checkTime(t, want.ID+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	checkTime(t, want.ID+" LastSlot", got.LastSlot, want.LastSlot)
	checkTime(t, want.ID+" LastRunAt", got.LastRunAt, want.LastRunAt)
	checkTime(t, want.ID+" NextRunAt", got.NextRunAt, want.NextRunAt)
	checkTime(t, want.ID+" RunRequestedAt", got.RunRequestedAt, want.RunRequestedAt)
}

func routineIDs(list []engine.Routine) []string {
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.ID
	}
	return out
}

func testRoutines(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)

	a := newRoutine("ra", "u1", at(time.Minute))
	b := newRoutine("rb", "u2", at(2*time.Minute))
	b.Schedule = engine.Schedule{Kind: engine.ScheduleEvery, Every: 90 * time.Minute, Timezone: "UTC"}
	b.Session, b.Deliver, b.Missed = engine.SessionMain, engine.DeliverLast, engine.MissedSkip
	c := newRoutine("rc", "u1", at(3*time.Minute))
	c.Schedule = engine.Schedule{Kind: engine.ScheduleOnce, At: at(24 * time.Hour), Timezone: "Asia/Tokyo"}
	c.Deliver = engine.DeliverNone
	for _, r := range []engine.Routine{c, a, b} { // created out of order
		must(t, "CreateRoutine "+r.ID, js.CreateRoutine(ctx, r))
	}

	got, err := js.GetRoutine(ctx, "rb")
	must(t, "GetRoutine", err)
	checkRoutine(t, got, b)
	list, err := js.ListRoutines(ctx, "u1")
	must(t, "ListRoutines u1", err)
	if ids := fmt.Sprint(routineIDs(list)); ids != "[ra rc]" {
		t.Errorf("ListRoutines u1 = %s, want [ra rc] (oldest first, only u1's)", ids)
	} else {
		checkRoutine(t, list[1], c)
	}
	all, err := js.ListRoutines(ctx, "")
	must(t, "ListRoutines all", err)
	if ids := fmt.Sprint(routineIDs(all)); ids != "[ra rb rc]" {
		t.Errorf("ListRoutines all = %s, want [ra rb rc]", ids)
	}
	none, err := js.ListRoutines(ctx, "nobody")
	must(t, "ListRoutines nobody", err)
	if len(none) != 0 {
		t.Errorf("ListRoutines of an unknown user = %v", routineIDs(none))
	}

	// Errors change nothing.
	wantErr(t, "CreateRoutine duplicate", js.CreateRoutine(ctx, newRoutine("ra", "u2", at(0))), engine.ErrConflict)
	wantErr(t, "CreateRoutine unknown user", js.CreateRoutine(ctx, newRoutine("rx", "ghost", at(0))), engine.ErrNotFound)
	bad := newRoutine("ry", "u1", at(0))
	bad.Session = "elsewhere"
	if err := js.CreateRoutine(ctx, bad); err == nil {
		t.Error("CreateRoutine with an unknown session succeeded")
	}
	bad = newRoutine("rz", "u1", at(0))
	bad.Schedule = engine.Schedule{Kind: engine.ScheduleEvery}
	if err := js.CreateRoutine(ctx, bad); err == nil {
		t.Error("CreateRoutine with an every schedule of no interval succeeded")
	}
	for _, id := range []string{"rx", "ry", "rz"} {
		_, err := js.GetRoutine(ctx, id)
		wantErr(t, "GetRoutine "+id+" after a failed create", err, engine.ErrNotFound)
	}
	_, err = js.GetRoutine(ctx, "missing")
	wantErr(t, "GetRoutine missing", err, engine.ErrNotFound)
	got, err = js.GetRoutine(ctx, "ra")
	must(t, "GetRoutine ra", err)
	checkRoutine(t, got, a)

	// The definition and the state are written separately.
	st := engine.RoutineState{Status: engine.RoutinePaused, StatusReason: "failed 5 times in a row",
		LastSlot: at(time.Hour), LastRunAt: at(time.Hour + time.Second), NextRunAt: at(25 * time.Hour), Failures: 5}
	must(t, "UpdateRoutineState", js.UpdateRoutineState(ctx, "ra", st))
	a.RoutineState = st
	upd := a
	upd.Name, upd.Prompt = "Renamed", "New prompt."
	upd.Schedule = engine.Schedule{Kind: engine.ScheduleCron, Cron: "30 8 * * *", Timezone: "America/New_York"}
	upd.Session, upd.Deliver, upd.Missed = engine.SessionMain, engine.DeliverNone, engine.MissedSkip
	upd.UpdatedAt = at(time.Hour)
	upd.RoutineState = engine.RoutineState{Status: engine.RoutineActive} // must not be written
	upd.CreatedFrom = engine.Address{Channel: "other"}                   // must not be written
	must(t, "UpdateRoutine", js.UpdateRoutine(ctx, upd))
	upd.RoutineState, upd.CreatedFrom = st, a.CreatedFrom
	got, err = js.GetRoutine(ctx, "ra")
	must(t, "GetRoutine after updates", err)
	checkRoutine(t, got, upd)
	st2 := engine.RoutineState{Status: engine.RoutineDone}
	must(t, "UpdateRoutineState clears", js.UpdateRoutineState(ctx, "ra", st2))
	upd.RoutineState = st2
	got, err = js.GetRoutine(ctx, "ra")
	must(t, "GetRoutine after clearing the state", err)
	checkRoutine(t, got, upd)
	if err := js.UpdateRoutineState(ctx, "ra", engine.RoutineState{Status: "sleepy"}); err == nil {
		t.Error("UpdateRoutineState with an unknown status succeeded")
	}
	wantErr(t, "UpdateRoutine missing", js.UpdateRoutine(ctx, newRoutine("missing", "u1", at(0))), engine.ErrNotFound)
	wantErr(t, "UpdateRoutineState missing", js.UpdateRoutineState(ctx, "missing", st), engine.ErrNotFound)

	// Delete keeps the runs.
	_, err = js.StartRun(ctx, engine.RunRecord{RunID: "routine:rc:1", Kind: engine.RunRoutine, UserID: "u1",
		RoutineID: "rc", ScheduledAt: at(time.Hour), StartedAt: at(time.Hour)})
	must(t, "StartRun", err)
	must(t, "DeleteRoutine", js.DeleteRoutine(ctx, "rc"))
	_, err = js.GetRoutine(ctx, "rc")
	wantErr(t, "GetRoutine deleted", err, engine.ErrNotFound)
	wantErr(t, "DeleteRoutine twice", js.DeleteRoutine(ctx, "rc"), engine.ErrNotFound)
	if _, err := js.GetRun(ctx, "routine:rc:1"); err != nil {
		t.Errorf("the run of a deleted routine is gone: %v", err)
	}
}

func testRoutineRunRequests(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)
	must(t, "CreateRoutine", js.CreateRoutine(ctx, newRoutine("ra", "u1", at(0))))

	if _, ok, err := js.ClaimRoutineRun(ctx, "ra"); err != nil || ok {
		t.Fatalf("ClaimRoutineRun without a request = %v, %v; want false", ok, err)
	}
	must(t, "RequestRoutineRun", js.RequestRoutineRun(ctx, "ra", at(time.Hour)))
	got, err := js.GetRoutine(ctx, "ra")
	must(t, "GetRoutine", err)
	checkTime(t, "RunRequestedAt", got.RunRequestedAt, at(time.Hour))
	wantErr(t, "RequestRoutineRun missing", js.RequestRoutineRun(ctx, "missing", at(0)), engine.ErrNotFound)

	// Exactly one of many concurrent claims wins.
	var wins atomic.Int32
	var c collect
	run(8, func(int) {
		when, ok, err := js.ClaimRoutineRun(ctx, "ra")
		switch {
		case err != nil:
			c.add("ClaimRoutineRun: %v", err)
		case ok:
			wins.Add(1)
			if !when.Equal(at(time.Hour)) {
				c.add("claimed request time = %v, want %v", when, at(time.Hour))
			}
		}
	})
	c.report(t)
	if wins.Load() != 1 {
		t.Errorf("%d concurrent claims won, want exactly 1", wins.Load())
	}
	got, err = js.GetRoutine(ctx, "ra")
	must(t, "GetRoutine after claim", err)
	checkTime(t, "RunRequestedAt after claim", got.RunRequestedAt, time.Time{})
}

func testHeartbeats(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)
	_, err := js.GetHeartbeat(ctx, "u1")
	wantErr(t, "GetHeartbeat never stored", err, engine.ErrNotFound)
	list, err := js.ListHeartbeats(ctx)
	must(t, "ListHeartbeats empty", err)
	if len(list) != 0 {
		t.Errorf("ListHeartbeats of an empty store = %+v", list)
	}

	hb := engine.HeartbeatState{UserID: "u1", Paused: true, PauseReason: "failed 3 times",
		Target:   engine.Address{Channel: "slack", Conversation: "D1", Thread: "t"},
		LastSlot: at(time.Hour), LastRunAt: at(time.Hour + time.Second), Failures: 3,
		LastAlertHash: "abc", LastAlertAt: at(30 * time.Minute), BudgetNoticeDay: "2026-11-24", UpdatedAt: at(2 * time.Hour)}
	must(t, "PutHeartbeat", js.PutHeartbeat(ctx, hb))
	check := func(what string, want engine.HeartbeatState) {
		t.Helper()
		got, err := js.GetHeartbeat(ctx, want.UserID)
		must(t, what, err)
		if got.UserID != want.UserID || got.Paused != want.Paused || got.PauseReason != want.PauseReason ||
			got.Target != want.Target || got.Failures != want.Failures || got.LastAlertHash != want.LastAlertHash ||
			got.BudgetNoticeDay != want.BudgetNoticeDay {
			t.Errorf("%s = %+v,\nwant %+v", what, got, want)
		}
		checkTime(t, what+" LastSlot", got.LastSlot, want.LastSlot)
		checkTime(t, what+" LastRunAt", got.LastRunAt, want.LastRunAt)
		checkTime(t, what+" LastAlertAt", got.LastAlertAt, want.LastAlertAt)
		checkTime(t, what+" UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	}
	check("GetHeartbeat", hb)
	// Replacing clears what the new value leaves zero.
	hb2 := engine.HeartbeatState{UserID: "u1", UpdatedAt: at(3 * time.Hour)}
	must(t, "PutHeartbeat replace", js.PutHeartbeat(ctx, hb2))
	check("GetHeartbeat after replace", hb2)
	must(t, "PutHeartbeat u2", js.PutHeartbeat(ctx, engine.HeartbeatState{UserID: "u2"}))
	got, err := js.GetHeartbeat(ctx, "u2")
	must(t, "GetHeartbeat u2", err)
	checkSet(t, "UpdatedAt filled by the store", got.UpdatedAt)
	list, err = js.ListHeartbeats(ctx)
	must(t, "ListHeartbeats", err)
	if len(list) != 2 || list[0].UserID != "u1" || list[1].UserID != "u2" {
		t.Errorf("ListHeartbeats = %+v, want u1 and u2", list)
	}
	wantErr(t, "PutHeartbeat unknown user", js.PutHeartbeat(ctx, engine.HeartbeatState{UserID: "ghost"}), engine.ErrNotFound)
	if err := js.PutHeartbeat(ctx, engine.HeartbeatState{}); err == nil {
		t.Error("PutHeartbeat without a user id succeeded")
	}
}

func newRun(id string, kind engine.RunKind, userID, routineID string, started time.Time, tokens int) engine.RunRecord {
	return engine.RunRecord{RunID: id, Kind: kind, UserID: userID, RoutineID: routineID,
		ScheduledAt: started.Add(-time.Second), StartedAt: started, Outcome: engine.RunRunning,
		Usage:  engine.Usage{InputTokens: tokens, OutputTokens: tokens / 10},
		Target: engine.Address{Channel: "repl", Conversation: "console"}}
}

func testRuns(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)

	r1 := newRun("heartbeat:u1:1", engine.RunHeartbeat, "u1", "", at(time.Hour), 100)
	ok, err := js.StartRun(ctx, r1)
	must(t, "StartRun", err)
	if !ok {
		t.Fatal("StartRun of a new run id = false")
	}
	again := r1
	again.Detail, again.StartedAt = "second start", at(2*time.Hour)
	if ok, err := js.StartRun(ctx, again); err != nil || ok {
		t.Fatalf("StartRun of a known run id = %v, %v; want false, nil", ok, err)
	}
	got, err := js.GetRun(ctx, r1.RunID)
	must(t, "GetRun", err)
	if got.Detail != "" || got.Kind != engine.RunHeartbeat || got.UserID != "u1" || got.Outcome != engine.RunRunning ||
		got.Usage != r1.Usage || got.Target != r1.Target {
		t.Errorf("GetRun = %+v, want %+v (unchanged by the second start)", got, r1)
	}
	checkTime(t, "StartedAt", got.StartedAt, r1.StartedAt)
	checkTime(t, "ScheduledAt", got.ScheduledAt, r1.ScheduledAt)
	checkTime(t, "FinishedAt of a running run", got.FinishedAt, time.Time{})

	fin := r1
	fin.FinishedAt, fin.Outcome, fin.Detail = at(time.Hour+time.Minute), engine.RunOK, "HEARTBEAT_OK"
	fin.Usage, fin.Suppressed = engine.Usage{InputTokens: 1200, OutputTokens: 30}, true
	must(t, "FinishRun", js.FinishRun(ctx, fin))
	got, err = js.GetRun(ctx, r1.RunID)
	must(t, "GetRun finished", err)
	if got.Outcome != engine.RunOK || got.Detail != "HEARTBEAT_OK" || got.Usage != fin.Usage || !got.Suppressed || got.Delivered {
		t.Errorf("GetRun finished = %+v", got)
	}
	checkTime(t, "FinishedAt", got.FinishedAt, fin.FinishedAt)
	wantErr(t, "FinishRun unknown", js.FinishRun(ctx, engine.RunRecord{RunID: "nope", Outcome: engine.RunOK}), engine.ErrNotFound)
	_, err = js.GetRun(ctx, "nope")
	wantErr(t, "GetRun unknown", err, engine.ErrNotFound)
	if _, err := js.StartRun(ctx, engine.RunRecord{RunID: "x", Kind: "nap", UserID: "u1", ScheduledAt: at(0)}); err == nil {
		t.Error("StartRun of an unknown kind succeeded")
	}
	if _, err := js.StartRun(ctx, newRun("y", engine.RunRoutine, "ghost", "r", at(0), 0)); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("StartRun for an unknown user: %v, want ErrNotFound", err)
	}

	for _, r := range []engine.RunRecord{
		newRun("routine:ra:1", engine.RunRoutine, "u1", "ra", at(2*time.Hour), 50),
		newRun("routine:rb:1", engine.RunRoutine, "u2", "rb", at(3*time.Hour), 7),
		newRun("routine:ra:2", engine.RunRoutine, "u1", "ra", at(4*time.Hour), 20),
	} {
		if _, err := js.StartRun(ctx, r); err != nil {
			t.Fatalf("StartRun %s: %v", r.RunID, err)
		}
	}
	ids := func(list []engine.RunRecord) string {
		out := make([]string, len(list))
		for i, r := range list {
			out[i] = r.RunID
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		f    engine.RunFilter
		want string
	}{
		{engine.RunFilter{}, "[routine:ra:2 routine:rb:1 routine:ra:1 heartbeat:u1:1]"},
		{engine.RunFilter{UserID: "u1"}, "[routine:ra:2 routine:ra:1 heartbeat:u1:1]"},
		{engine.RunFilter{RoutineID: "ra"}, "[routine:ra:2 routine:ra:1]"},
		{engine.RunFilter{Kind: engine.RunHeartbeat}, "[heartbeat:u1:1]"},
		{engine.RunFilter{UserID: "u1", Kind: engine.RunRoutine, Limit: 1}, "[routine:ra:2]"},
		{engine.RunFilter{UserID: "u2", RoutineID: "ra"}, "[]"},
	} {
		list, err := js.ListRuns(ctx, tc.f)
		must(t, fmt.Sprintf("ListRuns %+v", tc.f), err)
		if got := ids(list); got != tc.want {
			t.Errorf("ListRuns %+v = %s, want %s", tc.f, got, tc.want)
		}
	}
	if _, err := js.ListRuns(ctx, engine.RunFilter{Limit: -1}); err == nil {
		t.Error("ListRuns with a negative limit succeeded")
	}

	// UsageSince counts runs started at or after since, one user only.
	for _, tc := range []struct {
		user  string
		since time.Time
		want  engine.Usage
	}{
		{"u1", at(0), engine.Usage{InputTokens: 1200 + 50 + 20, OutputTokens: 30 + 5 + 2}},
		{"u1", at(2 * time.Hour), engine.Usage{InputTokens: 70, OutputTokens: 7}},
		{"u1", at(5 * time.Hour), engine.Usage{}},
		{"u2", at(0), engine.Usage{InputTokens: 7}},
		{"ghost", at(0), engine.Usage{}},
	} {
		got, err := js.UsageSince(ctx, tc.user, tc.since)
		must(t, "UsageSince", err)
		if got != tc.want {
			t.Errorf("UsageSince(%s, %v) = %+v, want %+v", tc.user, tc.since, got, tc.want)
		}
	}

	// PruneRuns deletes finished runs started before the cut, never a running one.
	fin2 := newRun("routine:ra:1", engine.RunRoutine, "u1", "ra", at(2*time.Hour), 50)
	fin2.Outcome = engine.RunFailed
	must(t, "FinishRun ra:1", js.FinishRun(ctx, fin2))
	n, err := js.PruneRuns(ctx, at(3*time.Hour+time.Second))
	must(t, "PruneRuns", err)
	if n != 2 {
		t.Errorf("PruneRuns removed %d runs, want 2 (the finished heartbeat and routine:ra:1)", n)
	}
	list, err := js.ListRuns(ctx, engine.RunFilter{})
	must(t, "ListRuns after prune", err)
	if got := ids(list); got != "[routine:ra:2 routine:rb:1]" {
		t.Errorf("after PruneRuns: %s, want [routine:ra:2 routine:rb:1] (rb:1 is still running)", got)
	}
}

func testRunsConcurrentStart(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)
	var wins atomic.Int32
	var c collect
	run(8, func(i int) {
		r := newRun("routine:ra:same", engine.RunRoutine, "u1", "ra", at(time.Hour), i)
		ok, err := js.StartRun(ctx, r)
		if err != nil {
			c.add("StartRun %d: %v", i, err)
		}
		if ok {
			wins.Add(1)
		}
	})
	c.report(t)
	if wins.Load() != 1 {
		t.Errorf("%d of 8 concurrent starts of one run id won, want exactly 1", wins.Load())
	}
}

func testLastInbound(t *testing.T, h Harness) {
	ctx := t.Context()
	s := setup(t, h)
	js := jobStore(t, s)
	_, err := js.LastInbound(ctx, "u1")
	wantErr(t, "LastInbound without messages", err, engine.ErrNotFound)

	dm := inbound("telegram", "m1", "u1", "s1", "hello")
	dm.Inbound.Conversation, dm.Inbound.Thread = "chat-1", "topic-2"
	mustSave(t, s, dm)
	newer := inbound("slack", "m2", "u1", "s1", "from slack")
	newer.Inbound.Conversation = "D9"
	want := mustSave(t, s, newer)
	group := inbound("slack", "m3", "u1", "s1", "in a group")
	group.Inbound.Direct, group.Inbound.Conversation = false, "C1"
	mustSave(t, s, group)
	job := inbound("job", "routine:r:1", "u1", "s1", "a scheduled run")
	mustSave(t, s, job)
	mustSave(t, s, inbound("telegram", "m4", "u2", "s2", "someone else"))

	got, err := js.LastInbound(ctx, "u1")
	must(t, "LastInbound", err)
	if got.ID != want.ID || got.Inbound.Channel != "slack" || got.Inbound.Conversation != "D9" || got.UserID != "u1" {
		t.Errorf("LastInbound = %+v, want the slack DM %d (groups and jobs never count)", got, want.ID)
	}
	got, err = js.LastInbound(ctx, "u2")
	must(t, "LastInbound u2", err)
	if got.Inbound.MessageID != "m4" {
		t.Errorf("LastInbound u2 = %+v", got)
	}
}
