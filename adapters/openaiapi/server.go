package openaiapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Defaults of Options.
const (
	DefaultName            = "api"
	DefaultListen          = "127.0.0.1:8790"
	DefaultModel           = "hearth"
	DefaultConversation    = "api"
	DefaultMaxBodyBytes    = 1 << 20
	DefaultReplyTimeout    = 5 * time.Minute
	DefaultKeepAlive       = 15 * time.Second
	DefaultShutdownTimeout = channelkit.DefaultShutdownTimeout
	// HeaderConversation names the conversation (session) of a request;
	// it wins over the request's "user" field.
	HeaderConversation = "X-Hearth-Conversation"
	// touchEvery is how often a token's last use is written at most.
	touchEvery = time.Minute
)

// ErrNoRoute reports a message the API cannot deliver: it answers no
// request (a routine's result), and an HTTP API cannot push.
var ErrNoRoute = errors.New("openaiapi: the API cannot deliver a message that answers no request")

// Tokens is what the channel needs of the token store (the store's
// engine.APITokenStore methods).
type Tokens interface {
	APITokenByHash(ctx context.Context, hash []byte) (engine.APIToken, error)
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
}

// Identities links a token's user to the channel's identity (the store's
// engine.UserStore methods).
type Identities interface {
	IdentityFor(ctx context.Context, channel, platformID string) (engine.Identity, error)
	LinkIdentity(ctx context.Context, id engine.Identity) error
}

// Options configure the API channel. Tokens and Identities are required.
type Options struct {
	// Name is the channel name; "" means "api".
	Name string
	// Listen is the TCP address; "" means 127.0.0.1:8790.
	Listen string
	// AllowNonLoopback permits an address that is not loopback (every
	// request still needs a token); without it such an address is refused.
	AllowNonLoopback bool
	// Model is the model name GET /v1/models lists and requests must
	// name; "" means "hearth".
	Model string
	// Tokens authenticates requests.
	Tokens Tokens
	// Identities links token users to the channel's identities.
	Identities Identities
	// MaxBodyBytes limits a request body (400 beyond); 0 means 1 MiB.
	MaxBodyBytes int64
	// ReplyTimeout bounds how long a request waits for its answer; 0
	// means 5 minutes. The turn goes on, and its answer joins the
	// session's history.
	ReplyTimeout time.Duration
	// KeepAlive is the interval of SSE comments sent while a streamed
	// answer is silent (tools running), so proxies keep the connection;
	// 0 means 15s.
	KeepAlive time.Duration
	// ShutdownTimeout bounds the graceful drain when Run stops; 0 means 5s.
	ShutdownTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Server is the API channel: an HTTP server and an engine.Streamer.
// Create it with New.
type Server struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	srv     *channelkit.HTTPServer // listening, serving, sink, health
	waiters *channelkit.Waiters[*waiter]
	created int64 // unix time reported for the model

	linked sync.Map // user id -> struct{}: identity known to be linked
}

// Compile-time checks of the abilities the API offers.
var (
	_ engine.Streamer       = (*Server)(nil)
	_ engine.HealthReporter = (*Server)(nil)
)

// New checks the options and builds the channel; it does not listen yet.
func New(opts Options) (*Server, error) {
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	s := &Server{
		opts:    opts,
		log:     opts.Logger,
		now:     opts.Now,
		mux:     http.NewServeMux(),
		waiters: channelkit.NewWaiters[*waiter](),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.created = s.now().Unix()
	s.srv = channelkit.NewHTTPServer(channelkit.HTTPOptions{
		Name: "openaiapi", Listen: opts.Listen, Handler: s.mux,
		ShutdownTimeout: opts.ShutdownTimeout, Logger: s.log, Now: s.now,
	})
	s.mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	s.mux.HandleFunc("GET /v1/models/{model...}", s.handleModel)
	s.mux.HandleFunc("/v1/chat/completions", methodNotAllowed(http.MethodPost))
	s.mux.HandleFunc("/v1/models", methodNotAllowed(http.MethodGet))
	s.mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		writeFault(rw, newFault(http.StatusNotFound, typeInvalidRequest, "", "unknown_url",
			fmt.Sprintf("unknown path %s %s: this server offers POST /v1/chat/completions and GET /v1/models", r.Method, r.URL.Path)))
	})
	return s, nil
}

// checkOptions validates opts and fills in defaults.
func checkOptions(o *Options) error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Listen == "" {
		o.Listen = DefaultListen
	}
	if o.Model == "" {
		o.Model = DefaultModel
	}
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return fmt.Errorf("openaiapi: listen address %q: %w", o.Listen, err)
	}
	if !channelkit.IsLoopbackHost(host) && !o.AllowNonLoopback {
		return fmt.Errorf("openaiapi: refusing to listen on non-loopback address %q; allow it explicitly (allow_non_loopback) if the API must be reachable from other machines", o.Listen)
	}
	if o.Tokens == nil {
		return errors.New("openaiapi: no token store: every request must be authenticated by an API token")
	}
	if o.Identities == nil {
		return errors.New("openaiapi: no identity store")
	}
	if strings.TrimSpace(o.Model) != o.Model || strings.IndexFunc(o.Model, unicode.IsControl) >= 0 || len(o.Model) > 256 {
		return fmt.Errorf("openaiapi: model name %q: want a short name without spaces around it or control characters", o.Model)
	}
	if err := channelkit.FillDurations(
		channelkit.DurationOption{Name: "reply timeout", Value: &o.ReplyTimeout, Default: DefaultReplyTimeout},
		channelkit.DurationOption{Name: "keep-alive interval", Value: &o.KeepAlive, Default: DefaultKeepAlive},
		channelkit.DurationOption{Name: "shutdown timeout", Value: &o.ShutdownTimeout, Default: DefaultShutdownTimeout},
	); err != nil {
		return fmt.Errorf("openaiapi: %w", err)
	}
	if err := channelkit.FillDefault("max body bytes", &o.MaxBodyBytes, DefaultMaxBodyBytes); err != nil {
		return fmt.Errorf("openaiapi: %w", err)
	}
	return nil
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Allow", allow)
		writeFault(rw, newFault(http.StatusMethodNotAllowed, typeInvalidRequest, "", "method_not_allowed",
			fmt.Sprintf("%s %s is not supported; use %s", r.Method, r.URL.Path, allow)))
	}
}

// Name implements engine.Channel.
func (s *Server) Name() string { return s.opts.Name }

// Capabilities implements engine.Channel: Markdown goes out as is, in one
// message of any length.
func (s *Server) Capabilities() engine.Capabilities {
	return engine.Capabilities{Format: "markdown"}
}

// Health implements engine.HealthReporter.
func (s *Server) Health() engine.ChannelHealth { return s.srv.Health().Snapshot() }

// Handler returns the routes Run serves (tests, embedding).
func (s *Server) Handler() http.Handler { return s.mux }

// Listen binds the configured address if it is not bound yet, so a caller
// can learn the address (Addr) or fail early before Run.
func (s *Server) Listen() error { return s.srv.Listen() }

// Addr is the bound address ("" before Listen), e.g. for port 0 in tests.
func (s *Server) Addr() string { return s.srv.Addr() }

// Run implements engine.Channel: it listens (unless Listen did) and serves
// until ctx is cancelled, then stops accepting, answers waiting requests
// with 503 (their messages are stored and will be answered into the
// session's history) and drains in-flight requests for at most
// ShutdownTimeout.
func (s *Server) Run(ctx context.Context, sink engine.Sink) error {
	return s.srv.Run(ctx, sink, "model", s.opts.Model)
}

// stopping is closed once Run begins to stop (nil before Run).
func (s *Server) stopping() <-chan struct{} { return s.srv.Stopping() }

// Send implements engine.Channel. A reply or notice that answers a
// request in flight completes it. The answer to a request whose client
// left is not an error: it is in the session's history. A message that
// answers no request cannot be delivered (ErrNoRoute). Other kinds are
// ignored.
func (s *Server) Send(_ context.Context, msg engine.Outbound) (engine.SentMessage, error) {
	switch msg.Kind {
	case engine.KindDelta:
		s.deliverDelta(msg)
		return engine.SentMessage{}, nil
	case engine.KindReply, engine.KindNotice:
	default:
		return engine.SentMessage{}, nil
	}
	if msg.To.ReplyTo == "" {
		return engine.SentMessage{}, ErrNoRoute
	}
	sent := engine.SentMessage{ID: msg.To.ReplyTo}
	if w, ok := s.waiters.Lookup(msg); ok && w.add(msg) {
		s.srv.Health().Outbound()
		return sent, nil
	}
	s.log.Debug("openaiapi: answer to a request no longer waiting; it stays in the session's history",
		"message", msg.To.ReplyTo, "kind", msg.Kind.String())
	return sent, nil
}

// Stream implements engine.Streamer: a delta of a streamed request
// becomes SSE chunks; deltas of other requests are dropped. It never
// blocks on the client.
func (s *Server) Stream(_ context.Context, msg engine.Outbound) error {
	if msg.Kind == engine.KindDelta {
		s.deliverDelta(msg)
	}
	return nil
}

func (s *Server) deliverDelta(msg engine.Outbound) {
	if w, ok := s.waiters.Lookup(msg); ok {
		w.delta(msg)
	}
}
