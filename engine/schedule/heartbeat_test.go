package schedule_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/internal/fakellm"
)

// heartbeatReplies answers heartbeat checks with the text set last (or
// an HTTP error) and echoes everything else.
type heartbeatReplies struct {
	mu     sync.Mutex
	reply  fakellm.Reply
	checks []string // the checklist text seen in each check
}

func (h *heartbeatReplies) set(r fakellm.Reply) {
	h.mu.Lock()
	h.reply = r
	h.mu.Unlock()
}

func (h *heartbeatReplies) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.checks...)
}

func (h *heartbeatReplies) respond(req fakellm.Request) fakellm.Reply {
	last := req.LastUser()
	if !strings.HasPrefix(last, "[Heartbeat check") {
		return fakellm.Reply{Text: "echo: " + last}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, last)
	return h.reply
}

var paris = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		panic(err)
	}
	return loc
}()

// A quiet check sends nothing; an alert goes to the channel and
// conversation the user last wrote from; the same alert is not sent twice
// within the window, and a new one is.
func TestHeartbeatSuppressesOKAndDeliversAlertsToTheLastConversation(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 10, 5, 0, 0, paris), nil)
	hr := &heartbeatReplies{}
	f.llm.SetResponder(hr.respond)
	f.docs.set(f.owner.ID, "# Heartbeat\n- Tell me when the build is red\n")

	f.say(f.other, "x-chat", "hello from the other channel")
	f.say(f.ch, "dm-alice", "hello from telegram-ish")
	sentTest, sentOther := len(f.ch.finals()), len(f.other.finals())

	// 1. HEARTBEAT_OK: recorded, nothing sent.
	hr.set(fakellm.Reply{Text: "HEARTBEAT_OK"})
	next := f.sched.NextFire(engine.RunHeartbeat, f.owner.ID)
	if next.IsZero() {
		t.Fatal("no heartbeat armed")
	}
	f.advanceTo(next, 1)
	ev := f.events.await(t, "first heartbeat", finished(engine.RunHeartbeat))
	if ev.Outcome != engine.RunOK || !ev.Suppressed || ev.Delivered || !ev.Slot.Equal(next) {
		t.Fatalf("quiet check: %+v (slot want %s)", ev, next)
	}
	if checks := hr.seen(); len(checks) != 1 || !strings.Contains(checks[0], "Tell me when the build is red") {
		t.Fatalf("the check did not carry the checklist: %q", checks)
	}

	// 2. An alert goes to the last conversation, "test"/"dm-alice".
	const alert = "The build is red: 3 tests fail on main."
	hr.set(fakellm.Reply{Text: alert})
	next2 := f.sched.NextFire(engine.RunHeartbeat, f.owner.ID)
	if got := next2.Sub(next); got != 30*time.Minute {
		t.Fatalf("second check %s after the first, want 30m", got)
	}
	f.advanceTo(next2, 1)
	ev = f.events.await(t, "alert", finished(engine.RunHeartbeat))
	if !ev.Delivered || ev.Suppressed {
		t.Fatalf("alert: %+v", ev)
	}
	got := f.ch.waitFinals(t, sentTest+1)[sentTest]
	if got.To.Channel != "test" || got.To.Conversation != "dm-alice" || got.Text != alert {
		t.Fatalf("alert sent as %+v", got)
	}

	// 3. The same alert again (differently spaced): not repeated.
	hr.set(fakellm.Reply{Text: "  the build is RED: 3 tests fail on main  "})
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	ev = f.events.await(t, "repeat", finished(engine.RunHeartbeat))
	if ev.Delivered || !ev.Suppressed || !strings.Contains(ev.Detail, "same alert") {
		t.Fatalf("repeated alert: %+v", ev)
	}

	// 4. A different alert is delivered; the repeat never was.
	hr.set(fakellm.Reply{Text: "The build is green again."})
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	ev = f.events.await(t, "new alert", finished(engine.RunHeartbeat))
	if !ev.Delivered {
		t.Fatalf("new alert: %+v", ev)
	}
	all := f.ch.waitFinals(t, sentTest+2)
	if len(all) != sentTest+2 || all[sentTest+1].Text != "The build is green again." {
		t.Fatalf("test channel got %d messages after the greetings, want 2: %+v", len(all)-sentTest, all[sentTest:])
	}
	if n := len(f.other.finals()); n != sentOther {
		t.Fatalf("the other channel got %d new messages, want none", n-sentOther)
	}

	// Every check is recorded with its tokens.
	js := engine.JobStore(f.store)
	runs, err := js.ListRuns(context.Background(), engine.RunFilter{UserID: f.owner.ID, Kind: engine.RunHeartbeat})
	if err != nil || len(runs) != 4 {
		t.Fatalf("runs: %d, %v", len(runs), err)
	}
	for _, r := range runs {
		if r.Outcome != engine.RunOK || r.Usage.Total() == 0 || r.FinishedAt.IsZero() || r.Target.Conversation != "dm-alice" {
			t.Errorf("run record %+v", r)
		}
	}
}

// Checks fire only inside the active hours of the user's timezone.
func TestHeartbeatRespectsQuietHours(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 21, 0, 0, 0, paris), nil)
	hr := &heartbeatReplies{}
	hr.set(fakellm.Reply{Text: "HEARTBEAT_OK"})
	f.llm.SetResponder(hr.respond)
	f.docs.set(f.owner.ID, "- check the oven\n")
	f.say(f.ch, "dm-alice", "hi")

	// The evening checks, until 22:00.
	evening := 0
	for {
		next := f.sched.NextFire(engine.RunHeartbeat, f.owner.ID)
		if next.In(paris).Day() != 2 {
			break
		}
		if h := next.In(paris).Hour(); h < 21 || h >= 22 {
			t.Fatalf("check at %s", next.In(paris))
		}
		f.advanceTo(next, 1)
		f.events.await(t, "evening check", finished(engine.RunHeartbeat))
		evening++
	}
	if evening != 2 {
		t.Fatalf("%d checks between 21:00 and 22:00, want 2", evening)
	}
	morning := f.sched.NextFire(engine.RunHeartbeat, f.owner.ID)
	start := time.Date(2026, 6, 3, 8, 0, 0, 0, paris)
	if morning.Before(start) || !morning.Before(start.Add(30*time.Minute)) {
		t.Fatalf("next check at %s, want between 08:00 and 08:30", morning.In(paris))
	}
	// Through the night nothing fires: the only timer is the morning's.
	calls := f.llmCalls(heartbeatPrefix)
	f.advanceTo(start.Add(-time.Minute), 1)
	if n := f.llmCalls(heartbeatPrefix); n != calls {
		t.Fatalf("%d checks during the night", n-calls)
	}
	f.advanceTo(morning, 1)
	ev := f.events.await(t, "morning check", finished(engine.RunHeartbeat))
	if !ev.Slot.Equal(morning) || f.llmCalls(heartbeatPrefix) != calls+1 {
		t.Fatalf("morning check %+v", ev)
	}
}

// A checklist with only headings and comments costs no model call.
func TestHeartbeatEmptyChecklistMakesNoModelCall(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 12, 0, 0, 0, paris), nil)
	f.say(f.ch, "dm-alice", "hi")
	for i, doc := range []string{
		"# Heartbeat\n\n<!-- Add things to check, one per line. -->\n\n## Later\n",
		"", // exists but empty
	} {
		f.docs.set(f.owner.ID, doc)
		f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
		ev := f.events.await(t, "skip", skipped(engine.RunHeartbeat))
		if ev.Detail != "HEARTBEAT.md is empty" {
			t.Fatalf("check %d: %+v", i, ev)
		}
	}
	f.docs.mu.Lock()
	delete(f.docs.m, f.owner.ID) // missing altogether
	f.docs.mu.Unlock()
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	if ev := f.events.await(t, "skip", skipped(engine.RunHeartbeat)); ev.Detail != "HEARTBEAT.md is empty" {
		t.Fatalf("missing checklist: %+v", ev)
	}
	if n := f.llmCalls(heartbeatPrefix); n != 0 {
		t.Fatalf("%d model calls for empty checklists", n)
	}
	runs, err := f.store.ListRuns(context.Background(), engine.RunFilter{Kind: engine.RunHeartbeat})
	if err != nil || len(runs) != 0 {
		t.Fatalf("skipped checks left %d run records (%v)", len(runs), err)
	}
}

// A failing model pauses the heartbeat after MaxFailures checks in a row
// and tells the user exactly once.
func TestHeartbeatPausesAfterFailuresAndTellsOnce(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 12, 0, 0, 0, paris), func(o *schedule.Options) { o.Heartbeat.MaxFailures = 3 })
	hr := &heartbeatReplies{}
	hr.set(fakellm.Reply{Status: http.StatusInternalServerError, Raw: `{"error":{"message":"upstream exploded","type":"server_error"}}`})
	f.llm.SetResponder(hr.respond)
	f.docs.set(f.owner.ID, "- is the server up?\n")
	f.say(f.ch, "dm-alice", "hi")
	sent := len(f.ch.finals())

	for i := range 3 {
		f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
		ev := f.events.await(t, "failed check", finished(engine.RunHeartbeat))
		if ev.Outcome != engine.RunFailed || ev.Delivered {
			t.Fatalf("check %d: %+v", i, ev)
		}
	}
	notice := f.ch.waitFinals(t, sent+1)[sent]
	if notice.To.Conversation != "dm-alice" || !strings.Contains(notice.Text, "paused your heartbeat after 3 failed checks") {
		t.Fatalf("pause notice: %+v", notice)
	}
	if !f.sched.NextFire(engine.RunHeartbeat, f.owner.ID).IsZero() || f.sched.Armed() != 0 {
		t.Fatal("the paused heartbeat is still armed")
	}
	hb, err := f.store.GetHeartbeat(context.Background(), f.owner.ID)
	if err != nil || !hb.Paused || hb.Failures != 3 {
		t.Fatalf("heartbeat state %+v, %v", hb, err)
	}
	// Hours later: no more checks, no more notices.
	f.clock.Advance(3 * time.Hour)
	if n := f.llmCalls(heartbeatPrefix); n != 3 {
		t.Fatalf("%d checks, want 3", n)
	}
	if n := len(f.ch.finals()); n != sent+1 {
		t.Fatalf("%d notices, want exactly 1", n-sent)
	}
	// Failed checks never told the user anything themselves.
	for _, m := range f.ch.finals()[sent:] {
		if strings.Contains(m.Text, "could not get an answer") && !strings.Contains(m.Text, "paused") {
			t.Fatalf("a failed check sent %q", m.Text)
		}
	}

	// Resuming clears the count and arms the timer again.
	hr.set(fakellm.Reply{Text: "HEARTBEAT_OK"})
	if err := f.sched.ResumeHeartbeat(context.Background(), f.owner.ID); err != nil {
		t.Fatal(err)
	}
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	if ev := f.events.await(t, "check after resume", finished(engine.RunHeartbeat)); ev.Outcome != engine.RunOK {
		t.Fatalf("after resume: %+v", ev)
	}
	if hb, _ := f.store.GetHeartbeat(context.Background(), f.owner.ID); hb.Paused || hb.Failures != 0 {
		t.Fatalf("after resume: %+v", hb)
	}
}

// The daily token budget stops scheduled work and says so once a day.
func TestHeartbeatDailyTokenBudget(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 12, 0, 0, 0, paris), func(o *schedule.Options) { o.Heartbeat.DailyTokenBudget = 1000 })
	hr := &heartbeatReplies{}
	hr.set(fakellm.Reply{Text: "HEARTBEAT_OK", Usage: &fakellm.Usage{Input: 900, Output: 200}})
	f.llm.SetResponder(hr.respond)
	f.docs.set(f.owner.ID, "- anything new?\n")
	f.say(f.ch, "dm-alice", "hi")
	sent := len(f.ch.finals())

	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	if ev := f.events.await(t, "check", finished(engine.RunHeartbeat)); ev.Usage.Total() != 1100 {
		t.Fatalf("usage %+v", ev.Usage)
	}
	for range 2 {
		f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
		if ev := f.events.await(t, "skip", skipped(engine.RunHeartbeat)); ev.Detail != "daily token budget spent" {
			t.Fatalf("over budget: %+v", ev)
		}
	}
	notice := f.ch.waitFinals(t, sent+1)[sent]
	if !strings.Contains(notice.Text, "budget of 1000 tokens") {
		t.Fatalf("budget notice %q", notice.Text)
	}
	if n := f.llmCalls(heartbeatPrefix); n != 1 {
		t.Fatalf("%d checks, want 1", n)
	}
	// The next local day starts afresh.
	tomorrow := time.Date(2026, 6, 3, 8, 0, 0, 0, paris)
	for f.sched.NextFire(engine.RunHeartbeat, f.owner.ID).Before(tomorrow) {
		f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
		f.events.await(t, "skip", skipped(engine.RunHeartbeat))
	}
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	f.events.await(t, "next day's check", finished(engine.RunHeartbeat))
	if n := len(f.ch.finals()); n != sent+1 {
		t.Fatalf("%d budget notices, want 1: %+v\nevents %+v", n-sent, f.ch.finals()[sent:], f.events.all)
	}
}

// A chosen target overrides the last conversation; a cheaper model is used.
func TestHeartbeatTargetAndModel(t *testing.T) {
	f := newFixture(t, time.Date(2026, 6, 2, 12, 0, 0, 0, paris), func(o *schedule.Options) { o.Heartbeat.Model = "small-model" })
	hr := &heartbeatReplies{}
	hr.set(fakellm.Reply{Text: "Pick up the parcel before 18:00."})
	f.llm.SetResponder(hr.respond)
	f.docs.set(f.owner.ID, "- parcels\n")
	f.say(f.ch, "dm-alice", "hi")
	if err := f.sched.SetHeartbeatTarget(context.Background(), f.owner.ID, engine.Address{Channel: "other", Conversation: "alerts"}); err != nil {
		t.Fatal(err)
	}
	f.advanceTo(f.sched.NextFire(engine.RunHeartbeat, f.owner.ID), 1)
	f.events.await(t, "alert", finished(engine.RunHeartbeat))
	got := f.other.waitFinals(t, 1)[0]
	if got.To.Conversation != "alerts" || got.Text != "Pick up the parcel before 18:00." {
		t.Fatalf("alert %+v", got)
	}
	var models []string
	for _, r := range f.llm.Requests() {
		if strings.HasPrefix(r.LastUser(), heartbeatPrefix) {
			models = append(models, r.Model)
		}
	}
	if len(models) != 1 || models[0] != "small-model" {
		t.Fatalf("heartbeat models %v, want [small-model]", models)
	}
	// Manual runs happen outside the schedule too; a paused heartbeat stays
	// off its timer.
	if err := f.sched.PauseHeartbeat(context.Background(), f.owner.ID); err != nil {
		t.Fatal(err)
	}
	if f.sched.Armed() != 0 {
		t.Fatal("paused heartbeat still armed")
	}
	ev, err := f.sched.RunHeartbeatNow(context.Background(), f.owner.ID)
	if err != nil || ev.Phase != schedule.PhaseStarted {
		t.Fatalf("run now: %+v, %v", ev, err)
	}
	f.events.await(t, "manual check", finished(engine.RunHeartbeat))
}
