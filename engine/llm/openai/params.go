package openai

import (
	"encoding/json"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// params maps an engine request onto chat-completion parameters.
func (c *Client) params(req engine.ChatRequest) (openai.ChatCompletionNewParams, *provider.Error) {
	var p openai.ChatCompletionNewParams
	if len(req.Messages) == 0 {
		return p, provider.Invalid(c.name, "the request has no messages")
	}
	p.Model = shared.ChatModel(c.model)
	if req.Model != "" {
		p.Model = shared.ChatModel(req.Model)
	}
	msgs, err := c.messages(req)
	if err != nil {
		return p, err
	}
	p.Messages = msgs
	tools, err := c.tools(req.Tools)
	if err != nil {
		return p, err
	}
	p.Tools = tools
	if n := c.maxTokens(req); n > 0 {
		if c.completionTokens {
			p.MaxCompletionTokens = openai.Int(int64(n))
		} else {
			p.MaxTokens = openai.Int(int64(n))
		}
	}
	if req.Temperature != nil {
		p.Temperature = openai.Float(*req.Temperature)
	}
	if req.OnDelta != nil {
		p.StreamOptions.IncludeUsage = openai.Bool(true)
	}
	return p, nil
}

func (c *Client) maxTokens(req engine.ChatRequest) int {
	if req.MaxTokens > 0 {
		return req.MaxTokens
	}
	return c.max
}

func (c *Client) messages(req engine.ChatRequest) ([]openai.ChatCompletionMessageParamUnion, *provider.Error) {
	out := make([]openai.ChatCompletionMessageParamUnion, 0, len(req.Messages)+1)
	if req.System != "" {
		out = append(out, openai.SystemMessage(req.System))
	}
	for i, m := range req.Messages {
		switch m.Role {
		case engine.RoleSystem:
			out = append(out, openai.SystemMessage(m.Content))
		case engine.RoleUser:
			out = append(out, openai.UserMessage(m.Content))
		case engine.RoleAssistant:
			out = append(out, assistant(m))
		case engine.RoleTool:
			if m.ToolCallID == "" {
				return nil, provider.Invalid(c.name, fmt.Sprintf("message %d is a tool result without tool_call_id", i))
			}
			out = append(out, openai.ToolMessage(m.Content, m.ToolCallID))
		default:
			return nil, provider.Invalid(c.name, fmt.Sprintf("message %d has unknown role %q", i, m.Role))
		}
	}
	return out, nil
}

func assistant(m engine.ChatMessage) openai.ChatCompletionMessageParamUnion {
	var a openai.ChatCompletionAssistantMessageParam
	// An assistant message needs content or tool calls; send "" rather than nothing.
	if m.Content != "" || len(m.ToolCalls) == 0 {
		a.Content.OfString = openai.String(m.Content)
	}
	for _, tc := range m.ToolCalls {
		a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
			OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
				ID: tc.ID,
				Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{
					Name:      tc.Name,
					Arguments: provider.ArgsString(tc.Arguments),
				},
			},
		})
	}
	return openai.ChatCompletionMessageParamUnion{OfAssistant: &a}
}

func (c *Client) tools(specs []engine.ToolSpec) ([]openai.ChatCompletionToolUnionParam, *provider.Error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := make([]openai.ChatCompletionToolUnionParam, 0, len(specs))
	for _, t := range specs {
		if t.Name == "" {
			return nil, provider.Invalid(c.name, "a tool has no name")
		}
		params := shared.FunctionParameters{"type": "object", "properties": map[string]any{}}
		if len(t.Parameters) > 0 && string(t.Parameters) != "null" {
			params = nil
			if err := json.Unmarshal(t.Parameters, &params); err != nil || params == nil {
				return nil, provider.Invalid(c.name, fmt.Sprintf("tool %q: parameters are not a JSON object", t.Name))
			}
		}
		def := shared.FunctionDefinitionParam{Name: t.Name, Parameters: params}
		if t.Description != "" {
			def.Description = openai.String(t.Description)
		}
		out = append(out, openai.ChatCompletionFunctionTool(def))
	}
	return out, nil
}
