// Package openai is an engine.LLM over OpenAI-compatible chat completions,
// built on the official SDK (github.com/openai/openai-go/v3). One client
// serves OpenAI, Ollama, llama.cpp server, vLLM, LM Studio, OpenRouter and
// NEAR AI: only the base URL (and key) differ. It streams when
// ChatRequest.OnDelta is set and assembles streamed tool-call fragments.
//
// The SDK's own retries are disabled: engine/llm retries and fails over
// with an injectable clock. Errors are *provider.Error (llm.Error).
package openai

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// DefaultBaseURL is the hosted OpenAI API.
const DefaultBaseURL = "https://api.openai.com/v1"

// Client is one OpenAI-compatible endpoint. It is safe for concurrent use.
type Client struct {
	svc     openai.ChatCompletionService
	name    string
	model   string
	max     int
	timeout time.Duration
	now     func() time.Time
	// completionTokens sends max_completion_tokens (hosted OpenAI, whose
	// reasoning models reject max_tokens) instead of max_tokens (what local
	// servers understand).
	completionTokens bool
}

var (
	_ engine.LLM        = (*Client)(nil)
	_ engine.ModelNamer = (*Client)(nil)
)

// New builds a client. The SDK reads nothing from the environment: the
// base URL and key come only from s. An empty APIKey sends no
// Authorization header.
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
		name = "openai:" + u.Host
	}
	svc := openai.NewChatCompletionService(
		option.WithBaseURL(base),
		option.WithAPIKey(s.APIKey),
		option.WithHTTPClient(s.Client()),
		option.WithMaxRetries(0),
	)
	return &Client{
		svc:              svc,
		name:             name,
		model:            s.Model,
		max:              s.MaxTokens,
		timeout:          s.Timeout,
		now:              s.Clock(),
		completionTokens: strings.EqualFold(u.Hostname(), "api.openai.com"),
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
		resp.Model = string(params.Model)
	}
	resp.Provider = c.name
	return resp, nil
}

func (c *Client) complete(ctx context.Context, params openai.ChatCompletionNewParams, capt *provider.Capture) (*engine.ChatResponse, *provider.Error) {
	res, err := c.svc.New(ctx, params, option.WithMiddleware(capt.Middleware))
	if err != nil {
		return nil, provider.Classify(ctx, capt, err, c.now())
	}
	if res == nil || len(res.Choices) == 0 {
		return nil, provider.BadResponse(c.name, "the response has no choices", nil)
	}
	choice := res.Choices[0]
	msg := engine.ChatMessage{Role: engine.RoleAssistant, Content: choice.Message.Content}
	for i, tc := range choice.Message.ToolCalls {
		if tc.Type == "custom" {
			return nil, provider.BadResponse(c.name, "the model called a custom tool, which Hearth does not offer", nil)
		}
		call, perr := c.toolCall(i, tc.ID, tc.Function.Name, tc.Function.Arguments)
		if perr != nil {
			return nil, perr
		}
		msg.ToolCalls = append(msg.ToolCalls, call)
	}
	return &engine.ChatResponse{
		Message:      msg,
		Usage:        engine.Usage{InputTokens: int(res.Usage.PromptTokens), OutputTokens: int(res.Usage.CompletionTokens)},
		FinishReason: finishReason(choice.FinishReason, len(msg.ToolCalls)),
		Model:        res.Model,
	}, nil
}

// toolCall validates and normalizes one tool call of the answer.
func (c *Client) toolCall(i int, id, name, args string) (engine.ToolCall, *provider.Error) {
	if name == "" {
		return engine.ToolCall{}, provider.BadResponse(c.name, "a tool call has no function name", nil)
	}
	if id == "" {
		// Some local servers omit ids; the result must still reference the call.
		id = "call_" + strconv.Itoa(i)
	}
	return engine.ToolCall{ID: id, Name: name, Arguments: provider.NormalizeArgs([]byte(args))}, nil
}

func finishReason(reason string, toolCalls int) string {
	if toolCalls > 0 {
		return provider.FinishToolCalls
	}
	if reason == "" {
		return provider.FinishStop
	}
	return reason
}
