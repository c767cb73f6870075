package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/engine/llm/openai"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory/postgres"
)

// countingLocker counts the locks a scheduler asked for and was refused:
// a firing whose lock is held elsewhere never reaches the scheduler's
// task, so the test accounts for it here.
type countingLocker struct {
	inner   gocron.Locker
	refused atomic.Int64
	poke    func()
}

func (c *countingLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	l, err := c.inner.Lock(ctx, key)
	if err != nil {
		c.refused.Add(1)
		c.poke()
	}
	return l, err
}

// schedProcess is one Hearth process: its own pool on the shared database,
// engine, scheduler, channel and event counts.
type schedProcess struct {
	store  *postgres.Store
	eng    *runtime.Engine
	sched  *schedule.Scheduler
	locker *countingLocker
	sent   atomic.Int64

	mu      sync.Mutex
	phases  map[string]int
	changed chan struct{} // poked on every event and refused lock
}

func (p *schedProcess) poke() {
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

func (p *schedProcess) event(e schedule.Event) {
	p.mu.Lock()
	p.phases[e.Phase]++
	p.mu.Unlock()
	p.poke()
}

func (p *schedProcess) count(phase string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phases[phase]
}

// countingChannel counts what the engine delivers to it.
type countingChannel struct{ p *schedProcess }

func (c countingChannel) Name() string                                 { return "test" }
func (c countingChannel) Capabilities() engine.Capabilities            { return engine.Capabilities{} }
func (c countingChannel) Run(ctx context.Context, _ engine.Sink) error { <-ctx.Done(); return nil }
func (c countingChannel) Send(_ context.Context, m engine.Outbound) (engine.SentMessage, error) {
	if m.Final {
		c.p.sent.Add(1)
	}
	return engine.SentMessage{ID: "1"}, nil
}

func startProcess(t *testing.T, u string, clock clockwork.Clock, llmURL string, n int, changed chan struct{}) *schedProcess {
	t.Helper()
	ctx := context.Background()
	p := &schedProcess{phases: map[string]int{}, changed: changed}
	st, err := postgres.Open(ctx, u, postgres.Options{Now: clock.Now, MaxConns: 12})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	p.store = st
	p.locker = &countingLocker{inner: st.Locker(), poke: p.poke}
	gate, err := access.New(access.Options{Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	p.sched, err = schedule.New(schedule.Options{Store: st, Clock: clock, Locker: p.locker, MaxConcurrent: 4,
		SyncInterval: -1, RunTimeout: time.Minute, Routines: schedule.RoutineOptions{MaxPerUser: n}, OnEvent: p.event})
	if err != nil {
		t.Fatal(err)
	}
	model, err := openai.New(provider.Settings{BaseURL: llmURL, Model: "m", Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{LLM: model, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	p.eng, err = runtime.New(runtime.Options{Store: st, Gate: gate, Agent: ag, Now: clock.Now, OnJobDone: p.sched.HandleResult})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.eng.AddChannel(countingChannel{p}); err != nil {
		t.Fatal(err)
	}
	if err := p.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.sched.Start(ctx, p.eng); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := p.sched.Stop(sctx); err != nil {
			t.Errorf("scheduler stop: %v", err)
		}
		if err := p.eng.Shutdown(sctx); err != nil {
			t.Errorf("engine shutdown: %v", err)
		}
		_ = st.Close()
	})
	return p
}

// Two processes (two engines and schedulers on two pools) on one real
// PostgreSQL: 1,000 routines due in the same minute each run exactly once.
// The advisory locker keeps the processes off each other's jobs while one
// runs them; the run id (routine and scheduled time) makes the outcome
// exact when a process fires a job just after the other released it.
func TestSchedulerTwoProcessesRunEachRoutineOnce(t *testing.T) {
	const n = 1000
	u := schemaURL(t)
	ctx := context.Background()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 5, 4, 8, 0, 0, 0, paris))
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		return fakellm.Reply{Text: "ran " + strings.SplitN(req.LastUser(), "\"", 3)[1]}
	})

	// The routines exist before either process starts.
	seed := openAt(t, u)
	gate, err := access.New(access.Options{Store: seed, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := gate.EnsureOwner(ctx, "test", "alice", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	created := clock.Now()
	for i := range n {
		err := seed.CreateRoutine(ctx, engine.Routine{
			ID: fmt.Sprintf("rt_%04d", i), UserID: owner.ID, Name: fmt.Sprintf("r%04d", i), Prompt: "go",
			Schedule: engine.Schedule{Kind: engine.ScheduleCron, Cron: "0 9 * * *", Timezone: "Europe/Paris"},
			Session:  engine.SessionOwn, Deliver: engine.DeliverOrigin, Missed: engine.MissedRunOnce,
			CreatedFrom: engine.Address{Channel: "test", Conversation: "dm-alice"}, CreatedAt: created,
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	changed := make(chan struct{}, 1)
	a := startProcess(t, u, clock, llm.BaseURL(), n, changed)
	b := startProcess(t, u, clock, llm.BaseURL(), n, changed)
	if a.sched.Armed() != n || b.sched.Armed() != n {
		t.Fatalf("armed %d and %d, want %d each", a.sched.Armed(), b.sched.Armed(), n)
	}
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := clock.BlockUntilContext(waitCtx, 2*n); err != nil {
		t.Fatal(err)
	}
	nine := time.Date(2026, 5, 4, 9, 0, 0, 0, paris)
	clock.Advance(nine.Sub(clock.Now()))

	// Every firing of each process ends as refused by the locker, started,
	// or found started by the other process.
	accounted := func(p *schedProcess) int {
		return int(p.locker.refused.Load()) + p.count(schedule.PhaseStarted) + p.count(schedule.PhaseDuplicate) + p.count(schedule.PhaseSkipped)
	}
	finished := func() int { return a.count(schedule.PhaseFinished) + b.count(schedule.PhaseFinished) }
	deadline := time.NewTimer(2 * time.Minute)
	defer deadline.Stop()
	for accounted(a) < n || accounted(b) < n || finished() < n {
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("after 2 minutes: process A accounted for %d firings, B for %d, %d runs finished; want %d, %d, %d",
				accounted(a), accounted(b), finished(), n, n, n)
		}
	}

	started := a.count(schedule.PhaseStarted) + b.count(schedule.PhaseStarted)
	t.Logf("process A: %d started, %d duplicates, %d refused by the lock; process B: %d started, %d duplicates, %d refused",
		a.count(schedule.PhaseStarted), a.count(schedule.PhaseDuplicate), a.locker.refused.Load(),
		b.count(schedule.PhaseStarted), b.count(schedule.PhaseDuplicate), b.locker.refused.Load())
	if started != n || finished() != n || a.count(schedule.PhaseSkipped)+b.count(schedule.PhaseSkipped) != 0 {
		t.Fatalf("%d runs started and %d finished, want %d each", started, finished(), n)
	}
	runs, err := seed.ListRuns(ctx, engine.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, r := range runs {
		per[r.RoutineID]++
		if r.Outcome != engine.RunOK || !r.Delivered || !r.ScheduledAt.Equal(nine) {
			t.Errorf("run %+v", r)
		}
	}
	if len(runs) != n || len(per) != n {
		t.Fatalf("%d run records for %d routines, want each of %d once", len(runs), len(per), n)
	}
	if c := llm.Count(); c != n {
		t.Fatalf("%d model calls, want %d", c, n)
	}
	if sent := a.sent.Load() + b.sent.Load(); sent != n {
		t.Fatalf("%d replies delivered, want %d", sent, n)
	}
}
