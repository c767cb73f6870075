// Package telegram is Hearth's Telegram channel, built on
// github.com/go-telegram/bot. It receives updates by long polling (the
// default) or by webhook, normalizes private chats, groups and forum topics
// into engine.Inbound, and answers with Telegram HTML: split at Telegram's
// 4096-character limit without breaking code blocks, threaded as replies,
// streamed by editing one message at a throttled rate, paced per chat and
// retried on 429 and 5xx. A liveness watchdog restarts a poll that stalls.
//
// The adapter acknowledges Telegram (advances the getUpdates offset, or
// answers the webhook request) only after the engine's Sink accepted the
// update, so nothing is lost between the platform and the store.
package telegram

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-telegram/bot"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
)

// Modes of receiving updates.
const (
	ModePolling = "polling"
	ModeWebhook = "webhook"
)

// MaxMessageLen is Telegram's limit on one message, in UTF-16 code units.
const MaxMessageLen = 4096

// DefaultAPIURL is the public Bot API.
const DefaultAPIURL = "https://api.telegram.org"

// Command is a bot command registered with setMyCommands.
type Command struct {
	Name        string // without the slash
	Description string
}

// DefaultCommands are registered at start.
func DefaultCommands() []Command {
	return []Command{
		{"new", "Start a new conversation"},
		{"stop", "Stop the current answer"},
		{"status", "Show the assistant's status"},
		{"help", "Show what the assistant can do"},
	}
}

// Config configures the channel; the config keys live under
// channels.telegram.
type Config struct {
	// Name is the channel name (default "telegram").
	Name string
	// Token is the bot token from @BotFather (channels.telegram.token).
	Token string
	// APIURL is the Bot API base URL (channels.telegram.api_url), for a
	// self-hosted Bot API server, a proxy, or tests. Default: public API.
	APIURL string
	// Mode is "polling" (default) or "webhook".
	Mode string
	// PollTimeout is the long-poll timeout of getUpdates (default 30s).
	PollTimeout time.Duration
	// StallAfter is the liveness bound: no successful poll (or webhook
	// check) for this long restarts the connection. Default PollTimeout+30s.
	StallAfter time.Duration

	// WebhookURL is the public HTTPS URL Telegram posts updates to.
	WebhookURL string
	// WebhookSecret is sent by Telegram in X-Telegram-Bot-Api-Secret-Token
	// and checked on every request; webhook mode refuses to start without it.
	WebhookSecret string
	// Listen is the address the webhook server binds (default
	// 127.0.0.1:8788); WebhookPath its path (default: WebhookURL's path).
	Listen      string
	WebhookPath string

	// EditInterval is the minimum time between edits of a streamed answer
	// (default 1s).
	EditInterval time.Duration
	// Limits paces outbound messages; nil means one message per second per
	// chat and 30 per second overall.
	Limits *channelkit.Limits
	// Retry governs retries of 429 and 5xx (default channelkit.DefaultRetry).
	Retry *channelkit.RetryPolicy
	// Backoff spaces reconnections (default channelkit.DefaultBackoff).
	Backoff *channelkit.Backoff
	// Commands are registered with setMyCommands (default DefaultCommands).
	Commands []Command

	// Attachments stores received files; nil: files are described to the
	// engine but not kept.
	Attachments channelkit.AttachmentStore
	// MaxAttachmentBytes is the largest file downloaded (default 20 MiB,
	// the Bot API's own limit); MaxExtractBytes the most text extracted
	// from a text-like document (default 64 KiB).
	MaxAttachmentBytes int64
	MaxExtractBytes    int

	// HTTPClient is used for every Bot API call (default: a client without
	// a timeout; calls are bounded by their contexts).
	HTTPClient *http.Client
	// Clock drives pacing, retries, edits and the watchdog (nil: wall clock).
	Clock channelkit.Clock
	// Logger receives the channel's logs (nil: discarded).
	Logger *slog.Logger
}

var webhookSecretRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// Channel is the Telegram adapter.
type Channel struct {
	cfg     Config
	name    string
	log     *slog.Logger
	clock   channelkit.Clock
	health  *channelkit.Health
	pacer   *channelkit.Pacer
	api     *bot.Bot
	http    *http.Client
	baseURL string
	seen    *channelkit.Recent

	streams *channelkit.Streams

	mu     sync.Mutex
	addr   string // webhook listener address, once listening
	me     botIdentity
	offset int64
}

type botIdentity struct {
	id       int64
	username string
}

// Compile-time checks of the abilities the channel claims.
var (
	_ engine.Channel        = (*Channel)(nil)
	_ engine.Editor         = (*Channel)(nil)
	_ engine.Typer          = (*Channel)(nil)
	_ engine.HealthReporter = (*Channel)(nil)
)

// New validates cfg and returns the channel. It does not touch the
// network; Run checks the token with getMe.
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
		http:    cfg.HTTPClient,
		baseURL: strings.TrimRight(cfg.APIURL, "/"),
		seen:    channelkit.NewRecent(4096),
		streams: channelkit.NewStreams(cfg.Clock, cfg.EditInterval),
	}
	c.pacer = &channelkit.Pacer{
		Limiter: channelkit.NewLimiter(cfg.Clock, *cfg.Limits),
		Policy:  *cfg.Retry,
		Clock:   cfg.Clock,
		OnRetry: func(key string, attempt int, wait time.Duration, err error) {
			c.log.Warn("telegram asked to slow down; retrying", "chat", key, "attempt", attempt, "wait", wait, "err", err)
		},
	}
	api, err := bot.New(cfg.Token,
		bot.WithServerURL(c.baseURL),
		bot.WithSkipGetMe(),
		bot.WithHTTPClient(cfg.PollTimeout, c.http),
		bot.WithErrorsHandler(func(err error) { c.log.Debug("go-telegram/bot", "err", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("channels.telegram.token: %w", err)
	}
	c.api = api
	return c, nil
}

func (cfg *Config) defaults() error {
	if cfg.Name == "" {
		cfg.Name = "telegram"
	}
	cfg.Token = strings.TrimSpace(cfg.Token)
	if cfg.Token == "" {
		return errors.New("channels.telegram.token: required (the bot token from @BotFather)")
	}
	if strings.ContainsAny(cfg.Token, "/ ?#") {
		return errors.New("channels.telegram.token: malformed (expected the form 123456:ABC-...)")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if u, err := url.Parse(cfg.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("channels.telegram.api_url: must be an http(s) URL, got %q", cfg.APIURL)
	}
	if cfg.Mode == "" {
		cfg.Mode = ModePolling
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 30 * time.Second
	}
	if cfg.PollTimeout < 0 || cfg.PollTimeout > 50*time.Second {
		return fmt.Errorf("channels.telegram.poll_timeout: must be between 0 and 50s, got %s", cfg.PollTimeout)
	}
	if cfg.StallAfter == 0 {
		cfg.StallAfter = cfg.PollTimeout + 30*time.Second
	}
	if cfg.StallAfter <= cfg.PollTimeout {
		return fmt.Errorf("channels.telegram.stall_after: must be longer than poll_timeout (%s), got %s", cfg.PollTimeout, cfg.StallAfter)
	}
	switch cfg.Mode {
	case ModePolling:
	case ModeWebhook:
		if err := cfg.webhookDefaults(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("channels.telegram.mode: must be %q or %q, got %q", ModePolling, ModeWebhook, cfg.Mode)
	}
	if cfg.EditInterval == 0 {
		cfg.EditInterval = time.Second
	}
	if cfg.Limits == nil {
		cfg.Limits = &channelkit.Limits{PerKey: channelkit.Per(1, time.Second), Global: channelkit.Per(30, time.Second)}
	}
	if cfg.Retry == nil {
		r := channelkit.DefaultRetry()
		cfg.Retry = &r
	}
	if cfg.Backoff == nil {
		b := channelkit.DefaultBackoff()
		cfg.Backoff = &b
	}
	if cfg.Commands == nil {
		cfg.Commands = DefaultCommands()
	}
	if cfg.MaxAttachmentBytes == 0 {
		cfg.MaxAttachmentBytes = 20 << 20
	}
	if cfg.MaxExtractBytes == 0 {
		cfg.MaxExtractBytes = 64 << 10
	}
	if cfg.HTTPClient == nil {
		// One platform host, many concurrent chats: keep enough idle
		// connections that bursts reuse them instead of dialing anew.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		cfg.HTTPClient = &http.Client{Transport: tr}
	}
	cfg.HTTPClient = withStatusErrors(cfg.HTTPClient)
	cfg.Clock = orSystem(cfg.Clock)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func (cfg *Config) webhookDefaults() error {
	if cfg.WebhookSecret == "" {
		return errors.New("channels.telegram.webhook_secret: required in webhook mode (Telegram sends it with every update; without it anyone could post updates)")
	}
	if !webhookSecretRe.MatchString(cfg.WebhookSecret) {
		return errors.New("channels.telegram.webhook_secret: must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
	}
	u, err := url.Parse(cfg.WebhookURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("channels.telegram.webhook_url: required in webhook mode, an https URL Telegram can reach; got %q", cfg.WebhookURL)
	}
	if cfg.WebhookPath == "" {
		cfg.WebhookPath = u.Path
	}
	if cfg.WebhookPath == "" {
		cfg.WebhookPath = "/"
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:8788"
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return fmt.Errorf("channels.telegram.listen: %w", err)
	}
	return nil
}

func orSystem(c channelkit.Clock) channelkit.Clock {
	if c == nil {
		return channelkit.SystemClock{}
	}
	return c
}

// Name returns the channel name.
func (c *Channel) Name() string { return c.name }

// Capabilities describes Telegram.
func (c *Channel) Capabilities() engine.Capabilities {
	return engine.Capabilities{
		MaxMessageLen: MaxMessageLen,
		Format:        "telegram-html",
		Threads:       true,
		EditInterval:  c.cfg.EditInterval,
		Groups:        true,
	}
}

// WebhookAddr returns the address the webhook server listens on (useful
// with Listen "127.0.0.1:0"), or "" before it listens.
func (c *Channel) WebhookAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

// Health reports the connection state.
func (c *Channel) Health() engine.ChannelHealth { return c.health.Snapshot() }
