package webhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Defaults of Options.
const (
	DefaultName             = "webhook"
	DefaultListen           = "127.0.0.1:8787"
	DefaultMaxBodyBytes     = 1 << 20
	DefaultReplyTimeout     = 30 * time.Second
	DefaultMaxSkew          = 5 * time.Minute
	DefaultCallbackAttempts = 5
	DefaultCallbackBackoff  = time.Second
	DefaultCallbackTimeout  = 10 * time.Second
	DefaultShutdownTimeout  = channelkit.DefaultShutdownTimeout
	// MinCredentialLen is the shortest token or secret accepted.
	MinCredentialLen = 16
	// maxCallbackBackoff caps the delay between callback attempts.
	maxCallbackBackoff = 30 * time.Second
)

// Options configure the webhook channel. At least one of Token and Secret
// is required.
type Options struct {
	// Name is the channel name; "" means "webhook".
	Name string
	// Listen is the TCP address; "" means 127.0.0.1:8787. A non-loopback
	// address is refused without credentials.
	Listen string
	// Token authenticates requests sent with "Authorization: Bearer".
	Token string
	// Secret authenticates signed requests (X-Hearth-Signature) and signs
	// callbacks; callbacks need it.
	Secret string
	// MaxBodyBytes limits a request body (413 beyond); 0 means 1 MiB.
	MaxBodyBytes int64
	// ReplyTimeout is how long a synchronous request waits for its answer
	// before 202; 0 means 30s.
	ReplyTimeout time.Duration
	// MaxSkew is the accepted age of a signed request's timestamp, either
	// way; 0 means 5 minutes.
	MaxSkew time.Duration
	// Replies returns the stored answers to an inbound message (the
	// store's RepliesTo), so a retried request with the same id gets the
	// answer that was produced after it timed out. Optional.
	Replies func(ctx context.Context, inboundID int64) ([]engine.Outbound, error)
	// LookupInbound returns a stored inbound message (the store's
	// GetInbound), so callbacks still reach their URL after a restart.
	// Optional; without it the callback URL is known only in memory.
	LookupInbound func(ctx context.Context, inboundID int64) (engine.Inbound, error)
	// Ready reports readiness for /readyz (store reachable, ...). Optional.
	Ready func(ctx context.Context) error
	// CallbackHosts lists the hosts callbacks may go to: "host",
	// "host:port" or "*.domain". Empty refuses every callback unless
	// AllowLoopbackCallbacks is set.
	CallbackHosts []string
	// AllowLoopbackCallbacks also allows callbacks to loopback addresses
	// (tests, a co-located integrator).
	AllowLoopbackCallbacks bool
	// DefaultCallbackURL receives messages that answer no request
	// (heartbeats, routines). Optional; it must pass the allowlist.
	DefaultCallbackURL string
	// CallbackAttempts bounds delivery attempts per message; 0 means 5.
	CallbackAttempts int
	// CallbackBackoff is the delay before the second attempt, doubling
	// after that up to 30s; 0 means 1s.
	CallbackBackoff time.Duration
	// CallbackTimeout bounds one attempt; 0 means 10s.
	CallbackTimeout time.Duration
	// HTTPClient sends callbacks; nil means a client that follows no
	// redirects.
	HTTPClient *http.Client
	// ShutdownTimeout bounds the graceful drain when Run stops; 0 means 5s.
	ShutdownTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the webhook channel: an HTTP server and an engine.Channel.
// Create it with New.
type Server struct {
	opts      Options
	log       *slog.Logger
	now       func() time.Time
	token     []byte
	secret    []byte
	client    *http.Client
	mux       *http.ServeMux
	srv       *channelkit.HTTPServer // listening, serving, sink, health
	waiters   *channelkit.Waiters[*waiter]
	callbacks *callbackMemory
	sent      atomic.Int64
}

// Compile-time checks of the abilities the webhook offers.
var (
	_ engine.Channel        = (*Server)(nil)
	_ engine.HealthReporter = (*Server)(nil)
)

// New checks the options and builds the channel; it does not listen yet.
func New(opts Options) (*Server, error) {
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	w := &Server{
		opts:      opts,
		log:       opts.Logger,
		now:       opts.Now,
		client:    opts.HTTPClient,
		mux:       http.NewServeMux(),
		waiters:   channelkit.NewWaiters[*waiter](),
		callbacks: newCallbackMemory(maxRememberedCallbacks),
	}
	if opts.Token != "" {
		w.token = []byte(opts.Token)
	}
	if opts.Secret != "" {
		w.secret = []byte(opts.Secret)
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	if w.now == nil {
		w.now = time.Now
	}
	if w.client == nil {
		w.client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect could leave the allowlist
		}}
	}
	w.srv = channelkit.NewHTTPServer(channelkit.HTTPOptions{
		Name: "webhook", Listen: opts.Listen, Handler: w.mux,
		ShutdownTimeout: opts.ShutdownTimeout, Logger: w.log, Now: w.now,
	})
	w.mux.HandleFunc("POST /v1/messages", w.handleMessage)
	w.mux.HandleFunc("GET /healthz", w.handleHealthz)
	w.mux.HandleFunc("GET /readyz", w.handleReadyz)
	return w, nil
}

// checkOptions validates opts and fills in defaults.
func checkOptions(o *Options) error {
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("webhook: listen address %q: %w", o.Listen, err)
	}
	if o.Token == "" && o.Secret == "" {
		if !channelkit.IsLoopbackHost(host) {
			return fmt.Errorf("webhook: refusing to listen on non-loopback address %q without a token or secret", o.Listen)
		}
		return errors.New("webhook: no token or secret configured; set one (at least 16 characters) to authenticate requests")
	}
	for _, c := range []struct{ name, v string }{{"token", o.Token}, {"secret", o.Secret}} {
		if c.v != "" && len(c.v) < MinCredentialLen {
			return fmt.Errorf("webhook: %s must be at least %d characters, got %d", c.name, MinCredentialLen, len(c.v))
		}
	}
	if err := channelkit.FillDurations(
		channelkit.DurationOption{Name: "reply timeout", Value: &o.ReplyTimeout, Default: DefaultReplyTimeout},
		channelkit.DurationOption{Name: "max skew", Value: &o.MaxSkew, Default: DefaultMaxSkew},
		channelkit.DurationOption{Name: "callback backoff", Value: &o.CallbackBackoff, Default: DefaultCallbackBackoff},
		channelkit.DurationOption{Name: "callback timeout", Value: &o.CallbackTimeout, Default: DefaultCallbackTimeout},
		channelkit.DurationOption{Name: "shutdown timeout", Value: &o.ShutdownTimeout, Default: DefaultShutdownTimeout},
	); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if err := channelkit.FillDefault("max body bytes", &o.MaxBodyBytes, DefaultMaxBodyBytes); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	if err := channelkit.FillDefault("callback attempts", &o.CallbackAttempts, DefaultCallbackAttempts); err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	for _, h := range o.CallbackHosts {
		if h == "" || strings.ContainsAny(h, "/ @") {
			return fmt.Errorf("webhook: callback host %q: want host, host:port or *.domain", h)
		}
	}
	if o.DefaultCallbackURL != "" {
		if o.Secret == "" {
			return errors.New("webhook: default callback URL needs a secret to sign callbacks")
		}
		if _, err := checkCallbackURL(o.DefaultCallbackURL, o.CallbackHosts, o.AllowLoopbackCallbacks); err != nil {
			return fmt.Errorf("webhook: default callback URL: %w", err)
		}
	}
	return nil
}

// Name implements engine.Channel.
func (w *Server) Name() string { return w.opts.Name }

// Capabilities implements engine.Channel: the model's Markdown goes out as
// is; the client may name a thread.
func (w *Server) Capabilities() engine.Capabilities {
	return engine.Capabilities{Format: "markdown", Threads: true}
}

// Health implements engine.HealthReporter.
func (w *Server) Health() engine.ChannelHealth { return w.srv.Health().Snapshot() }

// Handler returns the channel's routes (POST /v1/messages, GET /healthz,
// GET /readyz) as served by Run; Handle adds more.
func (w *Server) Handler() http.Handler { return w.mux }

// Handle adds a route to the server Run serves (the OpenAI-compatible API
// of a later issue). Wrap it in Authenticated unless it is public.
func (w *Server) Handle(pattern string, h http.Handler) { w.mux.Handle(pattern, h) }

// Listen binds the configured address if it is not bound yet, so a caller
// can learn the address (Addr) or fail early before Run.
func (w *Server) Listen() error { return w.srv.Listen() }

// Addr is the bound address ("" before Listen), e.g. for port 0 in tests.
func (w *Server) Addr() string { return w.srv.Addr() }

// Run implements engine.Channel: it listens (unless Listen did) and serves
// until ctx is cancelled, then stops accepting, answers waiting requests
// with 202 (their messages are stored and will be answered) and drains
// in-flight requests for at most ShutdownTimeout.
func (w *Server) Run(ctx context.Context, sink engine.Sink) error { return w.srv.Run(ctx, sink) }

// stopping is closed once Run begins to stop (nil before Run).
func (w *Server) stopping() <-chan struct{} { return w.srv.Stopping() }

func (w *Server) handleHealthz(rw http.ResponseWriter, _ *http.Request) {
	channelkit.WriteJSON(rw, http.StatusOK, map[string]string{"status": "ok"})
}

func (w *Server) handleReadyz(rw http.ResponseWriter, r *http.Request) {
	if w.srv.Sink() == nil {
		channelkit.WriteJSON(rw, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "channel not running"})
		return
	}
	select {
	case <-w.stopping():
		channelkit.WriteJSON(rw, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "shutting down"})
		return
	default:
	}
	if w.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := w.opts.Ready(ctx); err != nil {
			channelkit.WriteJSON(rw, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
	}
	channelkit.WriteJSON(rw, http.StatusOK, map[string]string{"status": "ready"})
}
