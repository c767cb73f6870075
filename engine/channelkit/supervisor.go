package channelkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// ErrStalled is the cause a connection's context carries when its liveness
// watchdog fired.
var ErrStalled = errors.New("connection stalled")

// Permanent marks err as one that reconnecting cannot fix (a rejected token,
// a port in use): the Supervisor stops and returns it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Supervisor keeps one platform connection running: it reconnects with
// backoff when the connection ends, and restarts it when the liveness
// watchdog sees no sign of life within StallAfter.
type Supervisor struct {
	// Name labels log lines (the channel name).
	Name string
	// Clock drives backoff and the watchdog (nil: wall clock).
	Clock Clock
	// Logger receives one line per reconnect and why (nil: discarded).
	Logger *slog.Logger
	// Health, if set, is kept up to date.
	Health *Health
	// Backoff spaces reconnection attempts; it restarts from Min after a
	// connection that showed signs of life.
	Backoff Backoff
	// StallAfter is the liveness bound: a connection that calls neither
	// Alive nor returns within it is cancelled with ErrStalled and
	// restarted. Zero disables the watchdog.
	StallAfter time.Duration
}

// Conn is handed to each connection attempt to report liveness.
type Conn struct {
	clock     Clock
	health    *Health
	lastAlive atomic.Int64 // unix nanoseconds
	alive     atomic.Bool
	attempt   int
}

// Alive records a sign of life: a successful poll, a socket ping or any
// frame received. It also marks the channel connected.
func (c *Conn) Alive() {
	c.lastAlive.Store(c.clock.Now().UnixNano())
	if !c.alive.Swap(true) && c.health != nil {
		c.health.SetState(StateConnected)
	}
}

// Attempt is the number of this connection attempt, from 0.
func (c *Conn) Attempt() int { return c.attempt }

func (c *Conn) since(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, c.lastAlive.Load()))
}

// Run calls connect until ctx ends (then it returns nil) or connect returns
// a Permanent error (then it returns that error). connect must return when
// its context is cancelled.
func (s *Supervisor) Run(ctx context.Context, connect func(ctx context.Context, c *Conn) error) error {
	clock := orSystem(s.Clock)
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("channel", s.Name)
	backoff := 0
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			s.setState(StateStopped)
			return nil
		}
		connCtx, cancel := context.WithCancelCause(ctx)
		conn := &Conn{clock: clock, health: s.Health, attempt: attempt}
		conn.lastAlive.Store(clock.Now().UnixNano())
		wdDone := make(chan struct{})
		if s.StallAfter > 0 {
			go s.watch(connCtx, cancel, conn, clock, wdDone)
		} else {
			close(wdDone)
		}
		err := connect(connCtx, conn)
		cause := context.Cause(connCtx)
		cancel(nil)
		<-wdDone

		if ctx.Err() != nil {
			s.setState(StateStopped)
			return nil
		}
		if conn.alive.Load() {
			backoff = 0
		}
		switch {
		case errors.Is(cause, ErrStalled):
			log.Warn("channel stalled; restarting the connection", "reason", cause.Error(), "bound", s.StallAfter)
			s.recordRestart(StateStalled, cause)
		case IsPermanent(err):
			log.Error("channel cannot run", "err", err)
			s.recordRestart(StateFailed, err)
			return err
		case err == nil:
			log.Info("channel connection ended; reconnecting")
			s.recordRestart(StateReconnecting, nil)
		default:
			log.Warn("channel connection failed; reconnecting", "err", err, "attempt", attempt+1)
			s.recordRestart(StateReconnecting, err)
		}
		wait := s.Backoff.Delay(backoff)
		backoff++
		if !sleep(clock, wait, ctx.Done()) {
			s.setState(StateStopped)
			return nil
		}
	}
}

func (s *Supervisor) watch(ctx context.Context, cancel context.CancelCauseFunc, c *Conn, clock Clock, done chan<- struct{}) {
	defer close(done)
	for {
		idle := c.since(clock.Now())
		if idle >= s.StallAfter {
			cancel(fmt.Errorf("%w: no successful poll or ping for %s", ErrStalled, idle.Round(time.Millisecond)))
			return
		}
		if !sleep(clock, s.StallAfter-idle, ctx.Done()) {
			return
		}
	}
}

func (s *Supervisor) setState(state string) {
	if s.Health != nil {
		s.Health.SetState(state)
	}
}

func (s *Supervisor) recordRestart(state string, err error) {
	if s.Health == nil {
		return
	}
	s.Health.SetState(state)
	s.Health.Error(err)
	if state != StateFailed {
		s.Health.Restarted()
	}
}
