package anthropic

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/anthropics/anthropic-sdk-go"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
)

// params maps an engine request onto Messages API parameters.
func (c *Client) params(req engine.ChatRequest) (anthropic.MessageNewParams, *provider.Error) {
	p := anthropic.MessageNewParams{Model: c.model, MaxTokens: int64(c.max)}
	if req.Model != "" {
		p.Model = req.Model
	}
	if req.MaxTokens > 0 {
		p.MaxTokens = int64(req.MaxTokens)
	}
	if req.Temperature != nil {
		p.Temperature = anthropic.Float(*req.Temperature)
	}
	system, msgs, err := c.messages(req)
	if err != nil {
		return p, err
	}
	if system != "" {
		p.System = []anthropic.TextBlockParam{{Text: system}}
	}
	p.Messages = msgs
	tools, err := c.tools(req.Tools)
	if err != nil {
		return p, err
	}
	p.Tools = tools
	return p, nil
}

// messages builds the system prompt and the alternating user/assistant
// turns: consecutive messages of one role are merged, tool results become
// tool_result blocks of a user turn (placed before any text, as the API
// requires), empty text is dropped (the API rejects empty text blocks).
func (c *Client) messages(req engine.ChatRequest) (string, []anthropic.MessageParam, *provider.Error) {
	var system []string
	if req.System != "" {
		system = append(system, req.System)
	}
	var turns []anthropic.MessageParam
	add := func(role anthropic.MessageParamRole, blocks ...anthropic.ContentBlockParamUnion) {
		if len(blocks) == 0 {
			return
		}
		if n := len(turns); n > 0 && turns[n-1].Role == role {
			turns[n-1].Content = append(turns[n-1].Content, blocks...)
			return
		}
		turns = append(turns, anthropic.MessageParam{Role: role, Content: blocks})
	}
	for i, m := range req.Messages {
		switch m.Role {
		case engine.RoleSystem:
			if m.Content != "" {
				system = append(system, m.Content)
			}
		case engine.RoleUser:
			if m.Content != "" {
				add(anthropic.MessageParamRoleUser, anthropic.NewTextBlock(m.Content))
			}
		case engine.RoleAssistant:
			var blocks []anthropic.ContentBlockParamUnion
			if m.Content != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Content))
			}
			for _, tc := range m.ToolCalls {
				blocks = append(blocks, anthropic.NewToolUseBlock(tc.ID, provider.ArgsObject(tc.Arguments), tc.Name))
			}
			add(anthropic.MessageParamRoleAssistant, blocks...)
		case engine.RoleTool:
			if m.ToolCallID == "" {
				return "", nil, provider.Invalid(c.name, fmt.Sprintf("message %d is a tool result without tool_call_id", i))
			}
			result := anthropic.ToolResultBlockParam{ToolUseID: m.ToolCallID}
			if m.Content != "" {
				result.Content = []anthropic.ToolResultBlockParamContentUnion{{OfText: &anthropic.TextBlockParam{Text: m.Content}}}
			}
			add(anthropic.MessageParamRoleUser, anthropic.ContentBlockParamUnion{OfToolResult: &result})
		default:
			return "", nil, provider.Invalid(c.name, fmt.Sprintf("message %d has unknown role %q", i, m.Role))
		}
	}
	if len(turns) == 0 {
		return "", nil, provider.Invalid(c.name, "the request has no non-empty user or assistant messages")
	}
	for i := range turns {
		if turns[i].Role == anthropic.MessageParamRoleUser {
			turns[i].Content = toolResultsFirst(turns[i].Content)
		}
	}
	return strings.Join(system, "\n\n"), turns, nil
}

func toolResultsFirst(blocks []anthropic.ContentBlockParamUnion) []anthropic.ContentBlockParamUnion {
	out := make([]anthropic.ContentBlockParamUnion, 0, len(blocks))
	for _, b := range blocks {
		if b.OfToolResult != nil {
			out = append(out, b)
		}
	}
	for _, b := range blocks {
		if b.OfToolResult == nil {
			out = append(out, b)
		}
	}
	return out
}

func (c *Client) tools(specs []engine.ToolSpec) ([]anthropic.ToolUnionParam, *provider.Error) {
	if len(specs) == 0 {
		return nil, nil
	}
	out := make([]anthropic.ToolUnionParam, 0, len(specs))
	for _, t := range specs {
		if t.Name == "" {
			return nil, provider.Invalid(c.name, "a tool has no name")
		}
		schema, err := inputSchema(t.Parameters)
		if err != nil {
			return nil, provider.Invalid(c.name, fmt.Sprintf("tool %q: %v", t.Name, err))
		}
		tool := anthropic.ToolParam{Name: t.Name, InputSchema: schema}
		if t.Description != "" {
			tool.Description = anthropic.String(t.Description)
		}
		out = append(out, anthropic.ToolUnionParam{OfTool: &tool})
	}
	return out, nil
}

// inputSchema splits a JSON Schema object into the SDK's typed fields and
// passes everything else ($defs, additionalProperties, ...) through.
func inputSchema(raw json.RawMessage) (anthropic.ToolInputSchemaParam, error) {
	var s anthropic.ToolInputSchemaParam
	if len(raw) == 0 || string(raw) == "null" {
		s.Properties = map[string]any{}
		return s, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return s, fmt.Errorf("parameters are not a JSON object")
	}
	if t, ok := m["type"]; ok && t != "object" {
		return s, fmt.Errorf("parameters must have type \"object\", got %v", t)
	}
	s.Properties = m["properties"]
	if s.Properties == nil {
		s.Properties = map[string]any{}
	}
	if req, ok := m["required"].([]any); ok {
		for _, r := range req {
			if name, ok := r.(string); ok {
				s.Required = append(s.Required, name)
			}
		}
	}
	for k, v := range m {
		switch k {
		case "type", "properties", "required":
			continue
		}
		if s.ExtraFields == nil {
			s.ExtraFields = map[string]any{}
		}
		s.ExtraFields[k] = v
	}
	return s, nil
}
