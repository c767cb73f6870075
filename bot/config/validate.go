package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Problem is one invalid key.
type Problem struct {
	// Key is the dotted key ("agent.max_iterations"; "llm.fallbacks[0].provider").
	Key string
	// Message says what is wrong ("must be between 1 and 100, got 0").
	Message string
	// Source says where the value was set ("config file /x/config.yaml",
	// "environment variable HEARTH_AGENT__MAX_ITERATIONS", "flag --llm-model");
	// empty for a default or a missing value.
	Source string
}

// Error renders "key: message", followed by the source in parentheses.
func (p Problem) Error() string {
	s := p.Key + ": " + p.Message
	if p.Source != "" {
		s += " (" + p.Source + ")"
	}
	return s
}

// Error is an invalid configuration: every problem found, not only the
// first. Match it with errors.As.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	if len(e.Problems) == 1 {
		return "invalid configuration: " + e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "invalid configuration (%d problems):", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Validate checks every key and returns an *Error listing all problems, or
// nil. With strict, the unknown keys seen when the config was loaded are
// problems too (for `hearth config validate`).
func (c *Config) Validate(strict bool) error {
	problems := c.check()
	if strict {
		for _, w := range c.unknown {
			problems = append(problems, Problem{Key: w.Key, Message: "unknown key", Source: w.Source})
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &Error{Problems: problems}
}

// checker collects problems.
type checker struct{ problems []Problem }

func (ch *checker) add(key, format string, args ...any) {
	ch.problems = append(ch.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ch *checker) oneOf(key, val string, allowed ...string) {
	for _, a := range allowed {
		if val == a {
			return
		}
	}
	quoted := make([]string, len(allowed))
	for i, a := range allowed {
		quoted[i] = strconv.Quote(a)
	}
	ch.add(key, "must be one of %s, got %q", strings.Join(quoted, ", "), val)
}

func (ch *checker) between(key string, v, lo, hi int64) {
	if v < lo || v > hi {
		ch.add(key, "must be between %d and %d, got %d", lo, hi, v)
	}
}

func (ch *checker) atLeast(key string, v, lo int64) {
	if v < lo {
		ch.add(key, "must be at least %d, got %d", lo, v)
	}
}

func (ch *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		ch.add(key, "must be a positive duration such as \"90s\" or \"5m\", got %s", d)
	}
}

func (ch *checker) httpURL(key, val string) {
	if val == "" {
		return
	}
	u, err := url.Parse(val)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ch.add(key, "must be an http:// or https:// URL, got %q", val)
	}
}

func (ch *checker) hostPort(key, val string) bool {
	host, port, err := net.SplitHostPort(val)
	if err == nil {
		n, perr := strconv.Atoi(port)
		if perr == nil && n >= 0 && n <= 65535 && !strings.ContainsAny(host, " /") {
			return true
		}
	}
	ch.add(key, "must be host:port such as \"127.0.0.1:8787\", got %q", val)
	return false
}

func (ch *checker) required(key, val, when string) {
	if strings.TrimSpace(val) == "" {
		ch.add(key, "is required when %s", when)
	}
}

func (ch *checker) allowlist(key string, list []string) {
	for i, e := range list {
		if strings.TrimSpace(e) == "" {
			ch.add(key, "entry %d is empty", i+1)
		}
	}
}

// isLoopback reports whether a host:port binds only the loopback
// interface. An empty host (every interface) and host names other than
// localhost are not loopback.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// check runs every rule and returns the problems in the order of the keys
// in Config.
func (c *Config) check() []Problem {
	ch := &checker{}
	if strings.TrimSpace(c.Home) == "" {
		ch.add("home", "must not be empty")
	}
	ch.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	ch.oneOf("log.format", c.Log.Format, "text", "json")
	c.checkLLM(ch)
	c.checkAgent(ch)

	if strings.TrimSpace(c.Access.OwnerName) == "" {
		ch.add("access.owner_name", "must not be empty")
	}
	ch.positive("access.pairing_ttl", c.Access.PairingTTL)
	ch.atLeast("access.max_pending_pairings", int64(c.Access.MaxPendingPairings), 1)

	if c.Database.URL != "" {
		u, err := url.Parse(c.Database.URL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			// The value may hold a password: never echo it.
			ch.add("database.url", "must be a postgres:// or postgresql:// URL, or empty for the embedded store")
		}
	}

	ch.oneOf("database.vector_index", c.Database.VectorIndex, "hnsw", "ivfflat")

	c.checkWebhook(ch)
	c.checkAPI(ch)
	c.checkTelegram(ch)
	c.checkSlack(ch)

	ch.httpURL("embeddings.base_url", c.Embeddings.BaseURL)
	ch.atLeast("embeddings.dimensions", int64(c.Embeddings.Dimensions), 0)
	m := c.Memory
	ch.atLeast("memory.rrf_k", int64(m.RRFK), 1)
	ch.between("memory.candidates", int64(m.Candidates), 1, 1000)
	ch.between("memory.chunk_words", int64(m.ChunkWords), 50, 4000)
	if m.ChunkOverlap < 0 || m.ChunkOverlap > 0.5 {
		ch.add("memory.chunk_overlap", "must be between 0 and 0.5, got %g", m.ChunkOverlap)
	}
	ch.between("memory.max_document_bytes", int64(m.MaxDocumentBytes), 1024, 64<<20)
	ch.atLeast("memory.keep_versions", int64(m.KeepVersions), -1)
	ch.atLeast("memory.file_chars", int64(m.FileChars), 100)
	ch.atLeast("memory.total_chars", int64(m.TotalChars), int64(m.FileChars))
	ch.atLeast("memory.recall_tokens", int64(m.RecallTokens), 0)
	ch.between("memory.recall_hits", int64(m.RecallHits), 1, 50)
	ch.positive("memory.recency_half_life", m.RecencyHalfLife)
	if m.RecencyWeight < 0 || m.RecencyWeight > 1 {
		ch.add("memory.recency_weight", "must be between 0 and 1, got %g", m.RecencyWeight)
	}
	return ch.problems
}

func (c *Config) checkLLM(ch *checker) {
	l := c.LLM
	if l.Provider != "" {
		ch.oneOf("llm.provider", l.Provider, "openai", "anthropic")
	}
	ch.httpURL("llm.base_url", l.BaseURL)
	ch.atLeast("llm.max_tokens", int64(l.MaxTokens), 1)
	ch.atLeast("llm.context_window", int64(l.ContextWindow), 1)
	if l.MaxTokens >= 1 && l.ContextWindow >= 1 && l.MaxTokens >= l.ContextWindow {
		ch.add("llm.max_tokens", "must be less than llm.context_window (%d), got %d", l.ContextWindow, l.MaxTokens)
	}
	ch.positive("llm.timeout", l.Timeout)
	ch.between("llm.max_retries", int64(l.MaxRetries), 0, 10)
	if l.Cooldown < 0 {
		ch.add("llm.cooldown", "must not be negative, got %s", l.Cooldown)
	}
	for i, f := range l.Fallbacks {
		key := fmt.Sprintf("llm.fallbacks[%d]", i)
		if f.Provider == "" {
			ch.add(key+".provider", `is required: "openai" or "anthropic"`)
		} else {
			ch.oneOf(key+".provider", f.Provider, "openai", "anthropic")
		}
		ch.httpURL(key+".base_url", f.BaseURL)
	}
}

func (c *Config) checkAgent(ch *checker) {
	a := c.Agent
	ch.atLeast("agent.max_parallel", int64(a.MaxParallel), 1)
	ch.between("agent.max_iterations", int64(a.MaxIterations), 1, 100)
	ch.positive("agent.turn_timeout", a.TurnTimeout)
	ch.atLeast("agent.mailbox_size", int64(a.MailboxSize), 1)
	ch.positive("agent.idle_timeout", a.IdleTimeout)
	if a.IdleRelease < 0 {
		ch.add("agent.idle_release", "must be 0 (never) or positive, got %s", a.IdleRelease)
	}
	if a.CompactionThreshold <= 0 || a.CompactionThreshold > 1 {
		ch.add("agent.compaction_threshold", "must be above 0 and at most 1, got %v", a.CompactionThreshold)
	}
	ch.atLeast("agent.keep_recent", int64(a.KeepRecent), 0)
	ch.atLeast("agent.max_parallel_tools", int64(a.MaxParallelTools), 1)
	ch.positive("agent.tool_timeout", a.ToolTimeout)
	if _, err := time.LoadLocation(a.Timezone); err != nil || a.Timezone == "" || a.Timezone == "Local" {
		ch.add("agent.timezone", "must be an IANA timezone name such as \"UTC\" or \"Europe/Berlin\", got %q", a.Timezone)
	}
}

func (c *Config) checkWebhook(ch *checker) {
	w := c.Channels.Webhook
	const p = "channels.webhook."
	if w.Enabled && ch.hostPort(p+"listen", w.Listen) && !isLoopback(w.Listen) && w.Token == "" && w.HMACSecret == "" {
		ch.add(p+"listen", "a non-loopback address (%q) requires %stoken or %shmac_secret", w.Listen, p, p)
	}
	ch.atLeast(p+"max_body_bytes", w.MaxBodyBytes, 1)
	ch.positive(p+"reply_timeout", w.ReplyTimeout)
	ch.positive(p+"callback_timeout", w.CallbackTimeout)
	ch.allowlist(p+"allowlist", w.Allowlist)
	ch.oneOf(p+"group_policy", w.GroupPolicy, "mention", "all", "off")
}

func (c *Config) checkAPI(ch *checker) {
	a := c.Channels.API
	const p = "channels.api."
	if a.Enabled && ch.hostPort(p+"listen", a.Listen) && !isLoopback(a.Listen) && !a.AllowNonLoopback {
		ch.add(p+"listen", "a non-loopback address (%q) requires %sallow_non_loopback: true", a.Listen, p)
	}
	ch.atLeast(p+"max_body_bytes", a.MaxBodyBytes, 1)
	ch.positive(p+"reply_timeout", a.ReplyTimeout)
	if a.Enabled && a.Model == "" {
		ch.add(p+"model", "must not be empty: it is the model name clients ask for")
	}
}

func (c *Config) checkTelegram(ch *checker) {
	t := c.Channels.Telegram
	const p = "channels.telegram."
	ch.oneOf(p+"mode", t.Mode, "polling", "webhook")
	ch.httpURL(p+"api_url", t.APIURL)
	if t.APIURL == "" {
		ch.add(p+"api_url", "must not be empty (the public one is \"https://api.telegram.org\")")
	}
	ch.allowlist(p+"allowlist", t.Allowlist)
	ch.oneOf(p+"group_policy", t.GroupPolicy, "mention", "all", "off")
	ch.positive(p+"poll_timeout", t.PollTimeout)
	if t.PollTimeout > 0 && t.StallAfter <= t.PollTimeout {
		ch.add(p+"stall_after", "must be longer than %spoll_timeout (%s), got %s", p, t.PollTimeout, t.StallAfter)
	}
	if !t.Enabled {
		return
	}
	ch.required(p+"token", t.Token, p+"enabled is true")
	if t.Mode == "webhook" {
		const when = p + `mode is "webhook"`
		ch.required(p+"webhook_url", t.WebhookURL, when)
		if t.WebhookURL != "" && !strings.HasPrefix(t.WebhookURL, "https://") {
			ch.add(p+"webhook_url", "must be an https:// URL (Telegram requires HTTPS), got %q", t.WebhookURL)
		}
		ch.required(p+"webhook_secret", t.WebhookSecret, when)
		ch.hostPort(p+"webhook_listen", t.WebhookListen)
	}
}

func (c *Config) checkSlack(ch *checker) {
	s := c.Channels.Slack
	const p = "channels.slack."
	ch.oneOf(p+"mode", s.Mode, "socket", "http")
	if !strings.HasPrefix(s.Command, "/") || len(s.Command) < 2 || strings.ContainsAny(s.Command, " \t") {
		ch.add(p+"command", "must be a slash command such as \"/hearth\", got %q", s.Command)
	}
	ch.oneOf(p+"command_visibility", s.CommandVisibility, "ephemeral", "in_channel")
	ch.httpURL(p+"api_url", s.APIURL)
	if s.APIURL == "" {
		ch.add(p+"api_url", "must not be empty (the public one is \"https://slack.com/api/\")")
	}
	ch.allowlist(p+"allowlist", s.Allowlist)
	ch.oneOf(p+"group_policy", s.GroupPolicy, "mention", "all", "off")
	ch.positive(p+"stall_after", s.StallAfter)
	if !s.Enabled {
		return
	}
	ch.required(p+"bot_token", s.BotToken, p+"enabled is true")
	switch s.Mode {
	case "socket":
		ch.required(p+"app_token", s.AppToken, p+`mode is "socket"`)
	case "http":
		ch.required(p+"signing_secret", s.SigningSecret, p+`mode is "http"`)
		ch.hostPort(p+"listen", s.Listen)
	}
}
