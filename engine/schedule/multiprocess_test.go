package schedule_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/engine/llm/openai"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// process is a second Hearth process on the fixture's database file:
// its own store connection, engine, scheduler and channel.
type process struct {
	store *sqlite.Store
	eng   *runtime.Engine
	sched *schedule.Scheduler
	ch    *recChannel
}

func (f *fixture) addProcess(tweak func(*schedule.Options)) *process {
	t := f.t
	ctx := context.Background()
	p := &process{ch: newRecChannel("test")}
	st, err := sqlite.Open(ctx, f.path, sqlite.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	p.store = st
	gate, err := access.New(access.Options{Store: st, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	o := schedule.Options{Store: st, Docs: f.docs, Clock: f.clock, SyncInterval: -1, RunTimeout: wait, OnEvent: f.events.add}
	if tweak != nil {
		tweak(&o)
	}
	if p.sched, err = schedule.New(o); err != nil {
		t.Fatal(err)
	}
	model, err := openai.New(provider.Settings{BaseURL: f.llm.BaseURL(), Model: "main-model", Timeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{LLM: model, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if p.eng, err = runtime.New(runtime.Options{Store: st, Gate: gate, Agent: ag, Now: f.clock.Now, OnJobDone: p.sched.HandleResult}); err != nil {
		t.Fatal(err)
	}
	if err := p.eng.AddChannel(p.ch); err != nil {
		t.Fatal(err)
	}
	if err := p.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.sched.Start(ctx, p.eng); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.stopParts(p.eng, p.sched)
		_ = st.Close()
	})
	return p
}

// Two processes on one database, 100 routines due in the same minute:
// each runs exactly once, in one of the two.
func TestTwoProcessesRunEachRoutineOnce(t *testing.T) {
	const n = 100
	start := time.Date(2026, 5, 4, 8, 0, 0, 0, paris)
	tweak := func(o *schedule.Options) { o.Heartbeat.Enabled, o.MaxConcurrent, o.Routines.MaxPerUser = false, 4, n }
	f := newFixture(t, start, tweak)
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		if last := req.LastUser(); strings.HasPrefix(last, routinePrefix) {
			return fakellm.Reply{Text: "ran " + strings.SplitN(last, "\"", 3)[1]}
		}
		return fakellm.Reply{Text: "echo"}
	})
	ctx := context.Background()
	for i := range n {
		_, err := f.sched.CreateRoutine(ctx, engine.Routine{UserID: f.owner.ID, Name: fmt.Sprintf("r%03d", i), Prompt: "go",
			Schedule:    engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 9 * * *", Timezone: "Europe/Paris"},
			CreatedFrom: engine.Address{Channel: "test", Conversation: "dm-alice"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	p := f.addProcess(tweak)
	if f.sched.Armed() != n || p.sched.Armed() != n {
		t.Fatalf("armed %d and %d, want %d each", f.sched.Armed(), p.sched.Armed(), n)
	}
	nine := time.Date(2026, 5, 4, 9, 0, 0, 0, paris)
	f.advanceTo(nine, 2*n)

	// Every firing in each process ends as started or duplicate.
	counts := map[string]int{}
	for _, ev := range f.events.waitCount(t, "firing", 2*n, func(e schedule.Event) bool {
		return e.Phase == schedule.PhaseStarted || e.Phase == schedule.PhaseDuplicate || e.Phase == schedule.PhaseSkipped
	}) {
		counts[ev.Phase]++
	}
	if counts[schedule.PhaseStarted] != n || counts[schedule.PhaseDuplicate] != n {
		t.Fatalf("firings: %v, want %d started and %d duplicates", counts, n, n)
	}
	for _, ev := range f.events.waitCount(t, "result", n, routineFinished("")) {
		if !ev.Delivered {
			t.Fatalf("run %+v", ev)
		}
	}
	runs, err := f.store.ListRuns(ctx, engine.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range runs {
		per[r.RoutineID]++
		if r.Outcome != engine.RunOK || !r.ScheduledAt.Equal(nine) {
			t.Errorf("run %+v", r)
		}
	}
	if len(runs) != n || len(per) != n {
		t.Fatalf("%d run records for %d routines, want %d each once", len(runs), len(per), n)
	}
	if c := f.llmCalls(routinePrefix); c != n {
		t.Fatalf("%d model calls, want %d", c, n)
	}
	got := len(f.ch.waitFinals(t, 0)) + len(p.ch.waitFinals(t, 0))
	if got != n {
		t.Fatalf("%d messages delivered, want %d", got, n)
	}
}
