package schedule_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/engine/llm/openai"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory/sqlite"
	"github.com/jonboulle/clockwork"
)

// wait bounds every wait of these tests for something that must happen;
// the fake clock makes timing deterministic, this only stops a broken
// test from hanging.
const wait = 20 * time.Second

// recChannel records what the engine sends to it.
type recChannel struct {
	name   string
	mu     sync.Mutex
	out    []engine.Outbound
	notify chan struct{}
}

func newRecChannel(name string) *recChannel {
	return &recChannel{name: name, notify: make(chan struct{}, 1)}
}

func (c *recChannel) Name() string                                 { return c.name }
func (c *recChannel) Capabilities() engine.Capabilities            { return engine.Capabilities{} }
func (c *recChannel) Run(ctx context.Context, _ engine.Sink) error { <-ctx.Done(); return nil }

func (c *recChannel) Send(_ context.Context, m engine.Outbound) (engine.SentMessage, error) {
	c.mu.Lock()
	if m.Final {
		c.out = append(c.out, m)
	}
	n := len(c.out)
	c.mu.Unlock()
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return engine.SentMessage{ID: fmt.Sprint("m", n)}, nil
}

func (c *recChannel) finals() []engine.Outbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]engine.Outbound(nil), c.out...)
}

// waitFinals waits until the channel got n final messages in all.
func (c *recChannel) waitFinals(t *testing.T, n int) []engine.Outbound {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		if got := c.finals(); len(got) >= n {
			return got
		}
		select {
		case <-c.notify:
		case <-deadline.C:
			t.Fatalf("channel %s got %d messages, want %d: %+v", c.name, len(c.finals()), n, c.finals())
		}
	}
}

// docs is an in-memory workspace for HEARTBEAT.md.
type docs struct {
	mu sync.Mutex
	m  map[string]string
}

func (d *docs) set(userID, text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.m[userID] = text
}

func (d *docs) ReadDoc(_ context.Context, userID, path string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if path != "HEARTBEAT.md" {
		return "", fmt.Errorf("unexpected path %q", path)
	}
	text, ok := d.m[userID]
	if !ok {
		return "", fmt.Errorf("HEARTBEAT.md: %w", engine.ErrNotFound)
	}
	return text, nil
}

// fixture is a real engine (runtime + agent + embedded store) with the
// scheduler's tools, a fake OpenAI-compatible model, two recording
// channels and a fake clock.
type fixture struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	path   string
	store  *sqlite.Store
	llm    *fakellm.OpenAI
	ch     *recChannel // "test"
	other  *recChannel // "other"
	docs   *docs
	owner  engine.User
	tweak  func(*schedule.Options)
	eng    *runtime.Engine
	sched  *schedule.Scheduler
	reg    *tools.Registry
	events *eventLog
}

// eventLog keeps every scheduler event for the test to wait on.
type eventLog struct {
	mu     sync.Mutex
	all    []schedule.Event
	seen   int
	notify chan struct{}
}

func (l *eventLog) add(e schedule.Event) {
	l.mu.Lock()
	l.all = append(l.all, e)
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
}

// await returns the first event after the last one awaited that matches.
func (l *eventLog) await(t *testing.T, what string, match func(schedule.Event) bool) schedule.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for i := l.seen; i < len(l.all); i++ {
			if match(l.all[i]) {
				l.seen = i + 1
				e := l.all[i]
				l.mu.Unlock()
				return e
			}
		}
		l.mu.Unlock()
		select {
		case <-l.notify:
		case <-deadline.C:
			l.mu.Lock()
			defer l.mu.Unlock()
			t.Fatalf("no %s event; the last events: %+v", what, l.all[max(0, len(l.all)-10):])
		}
	}
}

// waitCount waits until n events in all match and returns them.
func (l *eventLog) waitCount(t *testing.T, what string, n int, match func(schedule.Event) bool) []schedule.Event {
	t.Helper()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		var got []schedule.Event
		for _, e := range l.all {
			if match(e) {
				got = append(got, e)
			}
		}
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-l.notify:
		case <-deadline.C:
			t.Fatalf("%d %s events, want %d", len(got), what, n)
		}
	}
}

func finished(kind engine.RunKind) func(schedule.Event) bool {
	return func(e schedule.Event) bool { return e.Phase == schedule.PhaseFinished && e.Kind == kind }
}

func skipped(kind engine.RunKind) func(schedule.Event) bool {
	return func(e schedule.Event) bool { return e.Phase == schedule.PhaseSkipped && e.Kind == kind }
}

// newFixture starts everything at start; the owner "alice" writes on the
// "test" channel and lives in Europe/Paris.
func newFixture(t *testing.T, start time.Time, tweak func(*schedule.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: clockwork.NewFakeClockAt(start), path: filepath.Join(t.TempDir(), "hearth.db"),
		ch: newRecChannel("test"), other: newRecChannel("other"), docs: &docs{m: map[string]string{}}, tweak: tweak,
		events: &eventLog{notify: make(chan struct{}, 1)}}
	st, err := sqlite.Open(context.Background(), f.path, sqlite.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = st
	t.Cleanup(func() { _ = st.Close() })
	f.llm = fakellm.NewOpenAI(t)
	f.llm.SetResponder(func(req fakellm.Request) fakellm.Reply { return fakellm.Reply{Text: "echo: " + req.LastUser()} })
	f.start()
	return f
}

func (f *fixture) start() {
	t := f.t
	ctx := context.Background()
	gate, err := access.New(access.Options{Store: f.store, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if f.owner, err = gate.EnsureOwner(ctx, "test", "alice", "Alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.LinkIdentity(ctx, engine.Identity{Channel: "other", PlatformID: "alice", UserID: f.owner.ID}); err != nil {
		t.Fatal(err)
	}
	if f.owner.Timezone != "Europe/Paris" {
		f.owner.Timezone = "Europe/Paris"
		if err := f.store.UpdateUser(ctx, f.owner); err != nil {
			t.Fatal(err)
		}
	}
	o := schedule.Options{
		Store: f.store, Docs: f.docs, Clock: f.clock, SyncInterval: -1, RunTimeout: wait,
		Heartbeat: schedule.HeartbeatOptions{Enabled: true, ActiveHours: "08:00-22:00"},
		OnEvent:   f.events.add,
	}
	if f.tweak != nil {
		f.tweak(&o)
	}
	f.sched, err = schedule.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.reg = tools.New(tools.Options{})
	for _, tl := range schedule.Tools(f.sched) {
		if err := f.reg.Register(tl); err != nil {
			t.Fatal(err)
		}
	}
	model, err := openai.New(provider.Settings{BaseURL: f.llm.BaseURL(), Model: "main-model", Timeout: wait})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{LLM: model, Tools: f.reg, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.eng, err = runtime.New(runtime.Options{Store: f.store, Gate: gate, Agent: ag, Now: f.clock.Now,
		OnJobDone: f.sched.HandleResult, RetryDelays: []time.Duration{time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []engine.Channel{f.ch, f.other} {
		if err := f.eng.AddChannel(ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.sched.Start(ctx, f.eng); err != nil {
		t.Fatal(err)
	}
	eng, sched := f.eng, f.sched
	t.Cleanup(func() { f.stopParts(eng, sched) })
}

func (f *fixture) stopParts(eng *runtime.Engine, sched *schedule.Scheduler) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := sched.Stop(ctx); err != nil {
		f.t.Errorf("scheduler stop: %v", err)
	}
	if err := eng.Shutdown(ctx); err != nil {
		f.t.Errorf("engine shutdown: %v", err)
	}
}

// restart stops the engine and the scheduler and starts new ones on the
// same store, channels and clock, as a new process would.
func (f *fixture) restart() {
	f.stopParts(f.eng, f.sched)
	f.start()
}

// say sends a direct message from alice and waits for its answer.
func (f *fixture) say(ch *recChannel, conv, text string) engine.Outbound {
	f.t.Helper()
	before := len(ch.finals())
	_, err := f.eng.Accept(context.Background(), engine.Inbound{Channel: ch.name, Conversation: conv,
		Sender: engine.Sender{ID: "alice"}, Direct: true, Text: text})
	if err != nil {
		f.t.Fatal(err)
	}
	return ch.waitFinals(f.t, before+1)[before]
}

// advanceTo moves the fake clock to when, after making sure that the
// scheduler has armed its timers (armed of them on the clock), so that
// nothing due before when is skipped.
func (f *fixture) advanceTo(when time.Time, armed int) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.clock.BlockUntilContext(ctx, armed); err != nil {
		f.t.Fatalf("waiting for %d timers: %v", armed, err)
	}
	if d := when.Sub(f.clock.Now()); d > 0 {
		f.clock.Advance(d)
	}
}

// llmCalls counts the model requests whose last user message starts with
// prefix.
func (f *fixture) llmCalls(prefix string) int {
	n := 0
	for _, r := range f.llm.Requests() {
		for _, m := range r.Messages {
			if m.Role == "user" && strings.HasPrefix(m.Content, prefix) {
				n++
				break
			}
		}
	}
	return n
}

const heartbeatPrefix = "[Heartbeat check"
