// Package runtime is Hearth's message spine: the bus that accepts and
// persists inbound messages, the router that resolves senders to users and
// sessions, one actor goroutine per active session that runs turns in
// order, and the outbox that delivers replies to the originating channel.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
)

// Errors of the runtime.
var (
	// ErrShuttingDown: the engine no longer accepts messages.
	ErrShuttingDown = errors.New("engine is shutting down")
	// ErrInvalidInbound is engine.ErrInvalidInbound.
	ErrInvalidInbound = engine.ErrInvalidInbound
	// ErrUnknownChannel: a message or reply names no registered channel.
	ErrUnknownChannel = errors.New("unknown channel")
)

// Gate is the access gate (engine/access implements it).
type Gate interface {
	Check(ctx context.Context, in engine.Inbound) (access.Decision, error)
}

// Runner runs one turn (engine/agent implements it).
type Runner interface {
	Run(ctx context.Context, t agent.Turn) (agent.Result, error)
}

// Options configure an Engine. Store, Gate and Agent are required.
type Options struct {
	Store engine.Store
	Gate  Gate
	Agent Runner
	// OutboundGuard checks every reply before it is stored and sent.
	OutboundGuard engine.OutboundGuard
	// MailboxSize bounds each actor's queue (default 64); a full queue
	// leaves messages in the store, from where the actor catches up.
	MailboxSize int
	// IdleTimeout ends an actor with nothing to do (default 10 minutes).
	IdleTimeout time.Duration
	// TurnTimeout bounds one turn (default 5 minutes).
	TurnTimeout time.Duration
	// MaxTextBytes bounds an inbound message's text (default 64 KiB).
	MaxTextBytes int
	// RetryDelays are the waits between delivery attempts of a reply whose
	// channel failed (default 1s, 5s, 30s); after the last it stays in the
	// outbox until the next start.
	RetryDelays []time.Duration
	// RecoverJobs re-runs scheduler turns left pending by a previous run
	// at Start; set it only where the scheduler runs.
	RecoverJobs bool
	// Approvals, when set, takes the owner's answers to approval
	// questions; give the same value to the agent as its Approver.
	Approvals *Approvals
	// OnJobDone receives the result of every job run (RunJob), after its
	// turn is recorded and its reply delivered or suppressed.
	OnJobDone func(ctx context.Context, r JobResult)
	Now       func() time.Time
	Logger    *slog.Logger
}

// Engine accepts inbound messages (it is the engine.Sink every adapter
// gets), runs turns and delivers replies.
type Engine struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	channels map[string]engine.Channel
	actors   map[string]*actor
	closing  bool
	started  bool

	// stripes serialise save-then-dispatch per session so that the
	// mailbox order equals the store order.
	stripes [64]sync.Mutex

	stats counters

	base     context.Context
	stop     context.CancelCauseFunc
	actorsWG sync.WaitGroup
	bgWG     sync.WaitGroup
}

var _ engine.Sink = (*Engine)(nil)

// New checks the options and returns an engine with no channels.
func New(o Options) (*Engine, error) {
	switch {
	case o.Store == nil:
		return nil, errors.New("runtime: a store is required")
	case o.Gate == nil:
		return nil, errors.New("runtime: an access gate is required")
	case o.Agent == nil:
		return nil, errors.New("runtime: an agent is required")
	}
	if o.MailboxSize <= 0 {
		o.MailboxSize = 64
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 10 * time.Minute
	}
	if o.TurnTimeout <= 0 {
		o.TurnTimeout = 5 * time.Minute
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 64 << 10
	}
	if o.RetryDelays == nil {
		o.RetryDelays = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine{o: o, log: o.Logger, channels: map[string]engine.Channel{}, actors: map[string]*actor{}}
	if o.Approvals != nil {
		o.Approvals.mu.Lock()
		o.Approvals.e = e
		o.Approvals.mu.Unlock()
	}
	return e, nil
}

// AddChannel registers a channel so that replies addressed to it can be
// delivered. Channels are added before Start.
func (e *Engine) AddChannel(ch engine.Channel) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	name := ch.Name()
	if name == "" {
		return fmt.Errorf("%w: a channel has an empty name", ErrUnknownChannel)
	}
	if _, dup := e.channels[name]; dup {
		return fmt.Errorf("runtime: channel %q registered twice", name)
	}
	e.channels[name] = ch
	return nil
}

func (e *Engine) channel(name string) (engine.Channel, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.channels[name]
	return ch, ok
}

// errShutdown is the cancellation cause of turns cut short by shutdown;
// their messages stay pending and are answered after the next start.
var errShutdown = errors.New("shutdown")

// Start recovers after a restart: replies left in the outbox are
// delivered, and accepted messages that were never answered are handed to
// their actors. ctx bounds the recovery queries, not the engine's life.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("runtime: already started")
	}
	e.started = true
	e.base, e.stop = context.WithCancelCause(context.WithoutCancel(ctx))
	e.mu.Unlock()

	outs, err := e.o.Store.PendingOutbound(ctx)
	if err != nil {
		return fmt.Errorf("runtime: load outbox: %w", err)
	}
	for _, out := range outs {
		if _, ok := e.channel(out.To.Channel); ok {
			e.deliverAsync(out)
		}
	}
	pending, err := e.o.Store.PendingInbound(ctx)
	if err != nil {
		return fmt.Errorf("runtime: load pending messages: %w", err)
	}
	if len(pending) > 0 {
		e.log.Info("answering messages accepted before the last stop", "count", len(pending))
	}
	for _, m := range pending {
		// Only this process's channels: another process on the same store
		// (`hearth run` next to `hearth serve`) must not take over
		// messages it cannot answer, or answer them twice.
		if _, ok := e.channel(m.Inbound.Channel); ok || (isJob(m.Inbound) && e.o.RecoverJobs) {
			e.dispatch(m)
		}
	}
	return nil
}

// Shutdown stops intake, lets running turns finish until ctx expires, then
// cancels what is left (those messages stay pending in the store and are
// answered after the next start) and waits for the actors to exit. It
// returns ctx.Err() when turns had to be cut short.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil
	}
	e.closing = true
	started := e.started
	for _, a := range e.actors {
		a.closeIntake()
	}
	e.mu.Unlock()
	if !started {
		return nil
	}
	done := make(chan struct{})
	go func() {
		e.actorsWG.Wait()
		e.stop(errShutdown)
		e.bgWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.stop(errShutdown)
		<-done
		return fmt.Errorf("runtime: running turns were checkpointed: %w", ctx.Err())
	}
}
