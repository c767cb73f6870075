// Package fakellm starts real HTTP servers on 127.0.0.1 that speak the
// OpenAI chat-completions and Anthropic Messages wire formats (JSON and SSE
// streaming, tool calls, usage, errors), so that tests drive the real SDKs.
// It is an ordinary package for use from any _test.go file.
//
// A fake is driven by a Responder, which sees a provider-neutral Request
// (system prompt, messages with roles, tool calls and tool results, tools
// offered, model, stream flag) and returns a Reply: text and tool calls, or
// an HTTP error, a garbage body, a hang, a delay or a truncated stream.
//
//	f := fakellm.NewOpenAI(t)
//	f.SetResponder(fakellm.Script(
//		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_1", Name: "time", Args: `{}`}}},
//		fakellm.Reply{Text: "It is noon."},
//	))
//	// point the SDK at f.BaseURL()
//
// The fakes also check what real servers check (roles alternate on
// Anthropic, every tool result answers a tool call of the previous
// assistant message, valid JSON); a violation answers 400 and fails the test.
package fakellm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// ToolCall is a tool call made by the assistant (in a Reply) or found in
// the conversation (in a Request). Args is the JSON arguments text.
type ToolCall struct {
	ID   string
	Name string
	Args string
}

// Message is one conversation entry in provider-neutral form. Role is
// "user", "assistant" or "tool". An Anthropic user message that carries
// tool_result blocks becomes one "tool" message per result (then a "user"
// message for any text), so both fakes present the same view.
type Message struct {
	Role       string
	Content    string
	ToolCalls  []ToolCall
	ToolCallID string
	// IsError is Anthropic's is_error flag on a tool result.
	IsError bool
}

// Tool is a tool offered to the model.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema as sent (input_schema on Anthropic).
	Parameters []byte
}

// Request is what a client sent, in provider-neutral form.
type Request struct {
	// API is "openai" or "anthropic".
	API    string
	Model  string
	System string
	// Messages excludes system messages (their text is in System).
	Messages    []Message
	Tools       []Tool
	Stream      bool
	MaxTokens   int
	Temperature *float64
	// APIKey is the bearer token (OpenAI) or x-api-key (Anthropic); "" when none was sent.
	APIKey string
	Header http.Header
	Body   []byte

	includeUsage bool
}

// LastUser returns the content of the last user message, "" if none.
func (r Request) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

// ToolResults returns the tool-result messages of the request, in order.
func (r Request) ToolResults() []Message {
	var out []Message
	for _, m := range r.Messages {
		if m.Role == "tool" {
			out = append(out, m)
		}
	}
	return out
}

// Usage overrides the token counts a reply reports.
type Usage struct {
	Input, Output int
}

// Reply is how the fake answers one call. The zero Reply is an empty
// assistant message.
type Reply struct {
	Text      string
	ToolCalls []ToolCall
	// Status, when not 2xx (and not 0), answers with that HTTP error in the
	// provider's error format.
	Status int
	// Headers are added to the response (e.g. "Retry-After": "7").
	Headers map[string]string
	// Raw, when set, is written verbatim as the body (with Status if set, else 200).
	Raw string
	// ContentType is the content type sent with Raw (default application/json).
	ContentType string
	// Hang blocks until the request's context ends (or the fake is closed).
	Hang bool
	// Delay waits before answering (ended early by the request's context).
	Delay time.Duration
	// Wait, when not nil, blocks until it is closed before answering.
	Wait <-chan struct{}
	// Truncate ends a streamed answer before its finish (no finish_reason
	// and [DONE] on OpenAI, no message_delta/message_stop on Anthropic).
	Truncate bool
	// FinishReason overrides the finish reason, in OpenAI's vocabulary
	// ("stop", "length", "tool_calls", "content_filter"); mapped for Anthropic.
	FinishReason string
	// Usage overrides the computed token counts.
	Usage *Usage
	// Model overrides the model reported (default: the requested one).
	Model string

	exhausted string
}

// Responder decides the reply to one request. It may be called
// concurrently.
type Responder func(req Request) Reply

// Script answers with replies in order, one per call. A call beyond the
// last reply fails the test and answers 500.
func Script(replies ...Reply) Responder {
	var (
		mu sync.Mutex
		n  int
	)
	return func(req Request) Reply {
		mu.Lock()
		defer mu.Unlock()
		n++
		if n > len(replies) {
			return Reply{exhausted: fmt.Sprintf("fakellm: script exhausted: call %d, but only %d replies were scripted (last user text %q)",
				n, len(replies), req.LastUser())}
		}
		return replies[n-1]
	}
}

// EchoLast answers "echo: <last user text>".
func EchoLast() Responder {
	return func(req Request) Reply { return Reply{Text: "echo: " + req.LastUser()} }
}

// base is what both fakes share: the server, the responder, the record.
type base struct {
	t    testing.TB
	srv  *httptest.Server
	done chan struct{}

	mu        sync.Mutex
	responder Responder
	reqs      []Request
	seq       int
}

func (b *base) start(t testing.TB, h http.Handler) {
	b.t = t
	b.done = make(chan struct{})
	b.responder = EchoLast()
	b.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		close(b.done)
		b.srv.Close()
	})
}

// SetResponder replaces the responder (EchoLast by default).
func (b *base) SetResponder(r Responder) {
	b.mu.Lock()
	b.responder = r
	b.mu.Unlock()
}

// Requests returns a copy of every chat request received so far, in order.
func (b *base) Requests() []Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Request(nil), b.reqs...)
}

// Count is the number of chat requests received so far.
func (b *base) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.reqs)
}

// URL is the server's root, e.g. http://127.0.0.1:43121.
func (b *base) URL() string { return b.srv.URL }

// Close stops the server early (it is also closed when the test ends).
// Hanging and waiting requests are released.
func (b *base) Close() {
	b.srv.CloseClientConnections()
	b.srv.Listener.Close()
}

// record stores req and asks the responder, returning the reply and a
// sequence number for ids.
func (b *base) record(req Request) (Reply, int) {
	b.mu.Lock()
	b.reqs = append(b.reqs, req)
	b.seq++
	seq, r := b.seq, b.responder
	b.mu.Unlock()
	reply := r(req)
	if reply.exhausted != "" {
		b.t.Errorf("%s", reply.exhausted)
		reply = Reply{Status: http.StatusInternalServerError, Raw: `{"error":{"message":"fakellm: script exhausted"}}`}
	}
	return reply, seq
}

// wait applies Hang, Wait and Delay. It returns false when the request
// ended (or the fake closed) first.
func (b *base) wait(r *http.Request, reply Reply) bool {
	ctx := r.Context()
	if reply.Hang {
		select {
		case <-ctx.Done():
		case <-b.done:
		}
		return false
	}
	if reply.Wait != nil {
		select {
		case <-reply.Wait:
		case <-ctx.Done():
			return false
		case <-b.done:
			return false
		}
	}
	if reply.Delay > 0 {
		timer := time.NewTimer(reply.Delay)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return false
		case <-b.done:
			return false
		}
	}
	return true
}

// violation answers a protocol violation as the real server would (400)
// and fails the test: the client under test sent something invalid.
func (b *base) violation(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.t.Errorf("fakellm: protocol violation: %s", msg)
	http.Error(w, `{"error":{"message":`+quote(msg)+`,"type":"invalid_request_error"}}`, http.StatusBadRequest)
}

// writeHeaders sets the reply's extra headers.
func writeHeaders(w http.ResponseWriter, reply Reply) {
	for k, v := range reply.Headers {
		w.Header().Set(k, v)
	}
}

// writeRaw writes reply.Raw verbatim; it reports whether it did.
func writeRaw(w http.ResponseWriter, reply Reply) bool {
	if reply.Raw == "" {
		return false
	}
	ct := reply.ContentType
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reply.Raw))
	return true
}

// isError reports whether the reply is an HTTP error.
func isError(reply Reply) bool {
	return reply.Status != 0 && (reply.Status < 200 || reply.Status > 299)
}

// pieces splits text into word-sized pieces whose concatenation is text.
func pieces(text string) []string {
	var out []string
	start := 0
	for i := 1; i < len(text); i++ {
		if text[i] == ' ' && text[i-1] != ' ' {
			out = append(out, text[start:i])
			start = i
		}
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// fragments splits s into pieces of at most n runes (never inside a rune).
func fragments(s string, n int) []string {
	var out []string
	runes := 0
	start := 0
	for i := range s {
		if runes == n {
			out = append(out, s[start:i])
			start, runes = i, 0
		}
		runes++
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func words(s string) int { return len(strings.Fields(s)) }

// usage computes deterministic token counts for a request and reply.
func usage(req Request, reply Reply) (in, out int) {
	if reply.Usage != nil {
		return reply.Usage.Input, reply.Usage.Output
	}
	in = words(req.System)
	for _, m := range req.Messages {
		in += 1 + words(m.Content)
		for _, tc := range m.ToolCalls {
			in += 1 + len(tc.Args)/4
		}
	}
	out = words(reply.Text)
	for _, tc := range reply.ToolCalls {
		out += 1 + len(tc.Args)/4
	}
	return in, out
}

func argsOrEmpty(args string) string {
	if strings.TrimSpace(args) == "" {
		return "{}"
	}
	return args
}
