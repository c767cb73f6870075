package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/openai"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/internal/fakellm"
)

func newClient(t testing.TB, f *fakellm.OpenAI, key string) *openai.Client {
	t.Helper()
	c, err := openai.New(provider.Settings{BaseURL: f.BaseURL(), APIKey: key, Model: "fake-model", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func user(text string) engine.ChatMessage {
	return engine.ChatMessage{Role: engine.RoleUser, Content: text}
}

func TestPlainAnswer(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	c := newClient(t, f, "sk-test")
	resp, err := c.Chat(context.Background(), engine.ChatRequest{
		System:   "You are Hearth.",
		Messages: []engine.ChatMessage{user("hello there")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "echo: hello there" || resp.Message.Role != engine.RoleAssistant {
		t.Errorf("message = %+v", resp.Message)
	}
	if resp.FinishReason != "stop" || resp.Model != "fake-model" || resp.Provider != c.Name() {
		t.Errorf("finish %q model %q provider %q", resp.FinishReason, resp.Model, resp.Provider)
	}
	if resp.Usage.InputTokens == 0 || resp.Usage.OutputTokens != 3 {
		t.Errorf("usage = %+v", resp.Usage)
	}
	reqs := f.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.System != "You are Hearth." || r.Stream || r.APIKey != "sk-test" || r.Model != "fake-model" {
		t.Errorf("request = system %q stream %v key %q model %q", r.System, r.Stream, r.APIKey, r.Model)
	}
}

func TestEmptyAPIKeySendsNoAuthorization(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	c := newClient(t, f, "")
	if _, err := c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}); err != nil {
		t.Fatal(err)
	}
	if h := f.Requests()[0].Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization = %q, want none", h)
	}
}

func TestRequestOverridesModelAndMaxTokens(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	c := newClient(t, f, "")
	temp := 0.25
	_, err := c.Chat(context.Background(), engine.ChatRequest{
		Model: "other", MaxTokens: 77, Temperature: &temp,
		Messages: []engine.ChatMessage{user("hi")},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := f.Requests()[0]
	if r.Model != "other" || r.MaxTokens != 77 || r.Temperature == nil || *r.Temperature != 0.25 {
		t.Errorf("model %q max %d temp %v", r.Model, r.MaxTokens, r.Temperature)
	}
}

func TestStreamingDeltasReassembled(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	text := "The quick brown fox jumps over the lazy dog — naïve café"
	f.SetResponder(fakellm.Script(fakellm.Reply{Text: text}))
	c := newClient(t, f, "")
	var deltas []string
	resp, err := c.Chat(context.Background(), engine.ChatRequest{
		Messages: []engine.ChatMessage{user("say it")},
		OnDelta:  func(d string) { deltas = append(deltas, d) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) < 5 {
		t.Errorf("got %d deltas, want one per word", len(deltas))
	}
	if got := strings.Join(deltas, ""); got != text {
		t.Errorf("deltas joined = %q", got)
	}
	if resp.Message.Content != text || resp.FinishReason != "stop" {
		t.Errorf("resp = %q %q", resp.Message.Content, resp.FinishReason)
	}
	if resp.Usage.OutputTokens == 0 {
		t.Errorf("streamed usage missing: %+v", resp.Usage)
	}
	if !f.Requests()[0].Stream {
		t.Error("request was not streamed")
	}
}

func TestToolCallRoundTrip(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "json", true: "sse"}[stream], func(t *testing.T) {
			f := fakellm.NewOpenAI(t)
			f.SetResponder(fakellm.Script(
				fakellm.Reply{Text: "Let me check.", ToolCalls: []fakellm.ToolCall{
					{ID: "call_time", Name: "time", Args: `{"tz":"Europe/Zürich"}`},
					{ID: "call_wx", Name: "weather", Args: `{"city":"Bern","days":[1,2,3]}`},
				}},
				fakellm.Reply{Text: "It is noon and sunny."},
			))
			c := newClient(t, f, "")
			tools := []engine.ToolSpec{
				{Name: "time", Description: "current time", Parameters: json.RawMessage(`{"type":"object","properties":{"tz":{"type":"string"}}}`)},
				{Name: "weather", Description: "forecast"},
			}
			req := engine.ChatRequest{Messages: []engine.ChatMessage{user("time and weather?")}, Tools: tools}
			if stream {
				req.OnDelta = func(string) {}
			}
			resp, err := c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			calls := resp.Message.ToolCalls
			if len(calls) != 2 || resp.FinishReason != "tool_calls" {
				t.Fatalf("calls = %+v finish %q", calls, resp.FinishReason)
			}
			wantArgs := []string{`{"tz":"Europe/Zürich"}`, `{"city":"Bern","days":[1,2,3]}`}
			for i, id := range []string{"call_time", "call_wx"} {
				if calls[i].ID != id || string(calls[i].Arguments) != wantArgs[i] {
					t.Errorf("call %d = %s %s %s", i, calls[i].ID, calls[i].Name, calls[i].Arguments)
				}
			}
			if resp.Message.Content != "Let me check." {
				t.Errorf("content = %q", resp.Message.Content)
			}
			req.Messages = append(req.Messages, resp.Message,
				engine.ChatMessage{Role: engine.RoleTool, ToolCallID: calls[0].ID, Name: "time", Content: "12:00"},
				engine.ChatMessage{Role: engine.RoleTool, ToolCallID: calls[1].ID, Name: "weather", Content: "sunny"},
			)
			resp, err = c.Chat(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "It is noon and sunny." {
				t.Errorf("final = %q", resp.Message.Content)
			}
			second := f.Requests()[1]
			results := second.ToolResults()
			if len(results) != 2 || results[0].ToolCallID != "call_time" || results[0].Content != "12:00" || results[1].ToolCallID != "call_wx" {
				t.Errorf("tool results = %+v", results)
			}
			asst := second.Messages[1]
			if len(asst.ToolCalls) != 2 || asst.ToolCalls[1].Args != wantArgs[1] {
				t.Errorf("assistant tool calls sent back = %+v", asst.ToolCalls)
			}
			if len(second.Tools) != 2 || second.Tools[0].Name != "time" {
				t.Errorf("tools = %+v", second.Tools)
			}
		})
	}
}

func asError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	return pe
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
		detail    string
	}{
		{name: "429 retry-after", reply: fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "7"}},
			kind: provider.KindRateLimited, status: 429, retryable: true, after: 7 * time.Second},
		{name: "429 retry-after-ms streamed", stream: true, reply: fakellm.Reply{Status: 429, Headers: map[string]string{"retry-after-ms": "1500"}},
			kind: provider.KindRateLimited, status: 429, retryable: true, after: 1500 * time.Millisecond},
		{name: "500 html body", reply: fakellm.Reply{Status: 502, Raw: "<html>bad gateway</html>", ContentType: "text/html"},
			kind: provider.KindUnavailable, status: 502, retryable: true},
		{name: "401", reply: fakellm.Reply{Status: 401}, kind: provider.KindAuth, status: 401},
		{name: "400", reply: fakellm.Reply{Status: 400}, kind: provider.KindBadRequest, status: 400},
		{name: "invalid json", reply: fakellm.Reply{Raw: `{"choices": [{"message": `},
			kind: provider.KindBadResponse, detail: "could not be decoded"},
		{name: "wrong content type", reply: fakellm.Reply{Raw: "<html>hello</html>", ContentType: "text/html"},
			kind: provider.KindBadResponse, detail: `unexpected content type "text/html"`},
		{name: "no choices", reply: fakellm.Reply{Raw: `{"id":"x","object":"chat.completion","choices":[]}`},
			kind: provider.KindBadResponse, detail: "no choices"},
		{name: "json instead of stream", stream: true, reply: fakellm.Reply{Raw: `{"id":"x"}`},
			kind: provider.KindBadResponse, detail: "expected text/event-stream"},
		{name: "truncated stream", stream: true, reply: fakellm.Reply{Text: "partial answer", Truncate: true},
			kind: provider.KindBadResponse, detail: "stream ended"},
		{name: "garbage event", stream: true, reply: fakellm.Reply{Raw: "data: {not json\n\n", ContentType: "text/event-stream"},
			kind: provider.KindBadResponse, detail: "could not be read or decoded"},
		{name: "error event", stream: true, reply: fakellm.Reply{Raw: "data: {\"error\":{\"message\":\"boom\"}}\n\n", ContentType: "text/event-stream"},
			kind: provider.KindStream, retryable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fakellm.NewOpenAI(t)
			f.SetResponder(fakellm.Script(tt.reply))
			c := newClient(t, f, "sk-secret-key")
			req := engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}
			if tt.stream {
				req.OnDelta = func(string) {}
			}
			_, err := c.Chat(context.Background(), req)
			pe := asError(t, err)
			if pe.Kind != tt.kind || pe.Status != tt.status || pe.Retryable != tt.retryable || pe.RetryAfter != tt.after {
				t.Errorf("got kind %s status %d retryable %v after %v; want %s %d %v %v",
					pe.Kind, pe.Status, pe.Retryable, pe.RetryAfter, tt.kind, tt.status, tt.retryable, tt.after)
			}
			if !strings.Contains(pe.Error(), tt.detail) {
				t.Errorf("error %q does not mention %q", pe.Error(), tt.detail)
			}
			for _, s := range []string{pe.Error(), pe.UserMessage()} {
				if strings.Contains(s, "sk-secret-key") || strings.Contains(s, f.URL()) {
					t.Errorf("message leaks key or URL: %q", s)
				}
			}
			if pe.Provider != c.Name() {
				t.Errorf("provider = %q", pe.Provider)
			}
		})
	}
}

func TestHangEndsAtDeadline(t *testing.T) {
	for _, stream := range []bool{false, true} {
		f := fakellm.NewOpenAI(t)
		f.SetResponder(fakellm.Script(fakellm.Reply{Hang: true}))
		c := newClient(t, f, "")
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req := engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}}
		if stream {
			req.OnDelta = func(string) {}
		}
		_, err := c.Chat(ctx, req)
		cancel()
		pe := asError(t, err)
		if pe.Kind != provider.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stream=%v: kind %s, err %v", stream, pe.Kind, err)
		}
	}
}

func TestConfiguredTimeoutBoundsTheCall(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(fakellm.Reply{Hang: true}))
	c, err := openai.New(provider.Settings{BaseURL: f.BaseURL(), Model: "m", Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}})
	if pe := asError(t, err); pe.Kind != provider.KindTimeout {
		t.Errorf("kind = %s", pe.Kind)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := openai.New(provider.Settings{BaseURL: "http://" + addr + "/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("hi")}})
	if pe := asError(t, err); pe.Kind != provider.KindUnreachable || !pe.Retryable {
		t.Errorf("kind = %s retryable %v", pe.Kind, pe.Retryable)
	}
}

func TestInvalidRequestsAreNotSent(t *testing.T) {
	tests := map[string]engine.ChatRequest{
		"no messages":       {},
		"tool without id":   {Messages: []engine.ChatMessage{user("x"), {Role: engine.RoleTool, Content: "r"}}},
		"unknown role":      {Messages: []engine.ChatMessage{{Role: "robot", Content: "x"}}},
		"bad tool schema":   {Messages: []engine.ChatMessage{user("x")}, Tools: []engine.ToolSpec{{Name: "t", Parameters: json.RawMessage(`[1]`)}}},
		"tool without name": {Messages: []engine.ChatMessage{user("x")}, Tools: []engine.ToolSpec{{Description: "d"}}},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			f := fakellm.NewOpenAI(t)
			c := newClient(t, f, "")
			_, err := c.Chat(context.Background(), req)
			if pe := asError(t, err); pe.Kind != provider.KindInvalidRequest {
				t.Errorf("kind = %s", pe.Kind)
			}
			if f.Count() != 0 {
				t.Errorf("%d requests were sent", f.Count())
			}
		})
	}
}

func TestMalformedToolArgumentsStayStorable(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "c1", Name: "t", Args: `{"a":`}}}))
	c := newClient(t, f, "")
	resp, err := c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("x")}, OnDelta: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	args := resp.Message.ToolCalls[0].Arguments
	if !json.Valid(args) || string(args) != `"{\"a\":"` {
		t.Errorf("arguments = %s", args)
	}
}

func BenchmarkChatRoundTrip(b *testing.B) {
	f := fakellm.NewOpenAI(b)
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

func TestStreamedCallsSharingIndexZero(t *testing.T) {
	// Some OpenAI-compatible servers send every tool call at index 0,
	// told apart only by their ids.
	chunk := func(delta string) string {
		return `data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":` + delta + `,"finish_reason":null}]}` + "\n\n"
	}
	raw := chunk(`{"role":"assistant"}`) +
		chunk(`{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"one","arguments":"{\"x\":"}}]}`) +
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}`) +
		chunk(`{"tool_calls":[{"index":0,"id":"b","type":"function","function":{"name":"two","arguments":""}}]}`) +
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}`) +
		`data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}` + "\n\n" +
		"data: [DONE]\n\n"
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(fakellm.Reply{Raw: raw, ContentType: "text/event-stream"}))
	c := newClient(t, f, "")
	resp, err := c.Chat(context.Background(), engine.ChatRequest{Messages: []engine.ChatMessage{user("x")}, OnDelta: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	calls := resp.Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "a" || string(calls[0].Arguments) != `{"x":1}` || calls[1].ID != "b" || calls[1].Name != "two" || string(calls[1].Arguments) != `{}` {
		t.Errorf("calls = %+v", calls)
	}
}
