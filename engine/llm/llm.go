// Package llm builds Hearth's model client from configuration: one primary
// provider and an ordered list of fallbacks, each an OpenAI-compatible
// server (engine/llm/openai) or Anthropic (engine/llm/anthropic).
//
// Every call is retried on 429, 5xx and connection failures with
// exponential backoff, honouring Retry-After and retry-after-ms. A provider
// that still fails is put in cooldown and the next one is tried; while
// cooling down it is skipped (unless every provider is cooling down, in
// which case all are tried in order rather than refusing outright).
//
// The SDKs' own retries are disabled: doing it here keeps one policy for
// both vendors, lets failover follow exhausted retries directly, and makes
// the clock and the sleeper injectable so tests never wait real seconds.
//
// Failures are *Error values whose UserMessage can be shown to the user.
package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/anthropic"
	"github.com/hearthbot/hearth/engine/llm/openai"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// Error is the typed error of every model call (see provider.Error):
// Provider, Status, Kind, Retryable, RetryAfter, and a UserMessage that is
// safe to show.
type Error = provider.Error

// Kind classifies an Error.
type Kind = provider.Kind

// Error kinds, re-exported from provider.
const (
	KindRateLimited    = provider.KindRateLimited
	KindUnavailable    = provider.KindUnavailable
	KindAuth           = provider.KindAuth
	KindBadRequest     = provider.KindBadRequest
	KindTimeout        = provider.KindTimeout
	KindCanceled       = provider.KindCanceled
	KindUnreachable    = provider.KindUnreachable
	KindBadResponse    = provider.KindBadResponse
	KindStream         = provider.KindStream
	KindInvalidRequest = provider.KindInvalidRequest
)

// Defaults of Options.
const (
	DefaultMaxRetries   = 2
	DefaultBaseBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff   = 10 * time.Second
	DefaultMaxRetryWait = 60 * time.Second
	DefaultCooldown     = 60 * time.Second
)

// Options tune retries, failover and the environment of the client.
type Options struct {
	// Logger receives retry and failover events; nil discards them.
	Logger *slog.Logger
	// HTTPClient is shared by all providers; nil means one suited to many
	// concurrent sessions.
	HTTPClient *http.Client
	// MaxRetries is the number of retries per provider after the first
	// attempt: 0 means DefaultMaxRetries, negative means none.
	MaxRetries int
	// BaseBackoff and MaxBackoff bound the exponential backoff used when the
	// provider gives no Retry-After (0 means the defaults).
	BaseBackoff, MaxBackoff time.Duration
	// MaxRetryWait is the longest Retry-After honoured by waiting; a longer
	// one fails over at once (0 means DefaultMaxRetryWait).
	MaxRetryWait time.Duration
	// Cooldown is how long a failed provider is skipped (0 means
	// DefaultCooldown, negative disables cooldown). A longer Retry-After
	// extends it.
	Cooldown time.Duration
	// Now is the clock for cooldowns and Retry-After dates; nil means time.Now.
	Now func() time.Time
	// Sleep waits between retries; nil means a timer that ctx interrupts.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Client is the model client: retries, failover and cooldown over the
// configured providers. It is safe for concurrent use.
type Client struct {
	entries  []*entry
	log      *slog.Logger
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	retries  int
	base     time.Duration
	max      time.Duration
	maxWait  time.Duration
	cooldown time.Duration
}

var (
	_ engine.LLM        = (*Client)(nil)
	_ engine.ModelNamer = (*Client)(nil)
)

type entry struct {
	name  string
	model string
	llm   engine.LLM

	mu    sync.Mutex
	until time.Time
}

// New validates the configuration and builds the client. Errors name the
// offending key (llm.model, llm.fallbacks[1].base_url, ...).
func New(primary Config, fallbacks []Config, opts Options) (*Client, error) {
	configs := append([]Config{primary}, fallbacks...)
	var errs []error
	seen := map[string]string{}
	for i, cfg := range configs {
		prefix := "llm"
		if i > 0 {
			prefix = fmt.Sprintf("llm.fallbacks[%d]", i-1)
		}
		if err := cfg.validate(prefix); err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := seen[cfg.label()]; dup {
			errs = append(errs, &ConfigError{Key: prefix + ".name",
				Reason: fmt.Sprintf("provider name %q is already used by %s; set a distinct name", cfg.label(), other)})
		}
		seen[cfg.label()] = prefix
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	c := newClient(opts)
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = provider.NewHTTPClient()
	}
	for _, cfg := range configs {
		timeout := cfg.Timeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		s := provider.Settings{
			Name: cfg.label(), BaseURL: cfg.BaseURL, APIKey: cfg.APIKey, Model: cfg.Model,
			MaxTokens: cfg.MaxTokens, Timeout: timeout, HTTPClient: httpClient, Now: c.now,
		}
		var (
			l   engine.LLM
			err error
		)
		switch cfg.kind() {
		case ProviderAnthropic:
			l, err = anthropic.New(s)
		default:
			l, err = openai.New(s)
		}
		if err != nil {
			return nil, fmt.Errorf("llm: %s: %w", cfg.label(), err)
		}
		c.entries = append(c.entries, &entry{name: cfg.label(), model: cfg.Model, llm: l})
	}
	return c, nil
}

func newClient(opts Options) *Client {
	c := &Client{
		log: opts.Logger, now: opts.Now, sleep: opts.Sleep,
		retries: opts.MaxRetries, base: opts.BaseBackoff, max: opts.MaxBackoff,
		maxWait: opts.MaxRetryWait, cooldown: opts.Cooldown,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleepCtx
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultMaxRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.base <= 0 {
		c.base = DefaultBaseBackoff
	}
	if c.max <= 0 {
		c.max = DefaultMaxBackoff
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxRetryWait
	}
	if c.cooldown == 0 {
		c.cooldown = DefaultCooldown
	}
	return c
}

// ModelName is the primary provider's model.
func (c *Client) ModelName() string { return c.entries[0].model }

// ProviderStatus describes one configured provider.
type ProviderStatus struct {
	Name  string
	Model string
	// CoolingUntil is zero unless the provider is in cooldown.
	CoolingUntil time.Time
}

// Providers lists the providers in failover order (for hearth doctor).
func (c *Client) Providers() []ProviderStatus {
	now := c.now()
	out := make([]ProviderStatus, len(c.entries))
	for i, e := range c.entries {
		out[i] = ProviderStatus{Name: e.name, Model: e.model}
		if until := e.coolingUntil(); until.After(now) {
			out[i].CoolingUntil = until
		}
	}
	return out
}

// Chat sends req to the first available provider, retrying and failing
// over as described in the package documentation. Once streamed text has
// been delivered through OnDelta, a failure is returned as is: retrying
// would repeat text the user has already seen.
func (c *Client) Chat(ctx context.Context, req engine.ChatRequest) (*engine.ChatResponse, error) {
	var emitted atomic.Bool
	if onDelta := req.OnDelta; onDelta != nil {
		req.OnDelta = func(d string) {
			emitted.Store(true)
			onDelta(d)
		}
	}
	var last *Error
	for _, e := range c.candidates() {
		resp, err := c.attempts(ctx, e, req, &emitted)
		if err == nil {
			e.recover()
			return resp, nil
		}
		last = err
		if ctx.Err() != nil || emitted.Load() || err.Kind == KindInvalidRequest {
			return nil, err
		}
		if c.cooldown > 0 && cools(err) {
			e.cool(c.now().Add(max(c.cooldown, err.RetryAfter)))
		}
		c.log.Warn("llm: provider failed", "provider", e.name, "kind", err.Kind, "status", err.Status, "err", err.Error())
	}
	return nil, last
}

// candidates are the providers not in cooldown, in order; when all are
// cooling down, all of them (a single-provider setup is never locked out).
func (c *Client) candidates() []*entry {
	now := c.now()
	out := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		if !e.coolingUntil().After(now) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return c.entries
	}
	return out
}

// attempts calls one provider, retrying retryable failures.
func (c *Client) attempts(ctx context.Context, e *entry, req engine.ChatRequest, emitted *atomic.Bool) (*engine.ChatResponse, *Error) {
	for attempt := 0; ; attempt++ {
		resp, err := e.llm.Chat(ctx, req)
		if err == nil {
			return resp, nil
		}
		pe := asError(e.name, err)
		if !pe.Retryable || attempt >= c.retries || ctx.Err() != nil || emitted.Load() {
			return nil, pe
		}
		wait := pe.RetryAfter
		if wait == 0 {
			wait = c.backoff(attempt)
		}
		if wait > c.maxWait {
			c.log.Info("llm: retry-after too long, failing over", "provider", e.name, "retry_after", wait)
			return nil, pe
		}
		c.log.Info("llm: retrying", "provider", e.name, "kind", pe.Kind, "status", pe.Status, "attempt", attempt+1, "wait", wait)
		if serr := c.sleep(ctx, wait); serr != nil {
			if ce := provider.FromContext(e.name, ctx, serr); ce != nil {
				return nil, ce
			}
			return nil, pe
		}
	}
}

// backoff is base·2^attempt capped at max, with equal jitter: the wait is
// uniformly drawn from [d/2, d].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.base << min(attempt, 30)
	if d <= 0 || d > c.max {
		d = c.max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// cools reports whether a failure should put the provider in cooldown:
// everything that says the provider is unhealthy or misconfigured, not
// refusals of this particular request.
func cools(e *Error) bool {
	switch e.Kind {
	case KindCanceled, KindInvalidRequest:
		return false
	case KindBadRequest:
		return e.Status != http.StatusBadRequest && e.Status != http.StatusRequestEntityTooLarge &&
			e.Status != http.StatusUnprocessableEntity
	}
	return true
}

func asError(name string, err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Provider: name, Kind: KindUnavailable, Detail: "unexpected provider failure", Err: err}
}

func (e *entry) coolingUntil() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.until
}

func (e *entry) cool(until time.Time) {
	e.mu.Lock()
	if until.After(e.until) {
		e.until = until
	}
	e.mu.Unlock()
}

// recover ends a cooldown after a success.
func (e *entry) recover() {
	e.mu.Lock()
	e.until = time.Time{}
	e.mu.Unlock()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
