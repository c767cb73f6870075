package fakellm

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// maxBody bounds request bodies the fakes accept.
const maxBody = 32 << 20

// created is the fixed timestamp the fakes report (deterministic output).
const created = 1700000000

// OpenAI is a fake OpenAI-compatible server: /v1/chat/completions (JSON
// and SSE), /v1/models, /v1/embeddings, and Ollama's /api/tags.
type OpenAI struct {
	base

	emu      sync.Mutex
	models   []string
	dim      int
	embedder Embedder
	embeds   []EmbedRequest
}

// NewOpenAI starts a fake OpenAI-compatible server on 127.0.0.1 that
// answers with EchoLast until SetResponder is called. It stops when the
// test ends.
func NewOpenAI(t testing.TB) *OpenAI {
	t.Helper()
	f := &OpenAI{models: []string{"fake-model"}, dim: DefaultDimensions}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", f.chat)
	mux.HandleFunc("GET /v1/models", f.listModels)
	mux.HandleFunc("POST /v1/embeddings", f.embeddings)
	mux.HandleFunc("GET /api/tags", f.tags)
	f.start(t, mux)
	return f
}

// BaseURL is the base the OpenAI SDK expects: URL() + "/v1".
func (f *OpenAI) BaseURL() string { return f.URL() + "/v1" }

// SetModels sets the models /v1/models and /api/tags list ("fake-model" by default).
func (f *OpenAI) SetModels(names ...string) {
	f.emu.Lock()
	f.models = append([]string(nil), names...)
	f.emu.Unlock()
}

type oaToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []oaToolCall    `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type oaRequest struct {
	Model    string      `json:"model"`
	Messages []oaMessage `json:"messages"`
	Tools    []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	} `json:"tools"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           int      `json:"max_tokens"`
	MaxCompletionTokens int      `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
}

// oaContent reads content that is a string, null or an array of parts.
func oaContent(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("content is neither a string nor an array of parts")
	}
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// parseOpenAI decodes and checks a chat request into the neutral form.
func parseOpenAI(r *http.Request, body []byte) (Request, error) {
	var in oaRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return Request{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if in.Model == "" {
		return Request{}, fmt.Errorf("model is missing")
	}
	if len(in.Messages) == 0 {
		return Request{}, fmt.Errorf("messages are missing")
	}
	req := Request{API: "openai", Model: in.Model, Stream: in.Stream, Temperature: in.Temperature,
		MaxTokens: in.MaxTokens, Header: r.Header.Clone(), Body: body}
	if in.MaxCompletionTokens > 0 {
		req.MaxTokens = in.MaxCompletionTokens
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.APIKey = strings.TrimPrefix(auth, "Bearer ")
	}
	var system []string
	pending := map[string]bool{} // tool calls of the last assistant message not yet answered
	for i, m := range in.Messages {
		text, err := oaContent(m.Content)
		if err != nil {
			return Request{}, fmt.Errorf("messages[%d]: %v", i, err)
		}
		switch m.Role {
		case "system", "developer":
			system = append(system, text)
		case "user":
			if err := unanswered(pending); err != nil {
				return Request{}, fmt.Errorf("messages[%d]: %v", i, err)
			}
			req.Messages = append(req.Messages, Message{Role: "user", Content: text})
		case "assistant":
			if err := unanswered(pending); err != nil {
				return Request{}, fmt.Errorf("messages[%d]: %v", i, err)
			}
			msg := Message{Role: "assistant", Content: text}
			for j, tc := range m.ToolCalls {
				if tc.ID == "" || tc.Function.Name == "" {
					return Request{}, fmt.Errorf("messages[%d].tool_calls[%d]: id and function.name are required", i, j)
				}
				if !json.Valid([]byte(argsOrEmpty(tc.Function.Arguments))) {
					return Request{}, fmt.Errorf("messages[%d].tool_calls[%d]: arguments are not valid JSON", i, j)
				}
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Args: tc.Function.Arguments})
				pending[tc.ID] = true
			}
			req.Messages = append(req.Messages, msg)
		case "tool":
			if !pending[m.ToolCallID] {
				return Request{}, fmt.Errorf("messages[%d]: role 'tool' must answer a tool call of the preceding assistant message (tool_call_id %q)", i, m.ToolCallID)
			}
			delete(pending, m.ToolCallID)
			req.Messages = append(req.Messages, Message{Role: "tool", Content: text, ToolCallID: m.ToolCallID})
		default:
			return Request{}, fmt.Errorf("messages[%d]: unknown role %q", i, m.Role)
		}
	}
	if err := unanswered(pending); err != nil {
		return Request{}, fmt.Errorf("end of messages: %v", err)
	}
	req.System = strings.Join(system, "\n\n")
	req.includeUsage = in.StreamOptions != nil && in.StreamOptions.IncludeUsage
	for i, t := range in.Tools {
		if t.Type != "function" || t.Function.Name == "" {
			return Request{}, fmt.Errorf("tools[%d]: type must be function and function.name is required", i)
		}
		req.Tools = append(req.Tools, Tool{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters})
	}
	return req, nil
}

// unanswered reports tool calls of the previous assistant message that got
// no tool message before the conversation moved on.
func unanswered(pending map[string]bool) error {
	if len(pending) == 0 {
		return nil
	}
	ids := make([]string, 0, len(pending))
	for id := range pending {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return fmt.Errorf("tool calls %v of the preceding assistant message have no tool result", ids)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, `{"error":{"message":"cannot read body"}}`, http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

func (f *OpenAI) chat(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req, err := parseOpenAI(r, body)
	if err != nil {
		f.violation(w, "openai chat: %v", err)
		return
	}
	reply, seq := f.record(req)
	if !f.wait(r, reply) {
		return
	}
	writeHeaders(w, reply)
	if isError(reply) && reply.Raw == "" {
		oaError(w, reply.Status)
		return
	}
	if writeRaw(w, reply) {
		return
	}
	id := "chatcmpl-" + strconv.Itoa(seq)
	model := req.Model
	if reply.Model != "" {
		model = reply.Model
	}
	calls := withIDs(reply.ToolCalls, "call_", seq)
	if req.Stream {
		oaStream(w, req, reply, calls, id, model, req.includeUsage)
		return
	}
	in, out := usage(req, reply)
	msg := map[string]any{"role": "assistant", "content": nil}
	if reply.Text != "" || len(calls) == 0 {
		msg["content"] = reply.Text
	}
	if len(calls) > 0 {
		tcs := make([]oaToolCall, len(calls))
		for i, c := range calls {
			tcs[i].ID, tcs[i].Type = c.ID, "function"
			tcs[i].Function.Name, tcs[i].Function.Arguments = c.Name, c.Args
		}
		msg["tool_calls"] = tcs
	}
	writeJSON(w, map[string]any{
		"id": id, "object": "chat.completion", "created": created, "model": model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": oaFinish(reply, calls), "logprobs": nil}},
		"usage":   map[string]int{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out},
	})
}

func oaFinish(reply Reply, calls []ToolCall) string {
	switch {
	case reply.FinishReason != "":
		return reply.FinishReason
	case len(calls) > 0:
		return "tool_calls"
	default:
		return "stop"
	}
}

// oaStream writes the answer as chat.completion.chunk SSE events: a role
// chunk, text pieces, tool calls (name first, then argument fragments),
// a finish chunk, an optional usage chunk, then [DONE].
func oaStream(w http.ResponseWriter, req Request, reply Reply, calls []ToolCall, id, model string, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	chunk := func(delta map[string]any, finish any, usage any) {
		c := map[string]any{
			"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}},
		}
		if delta == nil {
			c["choices"] = []any{}
		}
		if usage != nil {
			c["usage"] = usage
		}
		writeEvent(w, fl, "", c)
	}
	chunk(map[string]any{"role": "assistant", "content": ""}, nil, nil)
	for _, p := range pieces(reply.Text) {
		chunk(map[string]any{"content": p}, nil, nil)
	}
	for i, c := range calls {
		chunk(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": c.ID, "type": "function",
			"function": map[string]any{"name": c.Name, "arguments": ""},
		}}}, nil, nil)
		for _, frag := range fragments(c.Args, 7) {
			chunk(map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "function": map[string]any{"arguments": frag},
			}}}, nil, nil)
		}
	}
	if reply.Truncate {
		return
	}
	chunk(map[string]any{}, oaFinish(reply, calls), nil)
	if includeUsage {
		in, out := usage(req, reply)
		chunk(nil, nil, map[string]int{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}

func oaError(w http.ResponseWriter, status int) {
	typ, code := "server_error", "server_error"
	switch {
	case status == http.StatusTooManyRequests:
		typ, code = "requests", "rate_limit_exceeded"
	case status == http.StatusUnauthorized:
		typ, code = "invalid_request_error", "invalid_api_key"
	case status < 500:
		typ, code = "invalid_request_error", "invalid_request"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"message": fmt.Sprintf("fakellm: scripted status %d", status), "type": typ, "param": nil, "code": code,
	}})
}

func (f *OpenAI) listModels(w http.ResponseWriter, _ *http.Request) {
	f.emu.Lock()
	models := append([]string(nil), f.models...)
	f.emu.Unlock()
	data := make([]any, len(models))
	for i, m := range models {
		data[i] = map[string]any{"id": m, "object": "model", "created": created, "owned_by": "fakellm"}
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

// tags answers Ollama's GET /api/tags with the same models.
func (f *OpenAI) tags(w http.ResponseWriter, _ *http.Request) {
	f.emu.Lock()
	models := append([]string(nil), f.models...)
	f.emu.Unlock()
	list := make([]any, len(models))
	for i, m := range models {
		list[i] = map[string]any{"name": m, "model": m, "size": 1 << 30, "digest": fmt.Sprintf("%064x", i)}
	}
	writeJSON(w, map[string]any{"models": list})
}

// withIDs fills missing tool-call ids with prefix + seq + index.
func withIDs(calls []ToolCall, prefix string, seq int) []ToolCall {
	out := make([]ToolCall, len(calls))
	for i, c := range calls {
		if c.ID == "" {
			c.ID = prefix + strconv.Itoa(seq) + "_" + strconv.Itoa(i)
		}
		out[i] = c
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// writeEvent writes one SSE event (with an event: line when name is set).
func writeEvent(w io.Writer, fl http.Flusher, name string, v any) {
	b, _ := json.Marshal(v)
	var buf strings.Builder
	if name != "" {
		buf.WriteString("event: ")
		buf.WriteString(name)
		buf.WriteString("\n")
	}
	buf.WriteString("data: ")
	buf.Write(b)
	buf.WriteString("\n\n")
	_, _ = io.WriteString(w, buf.String())
	if fl != nil {
		fl.Flush()
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
