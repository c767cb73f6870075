package runtime

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
	"github.com/hearthbot/hearth/memory/sqlite"
)

// recChannel records what the engine sends; it can fail sends on demand.
type recChannel struct {
	name string
	caps engine.Capabilities

	mu     sync.Mutex
	out    []engine.Outbound
	edits  []engine.Outbound
	failN  int // fail this many sends first
	notify chan struct{}
}

func newRecChannel(name string) *recChannel {
	return &recChannel{name: name, notify: make(chan struct{}, 1)}
}

func (c *recChannel) Name() string                                 { return c.name }
func (c *recChannel) Capabilities() engine.Capabilities            { return c.caps }
func (c *recChannel) Run(ctx context.Context, _ engine.Sink) error { <-ctx.Done(); return nil }

func (c *recChannel) Send(_ context.Context, m engine.Outbound) (engine.SentMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Kind == engine.KindReply || m.Kind == engine.KindNotice {
		if c.failN > 0 {
			c.failN--
			return engine.SentMessage{}, fmt.Errorf("platform down")
		}
	}
	c.out = append(c.out, m)
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return engine.SentMessage{ID: fmt.Sprint("m", len(c.out))}, nil
}

// finals returns the final replies and notices sent so far.
func (c *recChannel) finals() []engine.Outbound {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []engine.Outbound
	for _, m := range c.out {
		if m.Final {
			out = append(out, m)
		}
	}
	return out
}

// waitFinals polls until n final messages arrived or the deadline passes.
func (c *recChannel) waitFinals(t *testing.T, n int) []engine.Outbound {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := c.finals()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d final messages, want %d: %+v", len(got), n, got)
		}
		select {
		case <-c.notify:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// editChannel adds engine.Editor to recChannel.
type editChannel struct{ *recChannel }

func (c editChannel) Edit(_ context.Context, sent engine.SentMessage, m engine.Outbound) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m.Meta = map[string]string{"edited": sent.ID}
	c.edits = append(c.edits, m)
	if m.Final {
		c.out = append(c.out, m)
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

// funcRunner is an agent whose turns are a function.
type funcRunner func(ctx context.Context, t agent.Turn) (agent.Result, error)

func (f funcRunner) Run(ctx context.Context, t agent.Turn) (agent.Result, error) { return f(ctx, t) }

// echoRunner answers "echo: <input>".
func echoRunner() funcRunner {
	return func(_ context.Context, t agent.Turn) (agent.Result, error) {
		reply := "echo: " + t.Input
		return agent.Result{Reply: reply, Messages: []engine.ChatMessage{
			{Role: engine.RoleUser, Content: t.Input}, {Role: engine.RoleAssistant, Content: reply}}}, nil
	}
}

type fixture struct {
	t     *testing.T
	path  string
	store *sqlite.Store
	gate  *access.Gate
	eng   *Engine
	ch    *recChannel
	owner engine.User
}

func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newFixture builds an engine on a fresh embedded store with one channel
// "test" whose sender "owner" is the owner.
func newFixture(t *testing.T, run Runner, tweak func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, path: filepath.Join(t.TempDir(), "hearth.db")}
	f.store = openStore(t, f.path)
	t.Cleanup(func() { _ = f.store.Close() })
	f.start(run, newRecChannel("test"), tweak)
	return f
}

func (f *fixture) start(run Runner, ch engine.Channel, tweak func(*Options)) {
	t := f.t
	gate, err := access.New(access.Options{Store: f.store, GroupPolicy: map[string]string{"test": "mention"}})
	if err != nil {
		t.Fatal(err)
	}
	f.gate = gate
	if f.owner, err = gate.EnsureOwner(context.Background(), "test", "owner", "Owner"); err != nil {
		t.Fatal(err)
	}
	o := Options{Store: f.store, Gate: gate, Agent: run, RetryDelays: []time.Duration{time.Millisecond, time.Millisecond}}
	if tweak != nil {
		tweak(&o)
	}
	eng, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.AddChannel(ch); err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.eng = eng
	switch c := ch.(type) {
	case *recChannel:
		f.ch = c
	case editChannel:
		f.ch = c.recChannel
	case streamChannel:
		f.ch = c.recChannel
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = eng.Shutdown(ctx)
	})
}

func msg(conv, id, text string) engine.Inbound {
	return engine.Inbound{Channel: "test", MessageID: id, Conversation: conv, Sender: engine.Sender{ID: "owner"}, Direct: true, Text: text}
}

func (f *fixture) accept(in engine.Inbound) engine.Receipt {
	f.t.Helper()
	r, err := f.eng.Accept(context.Background(), in)
	if err != nil {
		f.t.Fatalf("accept %q: %v", in.Text, err)
	}
	return r
}

func texts(out []engine.Outbound) string {
	var s []string
	for _, m := range out {
		s = append(s, m.Text)
	}
	return strings.Join(s, "|")
}

// eventually polls cond until it holds or a deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}
