package schedule_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/internal/fakellm"
)

const routinePrefix = "[Scheduled routine"

func routineFinished(id string) func(schedule.Event) bool {
	return func(e schedule.Event) bool {
		return e.Phase == schedule.PhaseFinished && e.Kind == engine.RunRoutine && (id == "" || e.RoutineID == id)
	}
}

// "Remind me every day at 9" said on the test channel becomes a routine
// (the scripted model calls routine_create), which fires at 09:00 Paris
// time on both sides of the change to summer time, survives a restart,
// and answers on the channel and conversation it was created in.
func TestRoutineFromNaturalLanguageAcrossDSTAndRestart(t *testing.T) {
	start := time.Date(2026, 3, 27, 10, 0, 0, 0, paris) // Friday, winter time
	f := newFixture(t, start, func(o *schedule.Options) { o.Heartbeat.Enabled = false })
	var toolOutput atomic.Value
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		last := req.LastUser()
		switch {
		case strings.HasPrefix(last, routinePrefix):
			return fakellm.Reply{Text: "Time to water the plants!"}
		case len(req.ToolResults()) > 0:
			toolOutput.Store(req.ToolResults()[0].Content)
			return fakellm.Reply{Text: "Done: I'll remind you every day at 9:00."}
		case strings.Contains(last, "water the plants"):
			return fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_1", Name: "routine_create",
				Args: `{"name":"Water the plants","prompt":"Remind the user to water the plants.","cron":"0 9 * * *"}`}}}
		}
		return fakellm.Reply{Text: "echo: " + last}
	})

	reply := f.say(f.ch, "dm-alice", "Remind me every day at 9 to water the plants")
	if reply.Text != "Done: I'll remind you every day at 9:00." {
		t.Fatalf("reply %q", reply.Text)
	}
	if out, _ := toolOutput.Load().(string); !strings.Contains(out, "Created routine rt_") || !strings.Contains(out, "Sat 2026-03-28 09:00 CET") {
		t.Fatalf("routine_create said %q", out)
	}
	list, err := f.sched.Routines(context.Background(), f.owner.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("routines %+v, %v", list, err)
	}
	r := list[0]
	if r.Schedule.Cron != "0 9 * * *" || r.Schedule.Timezone != "Europe/Paris" || r.CreatedFrom.Channel != "test" ||
		r.CreatedFrom.Conversation != "dm-alice" || r.Session != engine.SessionOwn || r.Deliver != engine.DeliverOrigin {
		t.Fatalf("routine %+v", r)
	}
	sent := len(f.ch.finals())

	// Saturday 09:00 CET is 08:00 UTC.
	first := f.sched.NextFire(engine.RunRoutine, r.ID)
	if want := time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC); !first.Equal(want) {
		t.Fatalf("first run at %s, want %s", first, want)
	}
	f.advanceTo(first, 1)
	ev := f.events.await(t, "first run", routineFinished(r.ID))
	if !ev.Delivered || !ev.Slot.Equal(first) {
		t.Fatalf("first run %+v", ev)
	}
	got := f.ch.waitFinals(t, sent+1)[sent]
	if got.To.Channel != "test" || got.To.Conversation != "dm-alice" || got.Text != "Time to water the plants!" {
		t.Fatalf("first reminder %+v", got)
	}

	// A new process on the same store.
	f.restart()
	second := f.sched.NextFire(engine.RunRoutine, r.ID)
	if want := time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC); !second.Equal(want) { // 09:00 CEST
		t.Fatalf("after the restart the next run is at %s, want %s (09:00 summer time)", second, want)
	}
	if second.In(paris).Hour() != 9 || first.In(paris).Hour() != 9 {
		t.Fatalf("local times %s and %s", first.In(paris), second.In(paris))
	}
	f.advanceTo(second, 1)
	ev = f.events.await(t, "second run", routineFinished(r.ID))
	if !ev.Delivered || !ev.Slot.Equal(second) {
		t.Fatalf("second run %+v", ev)
	}
	got = f.ch.waitFinals(t, sent+2)[sent+1]
	if got.To.Channel != "test" || got.To.Conversation != "dm-alice" || got.Text != "Time to water the plants!" {
		t.Fatalf("second reminder %+v", got)
	}
	runs, err := f.store.ListRuns(context.Background(), engine.RunFilter{RoutineID: r.ID})
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	if !runs[0].ScheduledAt.Equal(second) || !runs[1].ScheduledAt.Equal(first) || runs[0].Outcome != engine.RunOK || !runs[0].Delivered {
		t.Fatalf("run records %+v", runs)
	}
	if f.llmCalls(routinePrefix) != 2 {
		t.Fatalf("%d routine model calls, want 2", f.llmCalls(routinePrefix))
	}
}

// Runs that fell due while no process ran follow each routine's policy.
func TestRoutineMissedRunsFollowPolicy(t *testing.T) {
	start := time.Date(2026, 5, 4, 8, 0, 0, 0, paris)
	f := newFixture(t, start, func(o *schedule.Options) { o.Heartbeat.Enabled = false })
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		if last := req.LastUser(); strings.HasPrefix(last, routinePrefix) {
			return fakellm.Reply{Text: "Reminder: " + strings.SplitN(last, "\"", 3)[1]}
		}
		return fakellm.Reply{Text: "echo"}
	})
	from := engine.Address{Channel: "test", Conversation: "dm-alice"}
	mk := func(name string, sc engine.Schedule, missed engine.MissedPolicy) engine.Routine {
		r, err := f.sched.CreateRoutine(context.Background(), engine.Routine{UserID: f.owner.ID, Name: name,
			Prompt: "Remind me: " + name, Schedule: sc, CreatedFrom: from, Missed: missed})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return r
	}
	daily := engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 9 * * *", Timezone: "Europe/Paris"}
	catchUp := mk("catch up", daily, engine.MissedRunOnce)
	skip := mk("skip it", daily, engine.MissedSkip)
	onceSkip := mk("once skipped", engine.Schedule{Kind: engine.ScheduleOnce, At: start.Add(90 * time.Minute)}, engine.MissedSkip)
	onceRun := mk("once caught up", engine.Schedule{Kind: engine.ScheduleOnce, At: start.Add(105 * time.Minute)}, engine.MissedRunOnce)

	// Down from 08:00 to 11:00.
	f.stopParts(f.eng, f.sched)
	f.clock.Advance(3 * time.Hour)
	f.start()

	done := map[string]schedule.Event{}
	for range 3 {
		ev := f.events.await(t, "catch-up", func(e schedule.Event) bool {
			return e.Kind == engine.RunRoutine && (e.Phase == schedule.PhaseFinished || e.Phase == schedule.PhaseSkipped)
		})
		done[ev.RoutineID] = ev
	}
	if ev, ok := done[catchUp.ID]; !ok || !ev.Slot.Equal(time.Date(2026, 5, 4, 9, 0, 0, 0, paris)) || !ev.Delivered {
		t.Fatalf("daily catch-up: %+v", done)
	}
	if ev, ok := done[onceRun.ID]; !ok || !ev.Slot.Equal(onceRun.Schedule.At) || !ev.Delivered {
		t.Fatalf("one-time catch-up: %+v", done)
	}
	if ev, ok := done[onceSkip.ID]; !ok || ev.Phase != schedule.PhaseSkipped {
		t.Fatalf("skipped one-time: %+v", done)
	}
	ctx := context.Background()
	for _, id := range []string{skip.ID, onceSkip.ID} {
		if runs, _ := f.store.ListRuns(ctx, engine.RunFilter{RoutineID: id}); len(runs) != 0 {
			t.Errorf("routine %s ran %d times, want 0", id, len(runs))
		}
	}
	for id, want := range map[string]engine.RoutineStatus{onceSkip.ID: engine.RoutineDone, onceRun.ID: engine.RoutineDone, skip.ID: engine.RoutineActive} {
		if r, _ := f.store.GetRoutine(ctx, id); r.Status != want {
			t.Errorf("routine %s status %s, want %s", id, r.Status, want)
		}
	}
	tomorrow := time.Date(2026, 5, 5, 9, 0, 0, 0, paris)
	if n := f.sched.NextFire(engine.RunRoutine, skip.ID); !n.Equal(tomorrow) {
		t.Errorf("skipped routine next at %s, want %s", n, tomorrow)
	}
	if f.sched.Armed() != 2 {
		t.Errorf("%d timers armed, want the two daily routines", f.sched.Armed())
	}
	// Both daily routines run tomorrow, once each.
	f.advanceTo(tomorrow, 2)
	for range 2 {
		f.events.await(t, "daily run", routineFinished(""))
	}
	msgs := f.ch.waitFinals(t, 4)
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Text)
	}
	if strings.Count(strings.Join(texts, "|"), "Reminder: catch up") != 2 || strings.Count(strings.Join(texts, "|"), "Reminder: skip it") != 1 {
		t.Fatalf("reminders %q", texts)
	}
}

// The tools validate what the model asks, and a user sees and changes only
// their own routines.
func TestRoutineTools(t *testing.T) {
	f := newFixture(t, time.Date(2026, 5, 4, 8, 0, 0, 0, paris), func(o *schedule.Options) {
		o.Heartbeat.Enabled = false
		o.Routines.MaxPerUser = 2
	})
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		if strings.HasPrefix(req.LastUser(), routinePrefix) {
			return fakellm.Reply{Text: "ROUTINE_OK"}
		}
		return fakellm.Reply{Text: "echo"}
	})
	ctx := context.Background()
	alice := engine.ToolInvocation{UserID: f.owner.ID, From: engine.Address{Channel: "test", Conversation: "dm-alice", ReplyTo: "9"}, Timezone: "Europe/Paris"}
	call := func(inv engine.ToolInvocation, name, args string) engine.ToolResult {
		t.Helper()
		inv.Args = json.RawMessage(args)
		res, err := f.reg.Execute(ctx, name, inv)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return res
	}
	for _, c := range []struct{ args, want string }{
		{`{"name":"spam","prompt":"x","cron":"* * * * *"}`, "shortest interval allowed is 5m0s"},
		{`{"name":"spam","prompt":"x","every":"1m"}`, "shortest interval allowed"},
		{`{"name":"late","prompt":"x","at":"2026-05-04T07:00"}`, "in the past"},
		{`{"name":"two","prompt":"x","cron":"0 9 * * *","every":"2h"}`, "exactly one of cron, every and at"},
		{`{"name":"none","prompt":"x"}`, "give one of cron, every or at"},
		{`{"name":"tz","prompt":"x","cron":"0 9 * * *","timezone":"Atlantis/Capital"}`, "unknown timezone"},
		{`{"name":"bad","prompt":"x","cron":"0 25 * * *"}`, "cron"},
		{`{"name":"  ","prompt":"x","every":"1h"}`, "name is empty"},
		{`{"name":"n","prompt":"x","every":"1h","session":"elsewhere"}`, "session"},
	} {
		res := call(alice, "routine_create", c.args)
		if !res.IsError || !strings.Contains(res.Content, c.want) {
			t.Errorf("routine_create %s = %+v, want an error containing %q", c.args, res, c.want)
		}
	}
	res := call(alice, "routine_create", `{"name":"Stretch","prompt":"Tell the user to stretch.","every":"2h"}`)
	if res.IsError {
		t.Fatal(res.Content)
	}
	list, _ := f.sched.Routines(ctx, f.owner.ID)
	if len(list) != 1 {
		t.Fatalf("%d routines after one create", len(list))
	}
	id := list[0].ID
	if want := time.Date(2026, 5, 4, 10, 0, 0, 0, paris); !f.sched.NextFire(engine.RunRoutine, id).Equal(want) {
		t.Fatalf("every 2h from 08:00: next %s, want %s", f.sched.NextFire(engine.RunRoutine, id), want)
	}

	// Another user cannot see, change, run or delete it.
	bob := engine.User{ID: "bob", Name: "Bob", Role: engine.RoleMember}
	if err := f.store.CreateUser(ctx, bob); err != nil {
		t.Fatal(err)
	}
	bobInv := engine.ToolInvocation{UserID: "bob", From: engine.Address{Channel: "test", Conversation: "dm-bob"}}
	for _, name := range []string{"routine_delete", "routine_run_now"} {
		if res := call(bobInv, name, `{"id":"`+id+`"}`); !res.IsError || !strings.Contains(res.Content, "not found") {
			t.Errorf("bob %s: %+v", name, res)
		}
	}
	if res := call(bobInv, "routine_update", `{"id":"`+id+`","enabled":false}`); !res.IsError {
		t.Errorf("bob paused alice's routine: %+v", res)
	}
	if res := call(bobInv, "routine_list", `{}`); res.Content != "The user has no routines." {
		t.Errorf("bob's list: %q", res.Content)
	}

	// Pause, reschedule, resume, run now (ROUTINE_OK sends nothing), delete.
	if res := call(alice, "routine_update", `{"id":"`+id+`","enabled":false}`); res.IsError || !strings.Contains(res.Content, "paused") {
		t.Fatalf("pause: %+v", res)
	}
	if !f.sched.NextFire(engine.RunRoutine, id).IsZero() {
		t.Fatal("a paused routine is armed")
	}
	if res := call(alice, "routine_update", `{"id":"`+id+`","every":"3h","enabled":true}`); res.IsError || !strings.Contains(res.Content, "every 3h0m0s; active") {
		t.Fatalf("reschedule: %+v", res)
	}
	if want := time.Date(2026, 5, 4, 11, 0, 0, 0, paris); !f.sched.NextFire(engine.RunRoutine, id).Equal(want) {
		t.Fatalf("every 3h: next %s, want %s", f.sched.NextFire(engine.RunRoutine, id), want)
	}
	if res := call(alice, "routine_list", `{}`); !strings.Contains(res.Content, "Stretch") || !strings.Contains(res.Content, "Mon 2026-05-04 11:00 CEST") {
		t.Fatalf("list: %q", res.Content)
	}
	sent := len(f.ch.finals())
	if res := call(alice, "routine_run_now", `{"id":"`+id+`"}`); res.IsError || !strings.Contains(res.Content, "Started") {
		t.Fatalf("run now: %+v", res)
	}
	ev := f.events.await(t, "manual run", routineFinished(id))
	if !ev.Suppressed || ev.Delivered {
		t.Fatalf("ROUTINE_OK run: %+v", ev)
	}
	if n := len(f.ch.finals()); n != sent {
		t.Fatalf("ROUTINE_OK sent %d messages", n-sent)
	}

	// The limit counts routines that are not done.
	if res := call(alice, "routine_create", `{"name":"Two","prompt":"x","cron":"0 9 * * 1"}`); res.IsError {
		t.Fatal(res.Content)
	}
	if res := call(alice, "routine_create", `{"name":"Three","prompt":"x","cron":"0 9 * * 2"}`); !res.IsError || !strings.Contains(res.Content, "too many routines") {
		t.Fatalf("third routine: %+v", res)
	}
	if res := call(alice, "routine_delete", `{"id":"`+id+`"}`); res.IsError || !strings.Contains(res.Content, "Deleted") {
		t.Fatalf("delete: %+v", res)
	}
	if !f.sched.NextFire(engine.RunRoutine, id).IsZero() {
		t.Fatal("a deleted routine is armed")
	}
	if runs, _ := f.store.ListRuns(ctx, engine.RunFilter{RoutineID: id}); len(runs) != 1 {
		t.Fatalf("the deleted routine's run record is gone: %+v", runs)
	}

	// Changing routines is sensitive (approval under taint); reading is not.
	for _, tl := range schedule.Tools(f.sched) {
		info := tl.Info()
		want := info.Name != "routine_list" && info.Name != "routine_run_now"
		if info.Sensitive != want {
			t.Errorf("%s: Sensitive = %v, want %v", info.Name, info.Sensitive, want)
		}
	}
}

// A main-session routine runs inside the conversation it was created in.
func TestRoutineMainSession(t *testing.T) {
	f := newFixture(t, time.Date(2026, 5, 4, 8, 0, 0, 0, paris), func(o *schedule.Options) { o.Heartbeat.Enabled = false })
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		last := req.LastUser()
		if strings.HasPrefix(last, routinePrefix) {
			// The conversation's earlier turn is in the context.
			for _, m := range req.Messages {
				if m.Content == "my favourite colour is green" {
					return fakellm.Reply{Text: "You said green."}
				}
			}
			return fakellm.Reply{Text: "I have no context."}
		}
		return fakellm.Reply{Text: "noted"}
	})
	f.say(f.ch, "dm-alice", "my favourite colour is green")
	r, err := f.sched.CreateRoutine(context.Background(), engine.Routine{UserID: f.owner.ID, Name: "Recall",
		Prompt: "What is my favourite colour?", Session: engine.SessionMain,
		Schedule:    engine.Schedule{Kind: engine.ScheduleOnce, At: time.Date(2026, 5, 4, 9, 0, 0, 0, paris)},
		CreatedFrom: engine.Address{Channel: "test", Conversation: "dm-alice"}})
	if err != nil {
		t.Fatal(err)
	}
	f.advanceTo(r.Schedule.At, 1)
	f.events.await(t, "run", routineFinished(r.ID))
	got := f.ch.waitFinals(t, 2)[1]
	if got.Text != "You said green." || got.To.Conversation != "dm-alice" {
		t.Fatalf("main-session run answered %+v", got)
	}
	if st, _ := f.store.GetRoutine(context.Background(), r.ID); st.Status != engine.RoutineDone || f.sched.Armed() != 0 {
		t.Fatalf("one-time routine after its run: %s, %d armed", st.Status, f.sched.Armed())
	}
}
