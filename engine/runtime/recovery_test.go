package runtime

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/agent"
)

func TestShutdownCheckpointsAndRestartAnswersOnce(t *testing.T) {
	g := newGated()
	f := newFixture(t, g, nil)
	r := f.accept(msg("c", "1", "before crash"))
	waitStart(t, g, "before crash")
	// Shutdown cannot wait for the turn: it is cut short and stays pending.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.eng.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	if _, err := f.eng.Accept(context.Background(), msg("c", "2", "late")); !errors.Is(err, ErrShuttingDown) {
		t.Fatalf("accept after shutdown: %v", err)
	}
	in, err := f.store.GetInbound(context.Background(), r.ID)
	if err != nil || in.Status != engine.InboxPending {
		t.Fatalf("status after checkpoint %v (%v)", in.Status, err)
	}
	if n := len(f.ch.finals()); n != 0 {
		t.Fatalf("%d replies before restart", n)
	}

	// A new engine on the same store answers it exactly once.
	var calls atomic.Int32
	f.start(funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		calls.Add(1)
		return echoRunner()(ctx, tr)
	}), newRecChannel("test"), nil)
	got := f.ch.waitFinals(t, 1)
	if got[0].Text != "echo: before crash" {
		t.Fatalf("after restart: %q", got[0].Text)
	}
	// A second restart must not answer again.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := f.eng.Shutdown(ctx2); err != nil {
		t.Fatal(err)
	}
	f.start(funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		calls.Add(1)
		return echoRunner()(ctx, tr)
	}), newRecChannel("test"), nil)
	f.accept(msg("c", "3", "next"))
	got = f.ch.waitFinals(t, 1)
	if got[0].Text != "echo: next" || calls.Load() != 2 {
		t.Fatalf("second restart: %q, agent calls %d", texts(got), calls.Load())
	}
}

func TestUndeliveredReplyIsRetriedAndSurvivesRestart(t *testing.T) {
	f := newFixture(t, echoRunner(), func(o *Options) { o.RetryDelays = []time.Duration{time.Millisecond} })
	f.ch.mu.Lock()
	f.ch.failN = 100 // the platform is down for good in this process
	f.ch.mu.Unlock()
	r := f.accept(msg("c", "1", "hello"))
	// The turn completes and the reply waits in the outbox.
	eventually(t, "the turn completes", func() bool {
		in, err := f.store.GetInbound(context.Background(), r.ID)
		return err == nil && in.Status == engine.InboxDone
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f.start(echoRunner(), newRecChannel("test"), nil)
	got := f.ch.waitFinals(t, 1)
	if got[0].Text != "echo: hello" || got[0].ID == 0 {
		t.Fatalf("redelivered %+v", got[0])
	}
	eventually(t, "the outbox empties", func() bool {
		pending, err := f.store.PendingOutbound(context.Background())
		return err == nil && len(pending) == 0
	})
}

func TestIdleActorExitsAndIsRebuiltWithHistory(t *testing.T) {
	var hist []int
	done := make(chan struct{}, 10)
	f := newFixture(t, funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		hist = append(hist, len(tr.History))
		defer func() { done <- struct{}{} }()
		return echoRunner()(ctx, tr)
	}), func(o *Options) { o.IdleTimeout = 20 * time.Millisecond })
	f.accept(msg("c", "1", "first"))
	f.ch.waitFinals(t, 1)
	<-done
	eventually(t, "the idle actor exits", func() bool {
		f.eng.mu.Lock()
		defer f.eng.mu.Unlock()
		return len(f.eng.actors) == 0
	})
	f.accept(msg("c", "2", "second"))
	f.ch.waitFinals(t, 2)
	<-done
	if len(hist) != 2 || hist[1] != 2 {
		t.Fatalf("history per turn %v: the rebuilt actor did not reload history", hist)
	}
}

func TestStreamingEditsOneMessageThenFinalEdit(t *testing.T) {
	f := &fixture{t: t}
	f.path = t.TempDir() + "/h.db"
	f.store = openStore(t, f.path)
	t.Cleanup(func() { _ = f.store.Close() })
	ch := editChannel{newRecChannel("test")}
	ch.caps = engine.Capabilities{EditInterval: time.Millisecond}
	step := make(chan struct{})
	f.start(funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		tr.OnDelta("Hello")
		<-step
		tr.OnDelta("Hello, world")
		<-step
		return echoRunner()(ctx, tr)
	}), ch, nil)
	f.accept(msg("c", "1", "hi"))
	eventually(t, "the first piece is posted", func() bool {
		f.ch.mu.Lock()
		defer f.ch.mu.Unlock()
		return len(f.ch.out) > 0
	})
	step <- struct{}{}
	step <- struct{}{}
	got := f.ch.waitFinals(t, 1)
	f.ch.mu.Lock()
	defer f.ch.mu.Unlock()
	var first *engine.Outbound
	for i, m := range f.ch.out {
		if m.Kind == engine.KindDelta {
			first = &f.ch.out[i]
			break
		}
	}
	if first == nil || !strings.HasPrefix(first.Text, "Hello") {
		t.Fatalf("no streamed message was posted: %+v", f.ch.out)
	}
	if got[0].Kind != engine.KindReply || got[0].Meta["edited"] != "m1" || got[0].Text != "echo: hi" {
		t.Fatalf("final reply did not edit the streamed message: %+v", got[0])
	}
}

// streamChannel adds engine.Streamer to recChannel.
type streamChannel struct{ *recChannel }

func (c streamChannel) Stream(_ context.Context, m engine.Outbound) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.edits = append(c.edits, m)
	return nil
}

type redactGuard struct{}

func (redactGuard) CheckOutbound(_ context.Context, _ string, text string) (string, []string) {
	return strings.ReplaceAll(text, "sk-SECRET", "[redacted]"), nil
}

func TestStreamedTextPassesTheOutboundGuard(t *testing.T) {
	f := &fixture{t: t, path: t.TempDir() + "/h.db"}
	f.store = openStore(t, f.path)
	t.Cleanup(func() { _ = f.store.Close() })
	ch := streamChannel{newRecChannel("test")}
	f.start(funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		tr.OnDelta("the key is sk-SECRET")
		eventually(t, "the delta is streamed", func() bool {
			ch.mu.Lock()
			defer ch.mu.Unlock()
			return len(ch.edits) > 0
		})
		return agent.Result{Reply: "the key is sk-SECRET", Messages: []engine.ChatMessage{
			{Role: engine.RoleUser, Content: tr.Input}, {Role: engine.RoleAssistant, Content: "the key is sk-SECRET"}}}, nil
	}), ch, func(o *Options) { o.OutboundGuard = redactGuard{} })
	f.accept(msg("c", "1", "what is the key?"))
	got := f.ch.waitFinals(t, 1)
	f.ch.mu.Lock()
	defer f.ch.mu.Unlock()
	for _, m := range append(f.ch.edits, got...) {
		if strings.Contains(m.Text, "sk-SECRET") || strings.Contains(m.Delta, "sk-SECRET") {
			t.Fatalf("the secret was shown: %+v", m)
		}
	}
}
