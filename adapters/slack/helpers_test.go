package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/fakeslack"
)

const limit = 10 * time.Second // safety net for waits; never reached when tests pass

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sink is a fake engine.Sink: it records every Accept, answers Duplicate
// for a message id seen before, can fail, can hold Accept at a gate, and
// can reply through the channel like the engine would.
type sink struct {
	mu       sync.Mutex
	got      []engine.Inbound
	statuses []engine.ReceiptStatus
	seen     map[string]bool
	fail     int
	gate     chan struct{} // if set, Accept waits for it to close
	reply    func(in engine.Inbound)
	changed  chan struct{}
}

func newSink() *sink { return &sink{seen: map[string]bool{}, changed: make(chan struct{})} }

func (s *sink) Accept(ctx context.Context, in engine.Inbound) (engine.Receipt, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return engine.Receipt{}, ctx.Err()
		}
	}
	s.mu.Lock()
	defer func() {
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	s.got = append(s.got, in)
	if s.fail > 0 {
		s.fail--
		s.statuses = append(s.statuses, "error")
		return engine.Receipt{}, errors.New("store unavailable")
	}
	if s.seen[in.MessageID] {
		s.statuses = append(s.statuses, engine.Duplicate)
		return engine.Receipt{Status: engine.Duplicate}, nil
	}
	s.seen[in.MessageID] = true
	s.statuses = append(s.statuses, engine.Queued)
	if s.reply != nil {
		go s.reply(in)
	}
	return engine.Receipt{Status: engine.Queued, ID: int64(len(s.got)), MessageID: in.MessageID}, nil
}

func (s *sink) wait(t testing.TB, n int) []engine.Inbound {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		got, ch := append([]engine.Inbound(nil), s.got...), s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("sink got %d messages, want %d", len(got), n)
		}
	}
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFake(t testing.TB) *fakeslack.Server {
	fs := fakeslack.New()
	fs.AddUser("U1", "Alice Doe")
	t.Cleanup(fs.Close)
	return fs
}

func newChannel(t testing.TB, fs *fakeslack.Server, mutate func(*hslack.Config)) (*hslack.Channel, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := hslack.Config{
		BotToken:      fs.BotToken,
		AppToken:      fs.AppToken,
		SigningSecret: fs.SigningSecret,
		APIURL:        fs.APIURL,
		Limits:        &channelkit.Limits{},
		Backoff:       &channelkit.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ch, err := hslack.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ch, logs
}

// run runs the channel until the test ends; the returned function stops it
// and returns Run's result.
func run(t testing.TB, ch *hslack.Channel, s engine.Sink) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = ch.Run(ctx, s)
		close(done)
	}()
	stop := func() error {
		cancel()
		select {
		case <-done:
			return runErr
		case <-time.After(limit):
			t.Error("Run did not return after cancel")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// eventually polls cond until it holds or the safety limit passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// sendEvent sends an event over the fake socket and waits for its ack.
func sendEvent(t testing.TB, fs *fakeslack.Server, ev map[string]any, eventID string, retry int) string {
	t.Helper()
	env, err := fs.SendEvent(ev, eventID, retry)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func waitAck(t testing.TB, fs *fakeslack.Server, env string) fakeslack.Ack {
	t.Helper()
	a, ok := fs.WaitAck(env, limit)
	if !ok {
		t.Fatalf("envelope %s never acknowledged", env)
	}
	return a
}

func equalInbound(a, b engine.Inbound) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
