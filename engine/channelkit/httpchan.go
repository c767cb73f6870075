package channelkit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// DefaultShutdownTimeout bounds an HTTPServer's graceful drain when
// HTTPOptions.ShutdownTimeout is zero.
const DefaultShutdownTimeout = 5 * time.Second

// The limits of the http.Server every HTTP-served channel runs.
const (
	httpReadHeaderTimeout = 10 * time.Second
	httpReadTimeout       = 30 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpMaxHeaderBytes    = 64 << 10
)

// HTTPOptions configure an HTTPServer.
type HTTPOptions struct {
	// Name prefixes errors and log lines ("webhook: listen on ...").
	Name string
	// Listen is the TCP address to bind.
	Listen string
	// Handler serves every request.
	Handler http.Handler
	// ShutdownTimeout bounds the graceful drain when Run stops; zero or
	// less means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock of the health record; nil means time.Now.
	Now func() time.Time
}

// HTTPServer is the serving half of a channel that platforms or clients
// reach over HTTP (a webhook, an API): it binds its address (Listen, so a
// caller can learn it or fail early), serves with fixed timeouts until
// the context of Run ends, then stops accepting, closes Stopping so
// handlers waiting for an answer can reply at once, and drains in-flight
// requests for at most ShutdownTimeout before closing what is left. While
// Run runs, Sink holds the engine's sink; Health tracks the state
// (stopped, connected, failed), and the adapter records its traffic on it.
// Create it with NewHTTPServer.
type HTTPServer struct {
	opts    HTTPOptions
	log     *slog.Logger
	health  *Health
	sink    atomic.Pointer[sinkBox]
	stop    atomic.Pointer[chan struct{}] // closed when Run begins to stop
	running atomic.Bool

	mu sync.Mutex // guards ln
	ln net.Listener
}

// sinkBox lets an atomic.Pointer hold an interface value.
type sinkBox struct{ engine.Sink }

// NewHTTPServer returns a server in state "stopped"; it does not listen
// yet.
func NewHTTPServer(opts HTTPOptions) *HTTPServer {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	s := &HTTPServer{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var clock Clock = SystemClock{}
	if opts.Now != nil {
		clock = funcClock(opts.Now)
	}
	s.health = NewHealth(clock)
	s.health.SetState(StateStopped)
	return s
}

// Health is the server's health record: Run keeps its State and the
// errors that stop it; the adapter adds its inbound and outbound traffic
// and its own errors.
func (s *HTTPServer) Health() *Health { return s.health }

// Listen binds the configured address if it is not bound yet, so a caller
// can learn the address (Addr) or fail early before Run.
func (s *HTTPServer) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("%s: listen on %s: %w", s.opts.Name, s.opts.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the bound address ("" before Listen and after Run), e.g. for
// port 0 in tests.
func (s *HTTPServer) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Sink is the sink Run was given, nil when Run is not running.
func (s *HTTPServer) Sink() engine.Sink {
	if b := s.sink.Load(); b != nil {
		return b.Sink
	}
	return nil
}

// Stopping is closed once Run begins to stop (nil, which never becomes
// ready, before the first Run).
func (s *HTTPServer) Stopping() <-chan struct{} {
	if p := s.stop.Load(); p != nil {
		return *p
	}
	return nil
}

// Run listens (unless Listen did) and serves until ctx is cancelled; then
// it closes Stopping, stops accepting and drains in-flight requests for at
// most ShutdownTimeout. It returns nil after a cancellation and an error
// when it cannot listen or serving fails (state "failed"). logAttrs are
// added to the "listening" log line. One Run at a time.
func (s *HTTPServer) Run(ctx context.Context, sink engine.Sink, logAttrs ...any) error {
	name := s.opts.Name
	if sink == nil {
		return fmt.Errorf("%s: Run needs a sink", name)
	}
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("%s: already running", name)
	}
	defer s.running.Store(false)
	if err := s.Listen(); err != nil {
		s.health.set(StateFailed, err.Error())
		return err
	}
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()

	stop := make(chan struct{})
	s.stop.Store(&stop)
	s.sink.Store(&sinkBox{sink})
	defer s.sink.Store(nil)
	srv := &http.Server{
		Handler:           s.opts.Handler,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    httpMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.health.set(StateConnected, "")
	s.log.Info(name+": listening", append([]any{"addr", ln.Addr().String()}, logAttrs...)...)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-served:
		runErr = fmt.Errorf("%s: serve: %w", name, err)
	}
	close(stop)
	if runErr == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn(name+": graceful shutdown incomplete", "err", err)
			srv.Close()
		}
		cancel()
		<-served
	}
	s.mu.Lock()
	s.ln = nil
	s.mu.Unlock()
	if runErr != nil {
		s.health.set(StateFailed, runErr.Error())
	} else {
		s.health.SetState(StateStopped)
	}
	return runErr
}

// set records a state and the last error ("" clears it) in one step, so
// a snapshot never shows one without the other.
func (h *Health) set(state, lastErr string) {
	h.mu.Lock()
	h.h.State, h.h.LastError = state, lastErr
	h.mu.Unlock()
}

// funcClock is a Clock whose Now is a function (an adapter's injected
// clock); its timers are the wall clock's.
type funcClock func() time.Time

func (c funcClock) Now() time.Time               { return c() }
func (funcClock) NewTimer(d time.Duration) Timer { return SystemClock{}.NewTimer(d) }
