package fakellm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// Anthropic is a fake Anthropic Messages API server: POST /v1/messages,
// JSON and SSE (message_start, content_block_start/delta/stop,
// message_delta, message_stop, with ping events), tool_use blocks.
type Anthropic struct {
	base
}

// NewAnthropic starts a fake Anthropic server on 127.0.0.1 that answers
// with EchoLast until SetResponder is called. It stops when the test ends.
func NewAnthropic(t testing.TB) *Anthropic {
	t.Helper()
	f := &Anthropic{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/messages", f.messages)
	f.start(t, mux)
	return f
}

// BaseURL is the base the Anthropic SDK expects (the server root; the SDK adds /v1/messages).
func (f *Anthropic) BaseURL() string { return f.URL() }

type anBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	IsError   bool            `json:"is_error"`
}

type anRequest struct {
	Model     string          `json:"model"`
	MaxTokens int             `json:"max_tokens"`
	System    json.RawMessage `json:"system"`
	Messages  []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	Tools []struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
	Stream      bool     `json:"stream"`
	Temperature *float64 `json:"temperature"`
}

// anBlocks reads content that is a string or an array of blocks.
func anBlocks(raw json.RawMessage) ([]anBlock, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []anBlock{{Type: "text", Text: &s}}, nil
	}
	var blocks []anBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, fmt.Errorf("content is neither a string nor an array of blocks")
	}
	return blocks, nil
}

// anText joins the text of a string or an array of text blocks.
func anText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	blocks, err := anBlocks(raw)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Type != "text" || bl.Text == nil {
			return "", fmt.Errorf("expected text blocks, got %q", bl.Type)
		}
		b.WriteString(*bl.Text)
	}
	return b.String(), nil
}

// parseAnthropic decodes and checks a Messages request the way the API does.
func parseAnthropic(r *http.Request, body []byte) (Request, error) {
	if r.Header.Get("anthropic-version") == "" {
		return Request{}, fmt.Errorf("anthropic-version header is missing")
	}
	var in anRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return Request{}, fmt.Errorf("invalid JSON: %v", err)
	}
	switch {
	case in.Model == "":
		return Request{}, fmt.Errorf("model is missing")
	case in.MaxTokens <= 0:
		return Request{}, fmt.Errorf("max_tokens must be a positive integer")
	case len(in.Messages) == 0:
		return Request{}, fmt.Errorf("messages are missing")
	}
	system, err := anText(in.System)
	if err != nil {
		return Request{}, fmt.Errorf("system: %v", err)
	}
	req := Request{API: "anthropic", Model: in.Model, System: system, Stream: in.Stream, MaxTokens: in.MaxTokens,
		Temperature: in.Temperature, APIKey: r.Header.Get("X-Api-Key"), Header: r.Header.Clone(), Body: body}
	var pending map[string]bool // tool_use ids of the previous assistant turn
	for i, m := range in.Messages {
		if i > 0 && in.Messages[i-1].Role == m.Role {
			return Request{}, fmt.Errorf("messages[%d]: roles must alternate between user and assistant, got two %q in a row", i, m.Role)
		}
		blocks, err := anBlocks(m.Content)
		if err != nil {
			return Request{}, fmt.Errorf("messages[%d]: %v", i, err)
		}
		if len(blocks) == 0 {
			return Request{}, fmt.Errorf("messages[%d]: content is empty", i)
		}
		switch m.Role {
		case "user":
			msgs, err := anUser(i, blocks, pending)
			if err != nil {
				return Request{}, err
			}
			req.Messages = append(req.Messages, msgs...)
			pending = nil
		case "assistant":
			if len(pending) > 0 {
				return Request{}, fmt.Errorf("messages[%d]: tool_use ids were found without tool_result blocks immediately after", i)
			}
			msg, ids, err := anAssistant(i, blocks)
			if err != nil {
				return Request{}, err
			}
			req.Messages = append(req.Messages, msg)
			pending = ids
		default:
			return Request{}, fmt.Errorf("messages[%d]: role must be user or assistant, got %q", i, m.Role)
		}
	}
	for i, t := range in.Tools {
		var schema struct {
			Type string `json:"type"`
		}
		if t.Name == "" || json.Unmarshal(t.InputSchema, &schema) != nil || schema.Type != "object" {
			return Request{}, fmt.Errorf("tools[%d]: name and an input_schema of type object are required", i)
		}
		req.Tools = append(req.Tools, Tool{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	return req, nil
}

// anUser turns a user turn into tool messages (one per tool_result, which
// must come first and answer exactly the previous tool_use ids) and a user
// message for its text.
func anUser(i int, blocks []anBlock, pending map[string]bool) ([]Message, error) {
	var out []Message
	var text strings.Builder
	sawText := false
	answered := map[string]bool{}
	for j, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text == nil || *b.Text == "" {
				return nil, fmt.Errorf("messages[%d].content[%d]: text content blocks must be non-empty", i, j)
			}
			text.WriteString(*b.Text)
			sawText = true
		case "tool_result":
			if sawText {
				return nil, fmt.Errorf("messages[%d].content[%d]: tool_result blocks must come before any text", i, j)
			}
			if !pending[b.ToolUseID] {
				return nil, fmt.Errorf("messages[%d].content[%d]: tool_result for %q has no matching tool_use in the previous message", i, j, b.ToolUseID)
			}
			content, err := anText(b.Content)
			if err != nil {
				return nil, fmt.Errorf("messages[%d].content[%d]: %v", i, j, err)
			}
			answered[b.ToolUseID] = true
			out = append(out, Message{Role: "tool", ToolCallID: b.ToolUseID, Content: content, IsError: b.IsError})
		default:
			return nil, fmt.Errorf("messages[%d].content[%d]: unexpected block type %q in a user message", i, j, b.Type)
		}
	}
	for id := range pending {
		if !answered[id] {
			return nil, fmt.Errorf("messages[%d]: tool_use %q has no tool_result immediately after", i, id)
		}
	}
	if sawText {
		out = append(out, Message{Role: "user", Content: text.String()})
	}
	return out, nil
}

func anAssistant(i int, blocks []anBlock) (Message, map[string]bool, error) {
	msg := Message{Role: "assistant"}
	ids := map[string]bool{}
	var text strings.Builder
	for j, b := range blocks {
		switch b.Type {
		case "text":
			if b.Text == nil || *b.Text == "" {
				return msg, nil, fmt.Errorf("messages[%d].content[%d]: text content blocks must be non-empty", i, j)
			}
			text.WriteString(*b.Text)
		case "tool_use":
			var obj map[string]any
			if b.ID == "" || b.Name == "" || json.Unmarshal(b.Input, &obj) != nil || obj == nil {
				return msg, nil, fmt.Errorf("messages[%d].content[%d]: tool_use needs id, name and an object input", i, j)
			}
			ids[b.ID] = true
			msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Args: string(b.Input)})
		default:
			return msg, nil, fmt.Errorf("messages[%d].content[%d]: unexpected block type %q in an assistant message", i, j, b.Type)
		}
	}
	msg.Content = text.String()
	return msg, ids, nil
}

func (f *Anthropic) messages(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := parseAnthropic(r, body)
	if err != nil {
		f.violation(w, "anthropic messages: %v", err)
		return
	}
	reply, seq := f.record(req)
	if !f.wait(r, reply) {
		return
	}
	writeHeaders(w, reply)
	if isError(reply) && reply.Raw == "" {
		anError(w, reply.Status)
		return
	}
	if writeRaw(w, reply) {
		return
	}
	id := "msg_fake" + strconv.Itoa(seq)
	model := req.Model
	if reply.Model != "" {
		model = reply.Model
	}
	calls := withIDs(reply.ToolCalls, "toolu_fake", seq)
	if req.Stream {
		anStream(w, req, reply, calls, id, model)
		return
	}
	var content []any
	if reply.Text != "" {
		content = append(content, map[string]any{"type": "text", "text": reply.Text})
	}
	for _, c := range calls {
		content = append(content, map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": anInput(c.Args)})
	}
	if content == nil {
		content = []any{}
	}
	in, out := usage(req, reply)
	writeJSON(w, map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": content,
		"stop_reason": anStop(reply, calls), "stop_sequence": nil,
		"usage": map[string]int{"input_tokens": in, "output_tokens": out},
	})
}

// anInput is a tool call's arguments as a JSON value (invalid JSON is sent
// as a string so the body stays valid).
func anInput(args string) json.RawMessage {
	args = argsOrEmpty(args)
	if json.Valid([]byte(args)) {
		return json.RawMessage(args)
	}
	return json.RawMessage(quote(args))
}

func anStop(reply Reply, calls []ToolCall) string {
	switch reply.FinishReason {
	case "":
	case "stop":
		return "end_turn"
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	case "content_filter":
		return "refusal"
	default:
		return reply.FinishReason
	}
	if len(calls) > 0 {
		return "tool_use"
	}
	return "end_turn"
}

// anStream writes the answer as the Messages SSE event sequence.
func anStream(w http.ResponseWriter, req Request, reply Reply, calls []ToolCall, id, model string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	in, out := usage(req, reply)
	writeEvent(w, fl, "message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": id, "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]int{"input_tokens": in, "output_tokens": 1},
	}})
	writeEvent(w, fl, "ping", map[string]any{"type": "ping"})
	index := 0
	if reply.Text != "" {
		writeEvent(w, fl, "content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""}})
		for _, p := range pieces(reply.Text) {
			writeEvent(w, fl, "content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "text_delta", "text": p}})
		}
		writeEvent(w, fl, "content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	for _, c := range calls {
		writeEvent(w, fl, "content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": c.ID, "name": c.Name, "input": map[string]any{}}})
		for _, frag := range fragments(c.Args, 7) {
			writeEvent(w, fl, "content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": frag}})
		}
		writeEvent(w, fl, "content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	if reply.Truncate {
		return
	}
	writeEvent(w, fl, "message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": anStop(reply, calls), "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": out}})
	writeEvent(w, fl, "message_stop", map[string]any{"type": "message_stop"})
}

func anError(w http.ResponseWriter, status int) {
	typ := "api_error"
	switch status {
	case http.StatusBadRequest:
		typ = "invalid_request_error"
	case http.StatusUnauthorized:
		typ = "authentication_error"
	case http.StatusForbidden:
		typ = "permission_error"
	case http.StatusNotFound:
		typ = "not_found_error"
	case http.StatusRequestEntityTooLarge:
		typ = "request_too_large"
	case http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case 529:
		typ = "overloaded_error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]any{
		"type": typ, "message": fmt.Sprintf("fakellm: scripted status %d", status),
	}})
}
