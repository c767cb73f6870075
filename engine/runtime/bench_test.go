package runtime

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// instantLLM answers at once, like a model with zero latency.
type instantLLM struct{}

func (instantLLM) Chat(_ context.Context, req engine.ChatRequest) (*engine.ChatResponse, error) {
	last := req.Messages[len(req.Messages)-1].Content
	return &engine.ChatResponse{Message: engine.ChatMessage{Role: engine.RoleAssistant, Content: "ok: " + last}}, nil
}

// signalChannel reports each final reply on a channel.
type signalChannel struct{ done chan struct{} }

func (c signalChannel) Name() string                                 { return "bench" }
func (c signalChannel) Capabilities() engine.Capabilities            { return engine.Capabilities{} }
func (c signalChannel) Run(ctx context.Context, _ engine.Sink) error { <-ctx.Done(); return nil }
func (c signalChannel) Send(_ context.Context, m engine.Outbound) (engine.SentMessage, error) {
	if m.Final {
		c.done <- struct{}{}
	}
	return engine.SentMessage{}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMessage measures the engine's overhead per message, from
// Accept to the reply reaching the channel: the access gate, persistence
// in the embedded store, the actor, the agent loop with an instant model,
// the turn record and delivery. It reports process CPU per message.
func BenchmarkMessage(b *testing.B) {
	// sessions=1 sends one message at a time, waiting for each reply, in a
	// conversation that moves on every 20 messages (so history stays the
	// size of a real chat); sessions=100 keeps 100 conversations busy.
	for _, sessions := range []int{1, 100} {
		b.Run(fmt.Sprintf("sessions=%d", sessions), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "h.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			gate, err := access.New(access.Options{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := gate.EnsureOwner(ctx, "bench", "owner", "Owner"); err != nil {
				b.Fatal(err)
			}
			ag, err := agent.New(agent.Options{LLM: instantLLM{}, SystemPrompt: "You are Hearth."})
			if err != nil {
				b.Fatal(err)
			}
			eng, err := New(Options{Store: st, Gate: gate, Agent: ag})
			if err != nil {
				b.Fatal(err)
			}
			ch := signalChannel{done: make(chan struct{}, 1024)}
			if err := eng.AddChannel(ch); err != nil {
				b.Fatal(err)
			}
			if err := eng.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = eng.Shutdown(ctx) }()
			send := func(i int) {
				_, err := eng.Accept(ctx, engine.Inbound{Channel: "bench", MessageID: fmt.Sprint(i),
					Conversation: conversation(i, sessions), Sender: engine.Sender{ID: "owner"}, Direct: true, Text: "hello"})
				if err != nil {
					b.Fatal(err)
				}
			}
			// Warm up: create the sessions and actors.
			for i := range sessions {
				send(-1 - i)
				<-ch.done
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			inflight := 0
			for i := range b.N {
				send(i)
				inflight++
				if inflight == sessions {
					for ; inflight > 0; inflight-- {
						<-ch.done
					}
				}
			}
			for ; inflight > 0; inflight-- {
				<-ch.done
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/1000, "cpu-µs/msg")
		})
	}
}

func conversation(i, sessions int) string {
	if sessions == 1 {
		return fmt.Sprint("seq", i/20)
	}
	return fmt.Sprint("c", i%sessions)
}
