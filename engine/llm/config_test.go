package llm_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/llm"
)

func TestConfigValidation(t *testing.T) {
	ok := llm.Config{Provider: "openai", BaseURL: "http://127.0.0.1:11434/v1", Model: "llama3.2"}
	tests := []struct {
		name string
		cfg  llm.Config
		want []string // substrings of the error; none means valid
	}{
		{name: "local openai without key", cfg: ok},
		{name: "hosted openai with key", cfg: llm.Config{Provider: "openai", APIKey: "sk-x", Model: "gpt-4o-mini"}},
		{name: "anthropic with key", cfg: llm.Config{Provider: "Anthropic", APIKey: "k", Model: "claude"}},
		{name: "https remote with key", cfg: llm.Config{Provider: "openai", BaseURL: "https://openrouter.ai/api/v1", APIKey: "k", Model: "m"}},
		{name: "localhost http with key", cfg: llm.Config{Provider: "openai", BaseURL: "http://localhost:8080/v1", APIKey: "k", Model: "m"}},
		{name: "missing provider", cfg: llm.Config{Model: "m", BaseURL: ok.BaseURL},
			want: []string{`llm.provider: is required`}},
		{name: "unknown provider", cfg: llm.Config{Provider: "gemini", Model: "m", BaseURL: ok.BaseURL},
			want: []string{`llm.provider: must be "openai" or "anthropic", got "gemini"`}},
		{name: "missing model", cfg: llm.Config{Provider: "openai", BaseURL: ok.BaseURL},
			want: []string{"llm.model: is required"}},
		{name: "hosted without key", cfg: llm.Config{Provider: "openai", Model: "m"},
			want: []string{"llm.api_key: is required for the hosted openai API", "HEARTH_LLM__API_KEY"}},
		{name: "hosted by url without key", cfg: llm.Config{Provider: "anthropic", BaseURL: "https://api.anthropic.com", Model: "m"},
			want: []string{"llm.api_key: is required for the hosted anthropic API"}},
		{name: "relative url", cfg: llm.Config{Provider: "openai", BaseURL: "localhost:11434", Model: "m"},
			want: []string{"llm.base_url: must"}},
		{name: "ftp url", cfg: llm.Config{Provider: "openai", BaseURL: "ftp://127.0.0.1/v1", Model: "m"},
			want: []string{`llm.base_url: must use http or https, got scheme "ftp"`}},
		{name: "credentials in url", cfg: llm.Config{Provider: "openai", BaseURL: "http://user:hunter2@127.0.0.1/v1", Model: "m"},
			want: []string{"llm.base_url: must not contain credentials"}},
		{name: "key over plain http", cfg: llm.Config{Provider: "openai", BaseURL: "http://10.0.0.5:8000/v1", APIKey: "k", Model: "m"},
			want: []string{`llm.base_url: refusing to send llm.api_key over plain http to "10.0.0.5"`}},
		{name: "negative max tokens", cfg: llm.Config{Provider: "openai", BaseURL: ok.BaseURL, Model: "m", MaxTokens: -1},
			want: []string{"llm.max_tokens: must be between 0 (provider default) and 1000000, got -1"}},
		{name: "huge timeout", cfg: llm.Config{Provider: "openai", BaseURL: ok.BaseURL, Model: "m", Timeout: 2 * time.Hour},
			want: []string{"llm.timeout: must be between"}},
		{name: "several problems at once", cfg: llm.Config{Provider: "x", BaseURL: "ftp://h", MaxTokens: -5},
			want: []string{"llm.provider", "llm.base_url", "llm.model", "llm.max_tokens"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			var ce *llm.ConfigError
			if !errors.As(err, &ce) {
				t.Errorf("error is not a *ConfigError: %T", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

func TestNewNamesFallbackKeys(t *testing.T) {
	primary := llm.Config{Provider: "openai", BaseURL: "http://127.0.0.1:1/v1", Model: "m"}
	_, err := llm.New(primary, []llm.Config{
		{Provider: "anthropic", APIKey: "k", Model: "c"},
		{Provider: "openai", BaseURL: "http://127.0.0.1:2/v1"},
	}, llm.Options{})
	if err == nil || !strings.Contains(err.Error(), "llm.fallbacks[1].model: is required") {
		t.Fatalf("err = %v", err)
	}
	_, err = llm.New(primary, []llm.Config{primary}, llm.Options{})
	if err == nil || !strings.Contains(err.Error(), "llm.fallbacks[0].name: provider name \"openai:127.0.0.1:1\" is already used by llm") {
		t.Fatalf("duplicate: err = %v", err)
	}
	c, err := llm.New(primary, []llm.Config{{Provider: "anthropic", APIKey: "k", Model: "claude"}}, llm.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelName() != "m" {
		t.Errorf("ModelName = %q", c.ModelName())
	}
	got := c.Providers()
	if len(got) != 2 || got[0].Name != "openai:127.0.0.1:1" || got[1].Name != "anthropic:api.anthropic.com" {
		t.Errorf("providers = %+v", got)
	}
}

func TestConfigNeverPrintsKey(t *testing.T) {
	cfg := llm.Config{Provider: "openai", APIKey: "sk-very-secret", Model: "m"}
	for _, s := range []string{cfg.String(), fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), cfg.LogValue().String()} {
		if strings.Contains(s, "sk-very-secret") {
			t.Errorf("key printed: %s", s)
		}
	}
}
