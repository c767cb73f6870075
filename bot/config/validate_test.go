package config

import (
	"strings"
	"testing"
	"time"
)

func validConfig(t *testing.T) *Config {
	t.Helper()
	cfg, _ := mustLoad(t, LoadOptions{HomeDir: t.TempDir()})
	return cfg
}

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		key    string
		msg    string // exact message; empty: any
	}{
		{"max_iterations 0", func(c *Config) { c.Agent.MaxIterations = 0 }, "agent.max_iterations", "must be between 1 and 100, got 0"},
		{"max_iterations 101", func(c *Config) { c.Agent.MaxIterations = 101 }, "agent.max_iterations", "must be between 1 and 100, got 101"},
		{"home empty", func(c *Config) { c.Home = " " }, "home", "must not be empty"},
		{"log level", func(c *Config) { c.Log.Level = "loud" }, "log.level", `must be one of "debug", "info", "warn", "error", got "loud"`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", `must be one of "text", "json", got "xml"`},
		{"llm provider", func(c *Config) { c.LLM.Provider = "gemini" }, "llm.provider", `must be one of "openai", "anthropic", got "gemini"`},
		{"llm base_url", func(c *Config) { c.LLM.BaseURL = "localhost:11434" }, "llm.base_url", `must be an http:// or https:// URL, got "localhost:11434"`},
		{"max_tokens", func(c *Config) { c.LLM.MaxTokens = 0 }, "llm.max_tokens", "must be at least 1, got 0"},
		{"max_tokens vs window", func(c *Config) { c.LLM.MaxTokens = 40000 }, "llm.max_tokens", "must be less than llm.context_window (32768), got 40000"},
		{"context_window", func(c *Config) { c.LLM.ContextWindow = -1 }, "llm.context_window", "must be at least 1, got -1"},
		{"llm timeout", func(c *Config) { c.LLM.Timeout = 0 }, "llm.timeout", `must be a positive duration such as "90s" or "5m", got 0s`},
		{"max_retries", func(c *Config) { c.LLM.MaxRetries = 11 }, "llm.max_retries", "must be between 0 and 10, got 11"},
		{"cooldown", func(c *Config) { c.LLM.Cooldown = -time.Second }, "llm.cooldown", "must not be negative, got -1s"},
		{"fallback provider missing", func(c *Config) { c.LLM.Fallbacks = []LLMEndpoint{{Model: "m"}} }, "llm.fallbacks[0].provider", `is required: "openai" or "anthropic"`},
		{"fallback provider bad", func(c *Config) {
			c.LLM.Fallbacks = []LLMEndpoint{{Provider: "openai"}, {Provider: "x"}}
		}, "llm.fallbacks[1].provider", `must be one of "openai", "anthropic", got "x"`},
		{"fallback base_url", func(c *Config) { c.LLM.Fallbacks = []LLMEndpoint{{Provider: "openai", BaseURL: "ftp://x"}} }, "llm.fallbacks[0].base_url", ""},
		{"max_parallel", func(c *Config) { c.Agent.MaxParallel = 0 }, "agent.max_parallel", "must be at least 1, got 0"},
		{"turn_timeout", func(c *Config) { c.Agent.TurnTimeout = -time.Minute }, "agent.turn_timeout", ""},
		{"mailbox_size", func(c *Config) { c.Agent.MailboxSize = 0 }, "agent.mailbox_size", "must be at least 1, got 0"},
		{"idle_timeout", func(c *Config) { c.Agent.IdleTimeout = 0 }, "agent.idle_timeout", ""},
		{"idle_release", func(c *Config) { c.Agent.IdleRelease = -time.Second }, "agent.idle_release", ""},
		{"compaction_threshold 0", func(c *Config) { c.Agent.CompactionThreshold = 0 }, "agent.compaction_threshold", "must be above 0 and at most 1, got 0"},
		{"compaction_threshold 1.5", func(c *Config) { c.Agent.CompactionThreshold = 1.5 }, "agent.compaction_threshold", "must be above 0 and at most 1, got 1.5"},
		{"keep_recent", func(c *Config) { c.Agent.KeepRecent = -1 }, "agent.keep_recent", "must be at least 0, got -1"},
		{"max_parallel_tools", func(c *Config) { c.Agent.MaxParallelTools = 0 }, "agent.max_parallel_tools", "must be at least 1, got 0"},
		{"tool_timeout", func(c *Config) { c.Agent.ToolTimeout = 0 }, "agent.tool_timeout", ""},
		{"timezone unknown", func(c *Config) { c.Agent.Timezone = "Mars/Olympus" }, "agent.timezone", `must be an IANA timezone name such as "UTC" or "Europe/Berlin", got "Mars/Olympus"`},
		{"timezone Local", func(c *Config) { c.Agent.Timezone = "Local" }, "agent.timezone", ""},
		{"timezone empty", func(c *Config) { c.Agent.Timezone = "" }, "agent.timezone", ""},
		{"owner_name", func(c *Config) { c.Access.OwnerName = "" }, "access.owner_name", "must not be empty"},
		{"pairing_ttl", func(c *Config) { c.Access.PairingTTL = 0 }, "access.pairing_ttl", ""},
		{"max_pending_pairings", func(c *Config) { c.Access.MaxPendingPairings = 0 }, "access.max_pending_pairings", "must be at least 1, got 0"},
		{"database url scheme", func(c *Config) { c.Database.URL = "mysql://u:hunter2@h/db" }, "database.url", "must be a postgres:// or postgresql:// URL, or empty for the embedded store"},
		{"webhook public without auth", func(c *Config) {
			c.Channels.Webhook.Enabled = true
			c.Channels.Webhook.Listen = "0.0.0.0:8787"
		}, "channels.webhook.listen", `a non-loopback address ("0.0.0.0:8787") requires channels.webhook.token or channels.webhook.hmac_secret`},
		{"webhook all interfaces without auth", func(c *Config) {
			c.Channels.Webhook.Enabled = true
			c.Channels.Webhook.Listen = ":8787"
		}, "channels.webhook.listen", ""},
		{"webhook bad listen", func(c *Config) {
			c.Channels.Webhook.Enabled = true
			c.Channels.Webhook.Listen = "8787"
		}, "channels.webhook.listen", `must be host:port such as "127.0.0.1:8787", got "8787"`},
		{"webhook max_body_bytes", func(c *Config) { c.Channels.Webhook.MaxBodyBytes = 0 }, "channels.webhook.max_body_bytes", "must be at least 1, got 0"},
		{"api public without opt-in", func(c *Config) {
			c.Channels.API.Enabled = true
			c.Channels.API.Listen = "0.0.0.0:8790"
		}, "channels.api.listen", `a non-loopback address ("0.0.0.0:8790") requires channels.api.allow_non_loopback: true`},
		{"api empty model", func(c *Config) {
			c.Channels.API.Enabled = true
			c.Channels.API.Model = ""
		}, "channels.api.model", ""},
		{"api reply_timeout", func(c *Config) { c.Channels.API.ReplyTimeout = 0 }, "channels.api.reply_timeout", ""},
		{"api max_body_bytes", func(c *Config) { c.Channels.API.MaxBodyBytes = 0 }, "channels.api.max_body_bytes", "must be at least 1, got 0"},
		{"webhook reply_timeout", func(c *Config) { c.Channels.Webhook.ReplyTimeout = 0 }, "channels.webhook.reply_timeout", ""},
		{"webhook callback_timeout", func(c *Config) { c.Channels.Webhook.CallbackTimeout = 0 }, "channels.webhook.callback_timeout", ""},
		{"webhook allowlist", func(c *Config) { c.Channels.Webhook.Allowlist = []string{"a", " "} }, "channels.webhook.allowlist", "entry 2 is empty"},
		{"webhook group_policy", func(c *Config) { c.Channels.Webhook.GroupPolicy = "always" }, "channels.webhook.group_policy", `must be one of "mention", "all", "off", got "always"`},
		{"telegram token", func(c *Config) { c.Channels.Telegram.Enabled = true }, "channels.telegram.token", "is required when channels.telegram.enabled is true"},
		{"telegram mode", func(c *Config) { c.Channels.Telegram.Mode = "push" }, "channels.telegram.mode", `must be one of "polling", "webhook", got "push"`},
		{"telegram webhook secret", func(c *Config) {
			c.Channels.Telegram.Enabled, c.Channels.Telegram.Token = true, "1:a"
			c.Channels.Telegram.Mode, c.Channels.Telegram.WebhookURL = "webhook", "https://bot.example.com/tg"
		}, "channels.telegram.webhook_secret", `is required when channels.telegram.mode is "webhook"`},
		{"telegram webhook url", func(c *Config) {
			c.Channels.Telegram.Enabled, c.Channels.Telegram.Token = true, "1:a"
			c.Channels.Telegram.Mode, c.Channels.Telegram.WebhookSecret = "webhook", "s"
		}, "channels.telegram.webhook_url", `is required when channels.telegram.mode is "webhook"`},
		{"telegram webhook url http", func(c *Config) {
			c.Channels.Telegram.Enabled, c.Channels.Telegram.Token = true, "1:a"
			c.Channels.Telegram.Mode, c.Channels.Telegram.WebhookSecret = "webhook", "s"
			c.Channels.Telegram.WebhookURL = "http://bot.example.com/tg"
		}, "channels.telegram.webhook_url", `must be an https:// URL (Telegram requires HTTPS), got "http://bot.example.com/tg"`},
		{"telegram api_url", func(c *Config) { c.Channels.Telegram.APIURL = "" }, "channels.telegram.api_url", ""},
		{"telegram group_policy", func(c *Config) { c.Channels.Telegram.GroupPolicy = "x" }, "channels.telegram.group_policy", ""},
		{"telegram poll_timeout", func(c *Config) { c.Channels.Telegram.PollTimeout = 0 }, "channels.telegram.poll_timeout", ""},
		{"telegram stall_after", func(c *Config) { c.Channels.Telegram.StallAfter = 10 * time.Second }, "channels.telegram.stall_after", "must be longer than channels.telegram.poll_timeout (30s), got 10s"},
		{"slack bot_token", func(c *Config) {
			c.Channels.Slack.Enabled, c.Channels.Slack.AppToken = true, "xapp-1"
		}, "channels.slack.bot_token", "is required when channels.slack.enabled is true"},
		{"slack app_token", func(c *Config) {
			c.Channels.Slack.Enabled, c.Channels.Slack.BotToken = true, "xoxb-1"
		}, "channels.slack.app_token", `is required when channels.slack.mode is "socket"`},
		{"slack signing_secret", func(c *Config) {
			c.Channels.Slack.Enabled, c.Channels.Slack.BotToken, c.Channels.Slack.Mode = true, "xoxb-1", "http"
		}, "channels.slack.signing_secret", `is required when channels.slack.mode is "http"`},
		{"slack mode", func(c *Config) { c.Channels.Slack.Mode = "rtm" }, "channels.slack.mode", ""},
		{"slack command", func(c *Config) { c.Channels.Slack.Command = "hearth" }, "channels.slack.command", `must be a slash command such as "/hearth", got "hearth"`},
		{"slack visibility", func(c *Config) { c.Channels.Slack.CommandVisibility = "public" }, "channels.slack.command_visibility", ""},
		{"slack api_url", func(c *Config) { c.Channels.Slack.APIURL = "slack.com" }, "channels.slack.api_url", ""},
		{"slack group_policy", func(c *Config) { c.Channels.Slack.GroupPolicy = "" }, "channels.slack.group_policy", ""},
		{"slack stall_after", func(c *Config) { c.Channels.Slack.StallAfter = 0 }, "channels.slack.stall_after", ""},
		{"embeddings base_url", func(c *Config) { c.Embeddings.BaseURL = "nope" }, "embeddings.base_url", ""},
		{"embeddings dimensions", func(c *Config) { c.Embeddings.Dimensions = -3 }, "embeddings.dimensions", "must be at least 0, got -3"},
		{"rrf_k", func(c *Config) { c.Memory.RRFK = 0 }, "memory.rrf_k", "must be at least 1, got 0"},
		{"vector_index", func(c *Config) { c.Database.VectorIndex = "flat" }, "database.vector_index", ""},
		{"chunk_overlap", func(c *Config) { c.Memory.ChunkOverlap = 0.6 }, "memory.chunk_overlap", "must be between 0 and 0.5, got 0.6"},
		{"total below file cap", func(c *Config) { c.Memory.TotalChars = 500 }, "memory.total_chars", "must be at least 12000, got 500"},
		{"recall_tokens", func(c *Config) { c.Memory.RecallTokens = -1 }, "memory.recall_tokens", "must be at least 0, got -1"},
		{"recency_weight", func(c *Config) { c.Memory.RecencyWeight = 2 }, "memory.recency_weight", "must be between 0 and 1, got 2"},
		{"keep_versions", func(c *Config) { c.Memory.KeepVersions = -2 }, "memory.keep_versions", "must be at least -1, got -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.mutate(cfg)
			ps := problemsOf(t, cfg.Validate(false))
			if len(ps) != 1 {
				t.Fatalf("want exactly one problem, got %v", ps)
			}
			if ps[0].Key != tt.key || (tt.msg != "" && ps[0].Message != tt.msg) {
				t.Errorf("got %q, want %s: %s", ps[0].Error(), tt.key, tt.msg)
			}
		})
	}
}

func TestValidConfigurations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"defaults", func(*Config) {}},
		{"public webhook with token", func(c *Config) {
			c.Channels.Webhook.Enabled, c.Channels.Webhook.Listen, c.Channels.Webhook.Token = true, "0.0.0.0:8787", "t"
		}},
		{"public webhook with hmac", func(c *Config) {
			c.Channels.Webhook.Enabled, c.Channels.Webhook.Listen, c.Channels.Webhook.HMACSecret = true, "[::]:8787", "s"
		}},
		{"loopback webhook without auth", func(c *Config) {
			c.Channels.Webhook.Enabled, c.Channels.Webhook.Listen = true, "[::1]:8787"
		}},
		{"localhost webhook without auth", func(c *Config) {
			c.Channels.Webhook.Enabled, c.Channels.Webhook.Listen = true, "localhost:9000"
		}},
		{"public listen while disabled", func(c *Config) { c.Channels.Webhook.Listen = "0.0.0.0:8787" }},
		{"telegram polling", func(c *Config) { c.Channels.Telegram.Enabled, c.Channels.Telegram.Token = true, "1:a" }},
		{"telegram webhook", func(c *Config) {
			tg := &c.Channels.Telegram
			tg.Enabled, tg.Token, tg.Mode, tg.WebhookURL, tg.WebhookSecret = true, "1:a", "webhook", "https://x.example/tg", "s"
		}},
		{"slack socket", func(c *Config) {
			s := &c.Channels.Slack
			s.Enabled, s.BotToken, s.AppToken = true, "xoxb-1", "xapp-1"
		}},
		{"slack http", func(c *Config) {
			s := &c.Channels.Slack
			s.Enabled, s.BotToken, s.SigningSecret, s.Mode = true, "xoxb-1", "sig", "http"
		}},
		{"anthropic with fallbacks", func(c *Config) {
			c.LLM.Provider = "anthropic"
			c.LLM.Fallbacks = []LLMEndpoint{{Provider: "openai", BaseURL: "http://127.0.0.1:11434/v1"}}
		}},
		{"postgres", func(c *Config) { c.Database.URL = "postgresql://u:p@db:5432/hearth?sslmode=require" }},
		{"timezone", func(c *Config) { c.Agent.Timezone = "America/New_York" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig(t)
			tt.mutate(cfg)
			if err := cfg.Validate(true); err != nil {
				t.Errorf("want valid, got %v", err)
			}
		})
	}
}

// Load refuses an invalid configuration with every problem and the layer
// that set the bad value.
func TestLoadRefusesInvalid(t *testing.T) {
	_, _, err := Load(LoadOptions{HomeDir: homeWith(t, ""), Environ: environ{
		"HEARTH_CHANNELS__TELEGRAM__ENABLED=true",
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=1",
		"HEARTH_CHANNELS__WEBHOOK__LISTEN=0.0.0.0:80",
	}})
	ps := problemsOf(t, err)
	if len(ps) != 2 {
		t.Fatalf("problems: %v", ps)
	}
	text := err.Error()
	for _, want := range []string{
		"invalid configuration (2 problems):",
		"channels.telegram.token: is required when channels.telegram.enabled is true",
		"channels.webhook.listen: a non-loopback address (\"0.0.0.0:80\") requires channels.webhook.token or channels.webhook.hmac_secret (environment variable HEARTH_CHANNELS__WEBHOOK__LISTEN)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("error lacks %q:\n%s", want, text)
		}
	}
}

func TestEndpoints(t *testing.T) {
	l := LLMConfig{Provider: "openai", Model: "main", APIKey: "k", Fallbacks: []LLMEndpoint{
		{Provider: "anthropic", Model: "claude"}, {Provider: "openai", BaseURL: "http://127.0.0.1:8080/v1"},
	}}
	got := l.Endpoints()
	if len(got) != 3 || got[0] != (LLMEndpoint{Provider: "openai", Model: "main", APIKey: "k"}) ||
		got[1].Model != "claude" || got[2].Model != "main" {
		t.Errorf("Endpoints = %+v", got)
	}
	if l.Fallbacks[1].Model != "" {
		t.Error("Endpoints changed the config")
	}
}

func TestDefaultValidates(t *testing.T) {
	d := Default()
	if err := d.Validate(true); err != nil {
		t.Errorf("Default() does not validate: %v", err)
	}
}
