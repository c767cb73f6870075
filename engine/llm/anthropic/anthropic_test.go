package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/anthropic"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/internal/fakellm"
)

func newClient(t testing.TB, f *fakellm.Anthropic, key string) *anthropic.Client {
	t.Helper()
	c, err := anthropic.New(provider.Settings{BaseURL: f.BaseURL(), APIKey: key, Model: "claude-fake", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func user(text string) engine.ChatMessage {
	return engine.ChatMessage{Role: engine.RoleUser, Content: text}
}

func TestPlainAnswer(t *testing.T) {
	f := fakellm.NewAnthropic(t)
	c := newClient(t, f, "sk-ant-test")
	resp, err := c.Chat(context.Background(), engine.ChatRequest{
		System:   "You are Hearth.",
		Messages: []engine.ChatMessage{user("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "echo: hello there" || resp.FinishReason != "stop" || resp.Model != "claude-fake" {
		t.Errorf("resp = %+v", resp)
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens != 3 {
		t.Errorf("usage = %+v", resp.Usage)
	}
	r := f.Requests()[0]
	if r.System != "You are Hearth." || r.APIKey != "sk-ant-test" || r.MaxTokens != anthropic.DefaultMaxTokens || r.Stream {
		t.Errorf("request: system %q key %q max %d stream %v", r.System, r.APIKey, r.MaxTokens, r.Stream)
	}
}

func TestEmptyAPIKeySendsNoKeyHeader(t *testing.T) {
	f := fakellm.NewAnthropic(t)
	c := newClient(t, f, "")
	if _, err := c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}); err != nil {
		t.Fatal(err)
	}
	h := f.Requests()[0].Header
	if _, ok := h["X-Api-Key"]; ok {
		t.Errorf("X-Api-Key sent: %q", h.Get("X-Api-Key"))
	}
}

func TestStreamingDeltasReassembled(t *testing.T) {
	f := fakellm.NewAnthropic(t)
	text := "Streaming works, one word at a time — déjà vu"
	f.SetResponder(fakellm.Script(fakellm.Reply{Text: text}))
	c := newClient(t, f, "")
	var deltas []string
	resp, err := c.Chat(context.Background(), engine.ChatRequest{
		Messages: []engine.ChatMessage{user("go")},
		OnDelta:  func(d string) { deltas = append(deltas, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) < 5 || strings.Join(deltas, "") != text || resp.Message.Content != text {
		t.Errorf("deltas %q, content %q", deltas, resp.Message.Content)
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens == 0 || resp.FinishReason != "stop" {
		t.Errorf("usage %+v finish %q", resp.Usage, resp.FinishReason)
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "sse"}[stream], func(t *testing.T) {
			f := fakellm.NewAnthropic(t)
			f.SetResponder(fakellm.Script(
				fakellm.Reply{Text: "Checking.", ToolCalls: []fakellm.ToolCall{
					{ID: "toolu_time", Name: "time", Args: `{"tz":"Europe/Zürich"}`},
					{ID: "toolu_wx", Name: "weather", Args: `{"city":"Bern","days":[1,2]}`},
				}},
				fakellm.Reply{Text: "Noon, sunny."},
			))
			c := newClient(t, f, "")
			tools := []engine.ToolSpec{
				{Name: "time", Description: "current time", Parameters: json.RawMessage(
					`{"type":"object","properties":{"tz":{"type":"string"}},"required":["tz"],"additionalProperties":false}`)},
				{Name: "weather"},
			}
			req := engine.ChatRequest{System: "sys", Messages: []engine.ChatMessage{user("time and weather?")}, Tools: tools}
			if stream {
				req.OnDelta = func(string) {}
			}
			resp, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			calls := resp.Message.ToolCalls
			if len(calls) != 2 || resp.FinishReason != "tool_calls" || resp.Message.Content != "Checking." {
				t.Fatalf("resp = %+v", resp)
			}
			if calls[0].ID != "toolu_time" || calls[0].Name != "time" || string(calls[0].Arguments) != `{"tz":"Europe/Zürich"}` ||
				calls[1].ID != "toolu_wx" || string(calls[1].Arguments) != `{"city":"Bern","days":[1,2]}` {
				t.Errorf("calls = %+v", calls)
			}
			req.Messages = append(req.Messages, resp.Message,
				engine.ChatMessage{Role: engine.RoleTool, ToolCallID: calls[0].ID, Name: "time", Content: "12:00"},
				engine.ChatMessage{Role: engine.RoleTool, ToolCallID: calls[1].ID, Name: "weather", Content: "sunny"},
			)
			resp, err = c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "Noon, sunny." {
				t.Errorf("final = %q", resp.Message.Content)
			}
			second := f.Requests()[1]
			res := second.ToolResults()
			if len(res) != 2 || res[0].ToolCallID != "toolu_time" || res[0].Content != "12:00" || res[1].ToolCallID != "toolu_wx" {
				t.Errorf("tool results = %+v", res)
			}
			var schema map[string]any
			if err := json.Unmarshal(second.Tools[0].Parameters, &schema); err != nil || schema["additionalProperties"] != false || schema["type"] != "object" {
				t.Errorf("schema sent = %s", second.Tools[0].Parameters)
			}
		})
	}
}

func TestConsecutiveRolesMerged(t *testing.T) {
	f := fakellm.NewAnthropic(t)
	c := newClient(t, f, "")
	// The fake answers 400 and fails the test if roles do not alternate,
	// if a tool_result does not answer the previous tool_use, or if text
	// precedes tool results.
	msgs := []engine.ChatMessage{
		{Role: engine.RoleSystem, Content: "extra system"},
		user("first"),
		user("second"),
		{Role: engine.RoleAssistant, Content: "calling", ToolCalls: []engine.ToolCall{{ID: "t1", Name: "a", Arguments: json.RawMessage(`{}`)}}},
		{Role: engine.RoleAssistant, ToolCalls: []engine.ToolCall{{ID: "t2", Name: "b"}}},
		{Role: engine.RoleTool, ToolCallID: "t1", Content: "r1"},
		user("and also this"),
		{Role: engine.RoleTool, ToolCallID: "t2", Content: ""},
		{Role: engine.RoleAssistant, Content: ""},
	}
	if _, err := c.Chat(context.Background(), engine.ChatRequest{System: "main", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	r := f.Requests()[0]
	if r.System != "main\n\nextra system" {
		t.Errorf("system = %q", r.System)
	}
	var roles []string
	for _, m := range r.Messages {
		roles = append(roles, m.Role)
	}
	if got := strings.Join(roles, ","); got != "user,assistant,tool,tool,user" {
		t.Errorf("roles = %s", got)
	}
	if r.Messages[0].Content != "firstsecond" || len(r.Messages[1].ToolCalls) != 2 || r.Messages[4].Content != "and also this" {
		t.Errorf("messages = %+v", r.Messages)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     fakellm.Reply
		stream    bool
		kind      provider.Kind
		status    int
		retryable bool
		after     time.Duration
	}{
		{name: "429", reply: fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "3"}},
			kind: provider.KindRateLimited, status: 429, retryable: true, after: 3 * time.Second},
		{name: "529 overloaded streamed", stream: true, reply: fakellm.Reply{Status: 529},
			kind: provider.KindUnavailable, status: 529, retryable: true},
		{name: "503 text body", reply: fakellm.Reply{Status: 503, Raw: "upstream down", ContentType: "text/plain"},
			kind: provider.KindUnavailable, status: 503, retryable: true},
		{name: "401", reply: fakellm.Reply{Status: 401}, kind: provider.KindAuth, status: 401},
		{name: "invalid json", reply: fakellm.Reply{Raw: `{"content":[`}, kind: provider.KindBadResponse},
		{name: "empty object", reply: fakellm.Reply{Raw: `{}`}, kind: provider.KindBadResponse},
		{name: "html", reply: fakellm.Reply{Raw: "<html/>", ContentType: "text/html"}, kind: provider.KindBadResponse},
		{name: "truncated stream", stream: true, reply: fakellm.Reply{Text: "half an", Truncate: true}, kind: provider.KindBadResponse},
		{name: "error event", stream: true, reply: fakellm.Reply{ContentType: "text/event-stream",
			Raw: "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"},
			kind: provider.KindStream, retryable: true},
		{name: "delta before start", stream: true, reply: fakellm.Reply{ContentType: "text/event-stream",
			Raw: "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n"},
			kind: provider.KindBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakellm.NewAnthropic(t)
			f.SetResponder(fakellm.Script(tt.reply))
			c := newClient(t, f, "sk-ant-secret")
			req := engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}
			if tt.stream {
				req.OnDelta = func(string) {}
			}
			_, err := c.Chat(context.Background(), req)
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if pe.Kind != tt.kind || pe.Status != tt.status || pe.Retryable != tt.retryable || pe.RetryAfter != tt.after {
				t.Errorf("got %s %d %v %v, want %s %d %v %v", pe.Kind, pe.Status, pe.Retryable, pe.RetryAfter,
					tt.kind, tt.status, tt.retryable, tt.after)
			}
			if strings.Contains(pe.Error(), "sk-ant-secret") || strings.Contains(pe.Error(), f.URL()) {
				t.Errorf("error leaks: %q", pe.Error())
			}
		})
	}
}

func TestHangEndsAtDeadline(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f := fakellm.NewAnthropic(t)
		f.SetResponder(fakellm.Script(fakellm.Reply{Hang: true}))
		c := newClient(t, f, "")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req := engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}
		if stream {
			req.OnDelta = func(string) {}
		}
		_, err := c.Chat(ctx, req)
		cancel()
		var pe *provider.Error
		if !errors.As(err, &pe) || pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stream=%v: err = %v", stream, err)
		}
	}
}

func TestInvalidRequestsAreNotSent(t *testing.T) {
	tests := map[string]engine.ChatRequest{
		"no messages":       {},
		"only empty":        {Messages: []engine.ChatMessage{user(""), {Role: engine.RoleSystem, Content: "s"}}},
		"tool without id":   {Messages: []engine.ChatMessage{user("x"), {Role: engine.RoleTool, Content: "r"}}},
		"schema not object": {Messages: []engine.ChatMessage{user("x")}, Tools: []engine.ToolSpec{{Name: "t", Parameters: json.RawMessage(`{"type":"string"}`)}}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			f := fakellm.NewAnthropic(t)
			c := newClient(t, f, "")
			_, err := c.Chat(context.Background(), req)
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Kind != provider.KindInvalidRequest {
				t.Errorf("err = %v", err)
			}
			if f.Count() != 0 {
				t.Errorf("%d requests sent", f.Count())
			}
		})
	}
}

func BenchmarkChatRoundTrip(b *testing.B) {
	f := fakellm.NewAnthropic(b)
	c := newClient(b, f, "")
	f.SetResponder(func(fakellm.Request) fakellm.Reply { return fakellm.Reply{Text: "ok"} })
	req := engine.ChatRequest{System: "You are Hearth.", Messages: []engine.ChatMessage{user("hello")}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
