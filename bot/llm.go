package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm"
	"github.com/hearthbot/hearth/engine/llm/probe"
)

// errNoModel says no model is configured or discoverable.
var errNoModel = errors.New("no language model")

// buildLLM builds the model client with retries and failover from llm.*.
// With neither llm.provider nor llm.base_url set it looks for a local
// Ollama or llama.cpp server; with a base URL but no model it asks that
// server for its first model.
func buildLLM(ctx context.Context, cfg *config.Config, log *slog.Logger) (engine.LLM, error) {
	c := cfg.LLM
	primary := llm.Config{Provider: c.Provider, BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, MaxTokens: c.MaxTokens, Timeout: c.Timeout}
	switch {
	case primary.Provider == "" && primary.BaseURL == "":
		found, err := probe.Discover(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v\n\n%s", errNoModel, err, probe.Hint())
		}
		log.Info("using a local model server", "base_url", found.BaseURL, "model", found.Model)
		found.MaxTokens, found.Timeout = c.MaxTokens, c.Timeout
		if c.Model != "" {
			found.Model = c.Model
		}
		primary = found
	case primary.Provider == "":
		primary.Provider = llm.ProviderOpenAI
	}
	if primary.Model == "" && primary.Provider == llm.ProviderOpenAI && primary.BaseURL != "" {
		if m, err := firstModel(ctx, primary.BaseURL); err == nil {
			primary.Model = m
		}
	}
	var fallbacks []llm.Config
	for _, f := range c.Endpoints()[1:] {
		fallbacks = append(fallbacks, llm.Config{Provider: f.Provider, BaseURL: f.BaseURL, APIKey: f.APIKey, Model: f.Model, MaxTokens: c.MaxTokens, Timeout: c.Timeout})
	}
	client, err := llm.New(primary, fallbacks, llm.Options{
		Logger: log, MaxRetries: retries(c.MaxRetries), Cooldown: c.Cooldown,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w\n\n%s", errNoModel, err, probe.Hint())
	}
	return client, nil
}

// retries maps llm.max_retries (0 = none) to llm.Options (negative = none).
func retries(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// firstModel asks an OpenAI-compatible server which models it serves.
func firstModel(ctx context.Context, baseURL string) (string, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || u.Scheme != "http" || !isLoopback(u.Host) {
		return "", fmt.Errorf("llm.model is required for %s", baseURL)
	}
	found, err := probe.DiscoverAt(ctx, nil, []probe.Candidate{{Name: baseURL, Kind: probe.KindOpenAI, Addr: u.Host}})
	if err != nil {
		return "", err
	}
	return found.Model, nil
}

func llmHint() string {
	return "set HEARTH_LLM__PROVIDER, HEARTH_LLM__BASE_URL, HEARTH_LLM__MODEL (and HEARTH_LLM__API_KEY for hosted models)"
}
