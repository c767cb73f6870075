package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/agent"
)

func TestAnswersEachMessageOnceInOrderPerSession(t *testing.T) {
	f := newFixture(t, echoRunner(), nil)
	const sessions, per = 5, 20
	var wg sync.WaitGroup
	for s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				f.accept(msg(fmt.Sprint("c", s), fmt.Sprintf("%d-%d", s, i), fmt.Sprintf("%d", i)))
			}
		}()
	}
	wg.Wait()
	got := f.ch.waitFinals(t, sessions*per)
	next := map[string]int{}
	for _, m := range got {
		want := fmt.Sprintf("echo: %d", next[m.To.Conversation])
		if m.Text != want {
			t.Fatalf("conversation %s: got %q, want %q (out of order or duplicated)", m.To.Conversation, m.Text, want)
		}
		next[m.To.Conversation]++
	}
	if len(got) != sessions*per {
		t.Fatalf("%d replies for %d messages", len(got), sessions*per)
	}
}

func TestDuplicateIsNotAnsweredTwice(t *testing.T) {
	var calls atomic.Int32
	run := echoRunner()
	f := newFixture(t, funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		calls.Add(1)
		return run(ctx, tr)
	}), nil)
	r1 := f.accept(msg("c", "same", "hi"))
	r2 := f.accept(msg("c", "same", "hi"))
	if r1.Status != engine.Queued || r2.Status != engine.Duplicate || r1.ID != r2.ID {
		t.Fatalf("receipts %+v %+v", r1, r2)
	}
	f.ch.waitFinals(t, 1)
	f.accept(msg("c", "other", "second"))
	f.ch.waitFinals(t, 2)
	if calls.Load() != 2 {
		t.Fatalf("agent ran %d times, want 2", calls.Load())
	}
}

// gatedRunner blocks each turn until released, reporting starts.
type gatedRunner struct {
	started chan string
	release chan struct{}
}

func newGated() *gatedRunner {
	return &gatedRunner{started: make(chan string, 100), release: make(chan struct{}, 100)}
}

func (g *gatedRunner) Run(ctx context.Context, t agent.Turn) (agent.Result, error) {
	g.started <- t.Input
	select {
	case <-g.release:
	case <-ctx.Done():
		return agent.Result{}, ctx.Err()
	}
	return echoRunner()(ctx, t)
}

func waitStart(t *testing.T, g *gatedRunner, want string) {
	t.Helper()
	select {
	case got := <-g.started:
		if got != want {
			t.Fatalf("turn started for %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("turn for %q never started", want)
	}
}

func TestMessagesDuringATurnAreQueuedAndAnswered(t *testing.T) {
	g := newGated()
	f := newFixture(t, g, func(o *Options) { o.MailboxSize = 2 })
	f.accept(msg("c", "1", "one"))
	waitStart(t, g, "one")
	// Overflow the mailbox of 2 while the first turn runs.
	for i := 2; i <= 8; i++ {
		f.accept(msg("c", fmt.Sprint(i), fmt.Sprint("n", i)))
	}
	for range 8 {
		g.release <- struct{}{}
	}
	got := f.ch.waitFinals(t, 8)
	want := "echo: one|echo: n2|echo: n3|echo: n4|echo: n5|echo: n6|echo: n7|echo: n8"
	if texts(got) != want {
		t.Fatalf("replies %q\nwant    %q", texts(got), want)
	}
}

func TestStopCancelsTheRunningTurn(t *testing.T) {
	g := newGated()
	f := newFixture(t, g, nil)
	f.accept(msg("c", "1", "long job"))
	waitStart(t, g, "long job")
	if r := f.accept(msg("c", "2", "/stop")); r.Status != engine.Handled {
		t.Fatalf("/stop receipt %+v", r)
	}
	got := f.ch.waitFinals(t, 2)
	if !strings.Contains(texts(got), "Stopping the current answer.") || !strings.Contains(texts(got), "Stopped.") {
		t.Fatalf("notices %q", texts(got))
	}
	// The session keeps working.
	f.accept(msg("c", "3", "after"))
	waitStart(t, g, "after")
	g.release <- struct{}{}
	got = f.ch.waitFinals(t, 3)
	if got[2].Text != "echo: after" {
		t.Fatalf("after stop: %q", got[2].Text)
	}
}

func TestNewStartsAFreshSession(t *testing.T) {
	var seen []int
	var mu sync.Mutex
	f := newFixture(t, funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		mu.Lock()
		seen = append(seen, len(tr.History))
		mu.Unlock()
		return echoRunner()(ctx, tr)
	}), nil)
	f.accept(msg("c", "1", "a"))
	f.ch.waitFinals(t, 1)
	f.accept(msg("c", "2", "b"))
	f.ch.waitFinals(t, 2)
	f.accept(msg("c", "3", "/new"))
	f.ch.waitFinals(t, 3)
	f.accept(msg("c", "4", "c"))
	f.ch.waitFinals(t, 4)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(seen) != "[0 2 0]" {
		t.Fatalf("history lengths per turn %v, want [0 2 0]", seen)
	}
}

func TestUnknownSenderGetsOnlyAPairingCode(t *testing.T) {
	var calls atomic.Int32
	f := newFixture(t, funcRunner(func(ctx context.Context, tr agent.Turn) (agent.Result, error) {
		calls.Add(1)
		return echoRunner()(ctx, tr)
	}), nil)
	in := msg("dm-stranger", "s1", "secret plans")
	in.Sender = engine.Sender{ID: "stranger", DisplayName: "Eve"}
	r := f.accept(in)
	if r.Status != engine.PairingRequired {
		t.Fatalf("receipt %+v", r)
	}
	got := f.ch.waitFinals(t, 1)
	pending, err := f.gate.Pending(context.Background())
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v %v", pending, err)
	}
	if !strings.Contains(got[0].Text, pending[0].Code) {
		t.Fatalf("notice %q lacks the code %s", got[0].Text, pending[0].Code)
	}
	// After approval the stranger is answered; the earlier text never
	// reached the agent.
	if _, _, err := f.gate.ApproveRequest(context.Background(), pending[0].Code); err != nil {
		t.Fatal(err)
	}
	in2 := in
	in2.MessageID, in2.Text = "s2", "hello"
	f.accept(in2)
	got = f.ch.waitFinals(t, 2)
	if got[1].Text != "echo: hello" || calls.Load() != 1 {
		t.Fatalf("after approval: %q, agent calls %d", got[1].Text, calls.Load())
	}
}

func TestGroupMessageWithoutMentionIsIgnored(t *testing.T) {
	f := newFixture(t, echoRunner(), nil)
	in := msg("group", "g1", "chatter")
	in.Direct = false
	if r := f.accept(in); r.Status != engine.Ignored {
		t.Fatalf("receipt %+v", r)
	}
	in.MessageID, in.Mentioned = "g2", true
	if r := f.accept(in); r.Status != engine.Queued {
		t.Fatalf("mentioned receipt %+v", r)
	}
	if got := f.ch.waitFinals(t, 1); got[0].Text != "echo: chatter" {
		t.Fatalf("reply %q", got[0].Text)
	}
}

func TestBadInboundIsRejectedAndNothingStored(t *testing.T) {
	f := newFixture(t, echoRunner(), func(o *Options) { o.MaxTextBytes = 100 })
	cases := []struct {
		name string
		in   engine.Inbound
	}{
		{"invalid utf8", msg("c", "1", "bad \xff\xfe")},
		{"nul byte", msg("c", "2", "a\x00b")},
		{"too long", msg("c", "3", strings.Repeat("x", 101))},
		{"no conversation", msg("", "4", "hi")},
		{"no sender", engine.Inbound{Channel: "test", Conversation: "c", Text: "hi"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := f.eng.Accept(context.Background(), c.in); !errors.Is(err, ErrInvalidInbound) {
				t.Fatalf("err %v, want ErrInvalidInbound", err)
			}
		})
	}
	in := msg("c", "5", "hi")
	in.Channel = "nope"
	if _, err := f.eng.Accept(context.Background(), in); !errors.Is(err, ErrUnknownChannel) {
		t.Fatalf("unknown channel: %v", err)
	}
	pending, err := f.store.PendingInbound(context.Background())
	if err != nil || len(pending) != 0 {
		t.Fatalf("stored %d messages (%v)", len(pending), err)
	}
}

type safeErr struct{}

func (safeErr) Error() string       { return "status 429 from https://api.example/v1 with key sk-123" }
func (safeErr) UserMessage() string { return "the provider is rate limiting us; try again in a minute" }

func TestLLMFailureTellsTheUser(t *testing.T) {
	f := newFixture(t, funcRunner(func(context.Context, agent.Turn) (agent.Result, error) {
		return agent.Result{}, &agent.LLMError{Err: safeErr{}}
	}), nil)
	r := f.accept(msg("c", "1", "hi"))
	got := f.ch.waitFinals(t, 1)
	if !got[0].Error || !strings.Contains(got[0].Text, "rate limiting") || strings.Contains(got[0].Text, "sk-123") {
		t.Fatalf("notice %+v", got[0])
	}
	in, err := f.store.GetInbound(context.Background(), r.ID)
	if err != nil || in.Status != engine.InboxFailed {
		t.Fatalf("inbound status %v (%v)", in.Status, err)
	}
}

func TestTurnDeadline(t *testing.T) {
	g := newGated()
	f := newFixture(t, g, func(o *Options) { o.TurnTimeout = 50 * time.Millisecond })
	f.accept(msg("c", "1", "slow"))
	got := f.ch.waitFinals(t, 1)
	if !got[0].Error || !strings.Contains(got[0].Text, "longer than") {
		t.Fatalf("notice %+v", got[0])
	}
}

func TestStatsCountMessagesAndTurns(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	run := funcRunner(func(ctx context.Context, tn agent.Turn) (agent.Result, error) {
		started <- struct{}{}
		<-release
		return echoRunner()(ctx, tn)
	})
	f := newFixture(t, run, nil)
	before := f.eng.Stats()
	if before.Accepted != 0 || before.Turns != 0 || before.Running != 0 {
		t.Fatalf("fresh engine stats %+v", before)
	}
	f.accept(msg("c1", "s1", "hello"))
	<-started
	busy := f.eng.Stats()
	if busy.Accepted != 1 || busy.Running != 1 || busy.Turns != 0 || busy.Sessions != 1 {
		t.Fatalf("stats during the turn %+v", busy)
	}
	if busy.Idle(before) {
		t.Fatal("a running turn counts as idle")
	}
	close(release)
	f.ch.waitFinals(t, 1)
	var done Stats
	eventually(t, "the turn to end", func() bool { done = f.eng.Stats(); return done.Turns == 1 && done.Running == 0 })
	if done.Idle(busy) {
		t.Fatal("a finished turn since the last snapshot counts as idle")
	}
	if !f.eng.Stats().Idle(done) {
		t.Fatalf("no activity since %+v, but not idle: %+v", done, f.eng.Stats())
	}
}
