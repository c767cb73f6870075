package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

const (
	token = "123456:TEST-token"
	limit = 10 * time.Second // safety net for waits; never reached when tests pass
)

var (
	alice = faketelegram.User{ID: 111, FirstName: "Alice", LastName: "Liddell", Username: "alice"}
	bob   = faketelegram.User{ID: 222, FirstName: "Bob"}
)

// sink is a fake engine.Sink: it records every Accept, answers Duplicate
// for a message id it has seen (as the engine's store does), can fail, and
// can reply through the channel like the engine would.
type sink struct {
	mu       sync.Mutex
	got      []engine.Inbound
	statuses []engine.ReceiptStatus
	seen     map[string]bool
	fail     int
	reply    func(in engine.Inbound)
	changed  chan struct{}
}

func newSink() *sink { return &sink{seen: map[string]bool{}, changed: make(chan struct{})} }

func (s *sink) Accept(ctx context.Context, in engine.Inbound) (engine.Receipt, error) {
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
		return engine.Receipt{Status: engine.Duplicate, MessageID: in.MessageID}, nil
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

func (s *sink) receipts() []engine.ReceiptStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]engine.ReceiptStatus(nil), s.statuses...)
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

// newChannel returns a channel pointed at the fake, without rate limits
// unless the test sets them.
func newChannel(t testing.TB, ft *faketelegram.Server, mutate func(*telegram.Config)) (*telegram.Channel, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	cfg := telegram.Config{
		Token:       token,
		APIURL:      ft.URL,
		PollTimeout: time.Second,
		Limits:      &channelkit.Limits{},
		Backoff:     &channelkit.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ch, err := telegram.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return ch, logs
}

// run runs the channel until the test ends; the returned function stops it
// early and returns Run's result.
func run(t testing.TB, ch *telegram.Channel, s engine.Sink) func() error {
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

func newFake(t testing.TB) *faketelegram.Server {
	ft := faketelegram.New(token)
	t.Cleanup(ft.Close)
	return ft
}

// memStore is an AttachmentStore in memory.
type memStore struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (m *memStore) StoreAttachment(_ context.Context, meta channelkit.AttachmentMeta, r io.Reader) (string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.files == nil {
		m.files = map[string][]byte{}
	}
	path := "attachments/" + meta.Conversation + "/" + meta.Name
	m.files[path] = data
	return path, nil
}
