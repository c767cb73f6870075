// Package anthropic is an engine.LLM over the Anthropic Messages API, built
// on the official SDK (github.com/anthropics/anthropic-sdk-go): system
// prompt, tool_use / tool_result blocks, streaming (text_delta and
// input_json_delta events). Consecutive messages of the same role are merged
// because the API requires alternation, and tool results travel in a user
// message, first in its content.
//
// The SDK reads nothing from the environment and its retries are disabled:
// engine/llm retries and fails over. Errors are *provider.Error (llm.Error).
package anthropic

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// DefaultBaseURL is the hosted Anthropic API.
const DefaultBaseURL = "https://api.anthropic.com"

// DefaultMaxTokens is sent when neither the request nor the settings give
// max_tokens, which the Messages API requires.
const DefaultMaxTokens = 4096

// nonStreamingTimeout is handed to the SDK for non-streamed calls when no
// timeout is configured; without one the SDK refuses large max_tokens.
const nonStreamingTimeout = 10 * time.Minute

// Client is one Anthropic Messages endpoint. It is safe for concurrent use.
type Client struct {
	svc     anthropic.MessageService
	name    string
	model   string
	max     int
	timeout time.Duration
	now     func() time.Time
}

var (
	_ engine.LLM        = (*Client)(nil)
	_ engine.ModelNamer = (*Client)(nil)
)

// New builds a client from s. An empty APIKey sends no credential header
// (for local proxies that speak the Messages API).
func New(s provider.Settings) (*Client, error) {
	if err := s.Check(); err != nil {
		return nil, err
	}
	base := s.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	name := s.Name
	if name == "" {
		name = "anthropic:" + u.Host
	}
	opts := []option.RequestOption{
		option.WithBaseURL(base),
		option.WithHTTPClient(s.Client()),
		option.WithMaxRetries(0),
	}
	if s.APIKey != "" {
		opts = append(opts, option.WithAPIKey(s.APIKey))
	}
	maxTokens := s.MaxTokens
	if maxTokens == 0 {
		maxTokens = DefaultMaxTokens
	}
	return &Client{
		svc:     anthropic.NewMessageService(opts...),
		name:    name,
		model:   s.Model,
		max:     maxTokens,
		timeout: s.Timeout,
		now:     s.Clock(),
	}, nil
}

// ModelName is the configured model.
func (c *Client) ModelName() string { return c.model }

// Name labels this provider in errors and responses.
func (c *Client) Name() string { return c.name }

// Chat sends one request; it streams when req.OnDelta is set.
func (c *Client) Chat(ctx context.Context, req engine.ChatRequest) (*engine.ChatResponse, error) {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	params, perr := c.params(req)
	if perr != nil {
		return nil, perr
	}
	capt := &provider.Capture{Stream: req.OnDelta != nil, Provider: c.name}
	var (
		resp *engine.ChatResponse
		err  *provider.Error
	)
	if req.OnDelta != nil {
		resp, err = c.stream(ctx, params, capt, req.OnDelta)
	} else {
		resp, err = c.complete(ctx, params, capt)
	}
	if err != nil {
		return nil, err
	}
	if resp.Model == "" {
		resp.Model = params.Model
	}
	resp.Provider = c.name
	return resp, nil
}

func (c *Client) complete(ctx context.Context, params anthropic.MessageNewParams, capt *provider.Capture) (*engine.ChatResponse, *provider.Error) {
	timeout := c.timeout
	if timeout <= 0 {
		timeout = nonStreamingTimeout
	}
	res, err := c.svc.New(ctx, params, option.WithMiddleware(capt.Middleware), option.WithRequestTimeout(timeout))
	if err != nil {
		return nil, provider.Classify(ctx, capt, err, c.now())
	}
	if res == nil || (len(res.Content) == 0 && res.StopReason == "") {
		return nil, provider.BadResponse(c.name, "the response has no content and no stop reason", nil)
	}
	var text strings.Builder
	msg := engine.ChatMessage{Role: engine.RoleAssistant}
	for _, b := range res.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			if b.Name == "" || b.ID == "" {
				return nil, provider.BadResponse(c.name, "a tool_use block has no id or name", nil)
			}
			msg.ToolCalls = append(msg.ToolCalls, engine.ToolCall{ID: b.ID, Name: b.Name, Arguments: provider.NormalizeArgs(b.Input)})
		}
	}
	msg.Content = text.String()
	u := res.Usage
	return &engine.ChatResponse{
		Message:      msg,
		Usage:        engine.Usage{InputTokens: int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens), OutputTokens: int(u.OutputTokens)},
		FinishReason: finishReason(string(res.StopReason), len(msg.ToolCalls)),
		Model:        res.Model,
	}, nil
}

// finishReason maps Anthropic stop reasons onto the shared vocabulary.
func finishReason(stop string, toolCalls int) string {
	if toolCalls > 0 {
		return provider.FinishToolCalls
	}
	switch stop {
	case "end_turn", "stop_sequence", "pause_turn", "":
		return provider.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return provider.FinishLength
	case "refusal":
		return provider.FinishContentFilter
	case "tool_use":
		return provider.FinishToolCalls
	default:
		return stop
	}
}
