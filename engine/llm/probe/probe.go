// Package probe finds a model server running on this machine when none is
// configured: Ollama (GET /api/tags on 127.0.0.1:11434) and OpenAI-compatible
// servers such as llama.cpp server (127.0.0.1:8080) and LM Studio
// (127.0.0.1:1234) (GET /v1/models). Every candidate is asked in parallel
// with a short timeout; the first in priority order that answers with a
// model wins. Hint tells the user exactly what to set otherwise.
package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine/llm"
)

// Timeout bounds each candidate's probe.
const Timeout = 300 * time.Millisecond

// maxBody bounds a probe response.
const maxBody = 1 << 20

// Kind is the API a candidate is probed with.
type Kind string

// Candidate kinds.
const (
	// KindOllama is probed with GET /api/tags and used through its /v1 API.
	KindOllama Kind = "ollama"
	// KindOpenAI is any server answering GET /v1/models.
	KindOpenAI Kind = "openai"
)

// Candidate is one place a local server may listen.
type Candidate struct {
	// Name is shown to the user ("Ollama", "llama.cpp server").
	Name string
	Kind Kind
	// Addr is host:port.
	Addr string
}

// DefaultCandidates are the usual loopback addresses, in priority order.
func DefaultCandidates() []Candidate {
	return []Candidate{
		{Name: "Ollama", Kind: KindOllama, Addr: "127.0.0.1:11434"},
		{Name: "llama.cpp server", Kind: KindOpenAI, Addr: "127.0.0.1:8080"},
		{Name: "LM Studio", Kind: KindOpenAI, Addr: "127.0.0.1:1234"},
	}
}

// ErrNotFound means no candidate answered with a usable model; the
// returned error wraps it and says what each candidate did.
var ErrNotFound = errors.New("no local model server found")

// Discover probes the default candidates; see DiscoverAt.
func Discover(ctx context.Context, client *http.Client) (llm.Config, error) {
	return DiscoverAt(ctx, client, DefaultCandidates())
}

// DiscoverAt probes candidates in parallel (Timeout each) and returns an
// OpenAI-provider Config (no API key) for the first, in the given order,
// that answers with at least one model; its Model is the first model
// listed. A nil client means a plain client that follows no redirects.
func DiscoverAt(ctx context.Context, client *http.Client, candidates []Candidate) (llm.Config, error) {
	if client == nil {
		client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	type result struct {
		model string
		err   error
	}
	results := make([]result, len(candidates))
	var wg sync.WaitGroup
	for i, c := range candidates {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, Timeout)
			defer cancel()
			m, err := probeOne(pctx, client, c)
			results[i] = result{m, err}
		})
	}
	wg.Wait()
	var reasons []string
	for i, c := range candidates {
		r := results[i]
		if r.err == nil {
			return llm.Config{Provider: llm.ProviderOpenAI, BaseURL: "http://" + c.Addr + "/v1", Model: r.model}, nil
		}
		reasons = append(reasons, fmt.Sprintf("%s at %s: %v", c.Name, c.Addr, r.err))
	}
	if err := ctx.Err(); err != nil {
		return llm.Config{}, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return llm.Config{}, fmt.Errorf("%w (%s)", ErrNotFound, strings.Join(reasons, "; "))
}

// probeOne asks one candidate for its models and returns the first.
func probeOne(ctx context.Context, client *http.Client, c Candidate) (string, error) {
	path := "/v1/models"
	if c.Kind == KindOllama {
		path = "/api/tags"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.Addr+path, nil)
	if err != nil {
		return "", fmt.Errorf("bad address: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", errors.New("no answer within " + Timeout.String())
		}
		return "", errors.New("connection failed (nothing listening?)")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s answered %d", path, res.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return "", fmt.Errorf("reading GET %s: %w", path, err)
	}
	var names []string
	if c.Kind == KindOllama {
		var tags struct {
			Models []struct {
				Name  string `json:"name"`
				Model string `json:"model"`
			} `json:"models"`
		}
		if err := json.Unmarshal(body, &tags); err != nil {
			return "", fmt.Errorf("GET %s did not answer Ollama's JSON", path)
		}
		for _, m := range tags.Models {
			names = append(names, firstNonEmpty(m.Name, m.Model))
		}
		if len(names) == 0 || names[0] == "" {
			return "", errors.New("the server has no models; run `ollama pull llama3.2`")
		}
		return names[0], nil
	}
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "", fmt.Errorf("GET %s did not answer an OpenAI model list", path)
	}
	if len(list.Data) == 0 || list.Data[0].ID == "" {
		return "", errors.New("the server lists no models; load one first")
	}
	return list.Data[0].ID, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Hint tells the user exactly which environment variables configure a model.
func Hint() string {
	var tried []string
	for _, c := range DefaultCandidates() {
		tried = append(tried, c.Name+" on "+c.Addr)
	}
	return `No language model is configured, and none was found on this machine
(looked for ` + strings.Join(tried, ", ") + `).

Configure one with environment variables (or the same keys under llm: in
$HEARTH_HOME/config.yaml), for example:

  # a local Ollama, llama.cpp server, vLLM or LM Studio (no key needed)
  HEARTH_LLM__PROVIDER=openai
  HEARTH_LLM__BASE_URL=http://127.0.0.1:11434/v1
  HEARTH_LLM__MODEL=llama3.2

  # OpenAI; for OpenRouter or NEAR AI also set HEARTH_LLM__BASE_URL
  HEARTH_LLM__PROVIDER=openai
  HEARTH_LLM__API_KEY=sk-...
  HEARTH_LLM__MODEL=gpt-4o-mini

  # Anthropic
  HEARTH_LLM__PROVIDER=anthropic
  HEARTH_LLM__API_KEY=sk-ant-...
  HEARTH_LLM__MODEL=claude-sonnet-4-5
`
}
