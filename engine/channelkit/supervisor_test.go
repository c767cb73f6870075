package channelkit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

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

type attempt struct {
	conn *channelkit.Conn
	ctx  context.Context
}

// startSupervisor runs s in the background; the returned function cancels
// it and returns Run's result.
func startSupervisor(t *testing.T, s *channelkit.Supervisor, connect func(ctx context.Context, c *channelkit.Conn) error) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var runErr error
	go func() {
		runErr = s.Run(ctx, connect)
		close(done)
	}()
	stop := func() error {
		cancel()
		select {
		case <-done:
			return runErr
		case <-time.After(waitLimit):
			t.Error("supervisor did not stop")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func TestSupervisorRestartsStalledConnection(t *testing.T) {
	clock := kittest.NewClock(t0)
	logs := &syncBuffer{}
	health := channelkit.NewHealth(clock)
	s := &channelkit.Supervisor{
		Name: "telegram", Clock: clock, Health: health,
		Logger:     slog.New(slog.NewTextHandler(logs, nil)),
		Backoff:    channelkit.Backoff{Min: time.Second},
		StallAfter: 30 * time.Second,
	}
	attempts := make(chan attempt, 4)
	startSupervisor(t, s, func(ctx context.Context, c *channelkit.Conn) error {
		c.Alive()
		attempts <- attempt{c, ctx}
		<-ctx.Done() // a poll that hangs forever
		return ctx.Err()
	})
	first := <-attempts
	if got := health.Snapshot().State; got != channelkit.StateConnected {
		t.Fatalf("state = %q, want connected", got)
	}
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("watchdog not armed")
	}
	clock.Advance(10 * time.Second)
	first.conn.Alive() // a successful poll at t+10s moves the bound to t+40s
	clock.Advance(29 * time.Second)
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("watchdog not re-armed")
	}
	if first.ctx.Err() != nil {
		t.Fatal("connection cancelled before the bound")
	}
	clock.Advance(time.Second) // t+40s: 30s without life
	<-first.ctx.Done()
	if cause := context.Cause(first.ctx); !errors.Is(cause, channelkit.ErrStalled) {
		t.Fatalf("cause = %v, want ErrStalled", cause)
	}
	// Backoff before the restart: 1s.
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("no backoff timer")
	}
	h := health.Snapshot()
	if h.State != channelkit.StateStalled || h.Restarts != 1 || !strings.Contains(h.LastError, "no successful poll or ping for 30s") {
		t.Fatalf("health = %+v", h)
	}
	if !strings.Contains(logs.String(), "channel stalled; restarting") || !strings.Contains(logs.String(), "channel=telegram") {
		t.Fatalf("log does not say why: %s", logs.String())
	}
	clock.Advance(time.Second)
	second := <-attempts
	if second.conn.Attempt() != 1 {
		t.Fatalf("attempt = %d", second.conn.Attempt())
	}
	if got := health.Snapshot().State; got != channelkit.StateConnected {
		t.Fatalf("state after restart = %q", got)
	}
}

func TestSupervisorBacksOffOnErrors(t *testing.T) {
	clock := kittest.NewClock(t0)
	health := channelkit.NewHealth(clock)
	s := &channelkit.Supervisor{Name: "slack", Clock: clock, Health: health,
		Backoff: channelkit.Backoff{Min: time.Second, Max: 4 * time.Second, Factor: 2}}
	calls := make(chan time.Time, 10)
	startSupervisor(t, s, func(ctx context.Context, c *channelkit.Conn) error {
		calls <- clock.Now()
		return errors.New("connection refused")
	})
	<-calls
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if !clock.WaitForTimers(1, waitLimit) {
			t.Fatal("no backoff")
		}
		next, _ := clock.NextDeadline()
		if got := next.Sub(clock.Now()); got != want {
			t.Fatalf("backoff = %v, want %v", got, want)
		}
		clock.Advance(want)
		<-calls
	}
	if !clock.WaitForTimers(1, waitLimit) { // the fifth failure was recorded
		t.Fatal("no backoff")
	}
	h := health.Snapshot()
	if h.State != channelkit.StateReconnecting || h.Restarts != 5 || h.LastError != "connection refused" {
		t.Fatalf("health = %+v", h)
	}
}

func TestSupervisorStopsOnPermanentError(t *testing.T) {
	health := channelkit.NewHealth(nil)
	s := &channelkit.Supervisor{Name: "telegram", Health: health}
	bad := errors.New("channels.telegram.token: rejected by Telegram")
	err := s.Run(context.Background(), func(context.Context, *channelkit.Conn) error {
		return channelkit.Permanent(bad)
	})
	if !errors.Is(err, bad) || !channelkit.IsPermanent(err) {
		t.Fatalf("Run = %v", err)
	}
	if h := health.Snapshot(); h.State != channelkit.StateFailed || h.LastError != bad.Error() {
		t.Fatalf("health = %+v", h)
	}
}

func TestSupervisorStopsOnCancel(t *testing.T) {
	health := channelkit.NewHealth(nil)
	s := &channelkit.Supervisor{Name: "x", Health: health, StallAfter: time.Hour}
	started := make(chan struct{})
	stop := startSupervisor(t, s, func(ctx context.Context, c *channelkit.Conn) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	<-started
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if h := health.Snapshot(); h.State != channelkit.StateStopped || h.Restarts != 0 {
		t.Fatalf("health = %+v", h)
	}
}

func TestHealthRecords(t *testing.T) {
	clock := kittest.NewClock(t0)
	h := channelkit.NewHealth(clock)
	if h.Snapshot().State != channelkit.StateStarting {
		t.Fatal("initial state")
	}
	h.Inbound()
	clock.Advance(time.Second)
	h.Outbound()
	h.Error(nil)
	h.Error(errors.New("boom"))
	h.Restarted()
	s := h.Snapshot()
	if !s.LastInbound.Equal(t0) || !s.LastOutbound.Equal(t0.Add(time.Second)) || s.LastError != "boom" || s.Restarts != 1 {
		t.Fatalf("snapshot = %+v", s)
	}
}

func TestRecentForgetsOldest(t *testing.T) {
	r := channelkit.NewRecent(2)
	if !r.Add("a") || !r.Add("b") || r.Add("a") {
		t.Fatal("Add reports wrong novelty")
	}
	r.Add("c") // evicts a
	if r.Contains("a") || !r.Contains("b") || !r.Contains("c") {
		t.Fatal("eviction order wrong")
	}
}
