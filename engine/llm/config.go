package llm

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine/llm/anthropic"
	"github.com/hearthbot/hearth/engine/llm/openai"
)

// Provider kinds.
const (
	// ProviderOpenAI is any OpenAI-compatible chat-completions server
	// (OpenAI, Ollama, llama.cpp server, vLLM, LM Studio, OpenRouter, NEAR AI).
	ProviderOpenAI = "openai"
	// ProviderAnthropic is the Anthropic Messages API.
	ProviderAnthropic = "anthropic"
)

// DefaultTimeout bounds one call (streaming included) when Config.Timeout is 0.
const DefaultTimeout = 2 * time.Minute

// Limits on configuration values.
const (
	maxMaxTokens = 1_000_000
	maxTimeout   = time.Hour
)

// Config is one provider as configured under llm (and each entry of
// llm.fallbacks). The koanf tags match the configuration keys.
type Config struct {
	// Provider is "openai" (any OpenAI-compatible server) or "anthropic".
	Provider string `koanf:"provider"`
	// BaseURL is the API base (e.g. http://127.0.0.1:11434/v1 for Ollama);
	// empty means the vendor's hosted API.
	BaseURL string `koanf:"base_url"`
	// APIKey may be empty for local servers.
	APIKey string `koanf:"api_key"`
	// Model is the default model.
	Model string `koanf:"model"`
	// MaxTokens caps answers; 0 means the provider's default.
	MaxTokens int `koanf:"max_tokens"`
	// Timeout bounds one attempt, streaming included; 0 means DefaultTimeout.
	Timeout time.Duration `koanf:"timeout"`
	// Name labels the provider in logs, errors and ChatResponse.Provider;
	// empty means "<provider>:<host>".
	Name string `koanf:"name"`
}

// ConfigError is one invalid configuration value.
type ConfigError struct {
	// Key is the configuration key, e.g. "llm.fallbacks[0].base_url".
	Key string
	// Reason says what is wrong and what was given (never a secret).
	Reason string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Reason }

// Validate checks c as the primary provider (keys under "llm").
func (c Config) Validate() error { return c.validate("llm") }

// validate checks c, naming keys under prefix; all problems are joined.
func (c Config) validate(prefix string) error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: prefix + "." + key, Reason: fmt.Sprintf(format, args...)})
	}
	provider := strings.ToLower(strings.TrimSpace(c.Provider))
	switch provider {
	case ProviderOpenAI, ProviderAnthropic:
	case "":
		bad("provider", "is required: %q (any OpenAI-compatible server) or %q", ProviderOpenAI, ProviderAnthropic)
	default:
		bad("provider", "must be %q or %q, got %q", ProviderOpenAI, ProviderAnthropic, c.Provider)
	}
	var u *url.URL
	if c.BaseURL != "" {
		var err error
		u, err = url.Parse(c.BaseURL)
		switch {
		case err != nil || u.Host == "":
			bad("base_url", "must be an absolute http or https URL, got %q", redactURL(c.BaseURL))
			u = nil
		case u.Scheme != "http" && u.Scheme != "https":
			bad("base_url", "must use http or https, got scheme %q", u.Scheme)
			u = nil
		case u.User != nil:
			bad("base_url", "must not contain credentials; put the key in %s.api_key", prefix)
			u = nil
		case u.RawQuery != "" || u.Fragment != "":
			bad("base_url", "must not have a query or fragment, got %q", redactURL(c.BaseURL))
			u = nil
		}
	}
	if c.APIKey == "" && provider != "" && (c.BaseURL == "" || (u != nil && isHosted(u.Hostname()))) {
		bad("api_key", "is required for the hosted %s API (set HEARTH_LLM__API_KEY), or set %s.base_url to a local server", provider, prefix)
	}
	if c.APIKey != "" && u != nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		bad("base_url", "refusing to send %s.api_key over plain http to %q; use https", prefix, u.Hostname())
	}
	if strings.ContainsAny(c.APIKey, "\r\n") {
		bad("api_key", "must be a single line")
	}
	if strings.TrimSpace(c.Model) == "" {
		bad("model", "is required (for example gpt-4o-mini, claude-sonnet-4-5 or llama3.2)")
	}
	if c.MaxTokens < 0 || c.MaxTokens > maxMaxTokens {
		bad("max_tokens", "must be between 0 (provider default) and %d, got %d", maxMaxTokens, c.MaxTokens)
	}
	if c.Timeout < 0 || c.Timeout > maxTimeout {
		bad("timeout", "must be between 0 (default %s) and %s, got %s", DefaultTimeout, maxTimeout, c.Timeout)
	}
	return errors.Join(errs...)
}

// label is the provider's name in logs and errors.
func (c Config) label() string {
	if c.Name != "" {
		return c.Name
	}
	base := c.BaseURL
	if base == "" {
		base = openai.DefaultBaseURL
		if c.kind() == ProviderAnthropic {
			base = anthropic.DefaultBaseURL
		}
	}
	host := base
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		host = u.Host
	}
	return c.kind() + ":" + host
}

func (c Config) kind() string { return strings.ToLower(strings.TrimSpace(c.Provider)) }

// String describes c with the API key redacted.
func (c Config) String() string {
	key := "none"
	if c.APIKey != "" {
		key = "[redacted]"
	}
	return fmt.Sprintf("%s model=%s base_url=%s api_key=%s", c.label(), c.Model, redactURL(c.BaseURL), key)
}

// GoString is String, so that %#v does not print the key either.
func (c Config) GoString() string { return "llm.Config{" + c.String() + "}" }

// LogValue logs c without its API key.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.label()),
		slog.String("model", c.Model),
		slog.String("base_url", redactURL(c.BaseURL)),
		slog.Bool("api_key_set", c.APIKey != ""),
	)
}

func isHosted(host string) bool {
	host = strings.ToLower(host)
	return host == "api.openai.com" || host == "api.anthropic.com"
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactURL drops user info and query from a URL for display.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}
