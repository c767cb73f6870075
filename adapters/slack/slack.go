// Package slack is Hearth's Slack channel, built on github.com/slack-go/slack
// and its socketmode package. Socket Mode (no public URL needed) is the
// default; the HTTP mode serves the Events API and slash-command endpoints
// instead, verifying every request with the signing secret. It handles DMs
// with the app, mentions in channels (answered in a thread started at the
// mention; a thread is one conversation), and a slash command (default
// /hearth) acknowledged within Slack's 3 seconds and answered later through
// its response_url. Answers are rendered as mrkdwn, split at Slack's length
// limit, streamed by chat.update, paced per channel and retried on 429/5xx;
// a liveness watchdog restarts a socket that goes silent.
//
// Events are acknowledged to Slack only after the engine's Sink accepted
// them, so an event whose Accept failed is redelivered.
package slack

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Modes of receiving events.
const (
	ModeSocket = "socket"
	ModeHTTP   = "http"
)

// Slash command answer visibility.
const (
	Ephemeral = "ephemeral"
	InChannel = "in_channel"
)

// DefaultMaxMessageLen is the length one message is cut at: Slack advises
// keeping text under 4,000 characters and truncates at 40,000.
const DefaultMaxMessageLen = 4000

// Config configures the channel; the keys live under channels.slack.
type Config struct {
	// Name is the channel name (default "slack").
	Name string
	// Mode is "socket" (default) or "http".
	Mode string
	// BotToken (xoxb-) calls the Web API (channels.slack.bot_token).
	BotToken string
	// AppToken (xapp-, connections:write) opens Socket Mode connections
	// (channels.slack.app_token); required in socket mode.
	AppToken string
	// SigningSecret verifies HTTP-mode requests
	// (channels.slack.signing_secret); required in http mode.
	SigningSecret string
	// APIURL is the Web API base URL (default https://slack.com/api/).
	APIURL string

	// Listen is the HTTP-mode bind address (default 127.0.0.1:8789);
	// EventsPath and CommandsPath its endpoints (default /slack/events and
	// /slack/commands).
	Listen       string
	EventsPath   string
	CommandsPath string

	// SlashCommand is the command the app answers (default /hearth).
	SlashCommand string
	// SlashVisibility is "ephemeral" (default: only the requester sees the
	// answer) or "in_channel".
	SlashVisibility string

	// StallAfter is the socket liveness bound: nothing received (not even
	// a ping) for this long restarts the connection (default 2m).
	StallAfter time.Duration
	// EditInterval is the minimum time between chat.update calls of a
	// streamed answer (default 1s).
	EditInterval time.Duration
	// MaxMessageLen is where answers are split (default 4000).
	MaxMessageLen int
	// Limits paces outbound messages; nil: one per second per channel.
	Limits *channelkit.Limits
	// Retry governs retries of 429 and 5xx (default channelkit.DefaultRetry).
	Retry *channelkit.RetryPolicy
	// Backoff spaces reconnections (default channelkit.DefaultBackoff).
	Backoff *channelkit.Backoff

	// HTTPClient is used for Web API calls (default: no timeout; calls are
	// bounded by their contexts).
	HTTPClient *http.Client
	// Clock drives pacing, retries, edits and the watchdog (nil: wall clock).
	Clock channelkit.Clock
	// Logger receives the channel's logs (nil: discarded).
	Logger *slog.Logger
}

// Channel is the Slack adapter.
type Channel struct {
	cfg     Config
	name    string
	log     *slog.Logger
	clock   channelkit.Clock
	health  *channelkit.Health
	pacer   *channelkit.Pacer
	api     *slack.Client
	seen    *channelkit.Recent
	streams *channelkit.Streams

	mu     sync.Mutex
	addr   string
	botID  string // the bot's user id (U...)
	users  map[string]userName
	slash  map[string]*slashTarget
	swept  time.Time
	apiURL string
}

type userName struct {
	name string
	at   time.Time
}

// slashTarget is where the answer to a slash command goes.
type slashTarget struct {
	responseURL  string
	responseType string
	channel      string
	user         string
	expires      time.Time
	uses         int
}

// Compile-time checks of the abilities the channel claims. Slack offers
// bots no typing indicator outside its assistant threads, so the channel
// is not an engine.Typer.
var (
	_ engine.Channel        = (*Channel)(nil)
	_ engine.Editor         = (*Channel)(nil)
	_ engine.HealthReporter = (*Channel)(nil)
)

// New validates cfg and returns the channel; Run checks the tokens.
func New(cfg Config) (*Channel, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Channel{
		cfg:     cfg,
		name:    cfg.Name,
		log:     cfg.Logger.With("channel", cfg.Name),
		clock:   cfg.Clock,
		health:  channelkit.NewHealth(cfg.Clock),
		seen:    channelkit.NewRecent(4096),
		streams: channelkit.NewStreams(cfg.Clock, cfg.EditInterval),
		users:   make(map[string]userName),
		slash:   make(map[string]*slashTarget),
		apiURL:  cfg.APIURL,
	}
	c.pacer = &channelkit.Pacer{
		Limiter: channelkit.NewLimiter(cfg.Clock, *cfg.Limits),
		Policy:  *cfg.Retry,
		Clock:   cfg.Clock,
		OnRetry: func(key string, attempt int, wait time.Duration, err error) {
			c.log.Warn("slack asked to slow down; retrying", "channel_id", key, "attempt", attempt, "wait", wait, "err", err)
		},
	}
	c.api = slack.New(cfg.BotToken,
		slack.OptionAPIURL(cfg.APIURL),
		slack.OptionHTTPClient(cfg.HTTPClient),
		slack.OptionLog(logOutput{c.log}),
	)
	return c, nil
}

func (cfg *Config) defaults() error {
	if cfg.Name == "" {
		cfg.Name = "slack"
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeSocket
	}
	cfg.BotToken = strings.TrimSpace(cfg.BotToken)
	cfg.AppToken = strings.TrimSpace(cfg.AppToken)
	if cfg.BotToken == "" {
		return errors.New("channels.slack.bot_token: required (the xoxb- bot token from the app's OAuth page)")
	}
	switch cfg.Mode {
	case ModeSocket:
		if cfg.AppToken == "" {
			return errors.New("channels.slack.app_token: required in socket mode (an xapp- app-level token with the connections:write scope)")
		}
	case ModeHTTP:
		if cfg.SigningSecret == "" {
			return errors.New("channels.slack.signing_secret: required in http mode (without it anyone could post events)")
		}
		if cfg.Listen == "" {
			cfg.Listen = "127.0.0.1:8789"
		}
		if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
			return fmt.Errorf("channels.slack.listen: %w", err)
		}
		if cfg.EventsPath == "" {
			cfg.EventsPath = "/slack/events"
		}
		if cfg.CommandsPath == "" {
			cfg.CommandsPath = "/slack/commands"
		}
	default:
		return fmt.Errorf("channels.slack.mode: must be %q or %q, got %q", ModeSocket, ModeHTTP, cfg.Mode)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = slack.APIURL
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("channels.slack.api_url: must be an http(s) URL, got %q", cfg.APIURL)
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	if cfg.SlashCommand == "" {
		cfg.SlashCommand = "/hearth"
	}
	if !strings.HasPrefix(cfg.SlashCommand, "/") || strings.ContainsAny(cfg.SlashCommand, " \t") {
		return fmt.Errorf("channels.slack.slash_command: must look like /name, got %q", cfg.SlashCommand)
	}
	switch cfg.SlashVisibility {
	case "":
		cfg.SlashVisibility = Ephemeral
	case Ephemeral, InChannel:
	default:
		return fmt.Errorf("channels.slack.slash_visibility: must be %q or %q, got %q", Ephemeral, InChannel, cfg.SlashVisibility)
	}
	if cfg.StallAfter == 0 {
		cfg.StallAfter = 2 * time.Minute
	}
	if cfg.StallAfter < 0 {
		return fmt.Errorf("channels.slack.stall_after: must be positive, got %s", cfg.StallAfter)
	}
	if cfg.EditInterval == 0 {
		cfg.EditInterval = time.Second
	}
	if cfg.MaxMessageLen == 0 {
		cfg.MaxMessageLen = DefaultMaxMessageLen
	}
	if cfg.MaxMessageLen < 100 || cfg.MaxMessageLen > 40000 {
		return fmt.Errorf("channels.slack.max_message_len: must be between 100 and 40000, got %d", cfg.MaxMessageLen)
	}
	if cfg.Limits == nil {
		cfg.Limits = &channelkit.Limits{PerKey: channelkit.Per(1, time.Second)}
	}
	if cfg.Retry == nil {
		r := channelkit.DefaultRetry()
		cfg.Retry = &r
	}
	if cfg.Backoff == nil {
		b := channelkit.DefaultBackoff()
		cfg.Backoff = &b
	}
	if cfg.HTTPClient == nil {
		// One platform host, many concurrent chats: keep enough idle
		// connections that bursts reuse them instead of dialing anew.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	if cfg.Clock == nil {
		cfg.Clock = channelkit.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Name returns the channel name.
func (c *Channel) Name() string { return c.name }

// Capabilities describes Slack.
func (c *Channel) Capabilities() engine.Capabilities {
	return engine.Capabilities{
		MaxMessageLen: c.cfg.MaxMessageLen,
		Format:        "slack-mrkdwn",
		Threads:       true,
		EditInterval:  c.cfg.EditInterval,
		Groups:        true,
	}
}

// Health reports the connection state.
func (c *Channel) Health() engine.ChannelHealth { return c.health.Snapshot() }

// HTTPAddr returns the address the HTTP-mode server listens on, or "".
func (c *Channel) HTTPAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// logOutput adapts slog to slack-go's logger interface (debug level).
type logOutput struct{ l *slog.Logger }

func (o logOutput) Output(_ int, s string) error {
	o.l.Debug(strings.TrimSpace(s), "source", "slack-go")
	return nil
}
