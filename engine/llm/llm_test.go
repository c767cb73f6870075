package llm_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm"
	"github.com/hearthbot/hearth/internal/fakellm"
)

// clock is a fake clock; its sleeper records each wait and advances time
// instead of sleeping.
type clock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.now = c.now.Add(d)
	c.mu.Unlock()
	return nil
}

func (c *clock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

func openaiCfg(f *fakellm.OpenAI, name string) llm.Config {
	return llm.Config{Provider: "openai", BaseURL: f.BaseURL(), Model: "fake-model", Name: name}
}

func anthropicCfg(f *fakellm.Anthropic, name string) llm.Config {
	return llm.Config{Provider: "anthropic", BaseURL: f.BaseURL(), Model: "claude-fake", Name: name}
}

func newLLM(t *testing.T, clk *clock, primary llm.Config, fallbacks ...llm.Config) *llm.Client {
	t.Helper()
	c, err := llm.New(primary, fallbacks, llm.Options{Now: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ask(text string) engine.ChatRequest {
	return engine.ChatRequest{Messages: []engine.ChatMessage{{Role: engine.RoleUser, Content: text}}}
}

func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Fatalf("err = %v (%T), want *llm.Error", err, err)
	}
	return le
}

func TestRetryAfterThenSuccess(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string
		want    time.Duration
	}{
		{"seconds", map[string]string{"Retry-After": "7"}, 7 * time.Second},
		{"milliseconds win", map[string]string{"Retry-After": "7", "retry-after-ms": "2500"}, 2500 * time.Millisecond},
		{"http date", map[string]string{"Retry-After": "Tue, 01 Jan 2030 12:00:30 GMT"}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			f := fakellm.NewOpenAI(t)
			f.SetResponder(fakellm.Script(fakellm.Reply{Status: 429, Headers: tt.headers}, fakellm.Reply{Text: "fine"}))
			c := newLLM(t, clk, openaiCfg(f, "primary"))
			resp, err := c.Chat(context.Background(), ask("hi"))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Message.Content != "fine" || resp.Provider != "primary" {
				t.Errorf("resp = %q from %q", resp.Message.Content, resp.Provider)
			}
			if w := clk.Waits(); len(w) != 1 || w[0] != tt.want {
				t.Errorf("waits = %v, want [%v]", w, tt.want)
			}
			if f.Count() != 2 {
				t.Errorf("%d requests, want 2", f.Count())
			}
		})
	}
}

func TestBackoffWithoutRetryAfter(t *testing.T) {
	clk := newClock()
	f := fakellm.NewAnthropic(t)
	f.SetResponder(fakellm.Script(fakellm.Reply{Status: 529}, fakellm.Reply{Status: 503}, fakellm.Reply{Text: "ok"}))
	c := newLLM(t, clk, anthropicCfg(f, "a"))
	if _, err := c.Chat(context.Background(), ask("hi")); err != nil {
		t.Fatal(err)
	}
	w := clk.Waits()
	if len(w) != 2 {
		t.Fatalf("waits = %v", w)
	}
	// Equal jitter: attempt n waits between base·2^n / 2 and base·2^n.
	for i, lo := range []time.Duration{250 * time.Millisecond, 500 * time.Millisecond} {
		if w[i] < lo || w[i] > 2*lo {
			t.Errorf("wait %d = %v, want within [%v, %v]", i, w[i], lo, 2*lo)
		}
	}
}

func TestExhaustedRetriesReturnTypedError(t *testing.T) {
	clk := newClock()
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(
		fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "1"}},
		fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "1"}},
		fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "1"}},
	))
	c := newLLM(t, clk, openaiCfg(f, "only"))
	_, err := c.Chat(context.Background(), ask("hi"))
	le := asLLMError(t, err)
	if le.Status != 429 || !le.Retryable || le.Provider != "only" || le.Kind != llm.KindRateLimited {
		t.Errorf("err = %+v", le)
	}
	if got, want := le.UserMessage(), "The model provider is unavailable (429 rate limited), try again later."; got != want {
		t.Errorf("UserMessage = %q, want %q", got, want)
	}
	if f.Count() != 1+llm.DefaultMaxRetries {
		t.Errorf("%d requests, want %d", f.Count(), 1+llm.DefaultMaxRetries)
	}
}

func TestFailoverAfter500(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(func(fakellm.Request) fakellm.Reply { return fakellm.Reply{Status: 500} })
	secondary := fakellm.NewAnthropic(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), anthropicCfg(secondary, "s"))
	var deltas strings.Builder
	req := ask("hello")
	req.OnDelta = func(d string) { deltas.WriteString(d) }
	resp, err := c.Chat(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Provider != "s" || resp.Message.Content != "echo: hello" || deltas.String() != "echo: hello" {
		t.Errorf("resp from %q: %q (deltas %q)", resp.Provider, resp.Message.Content, deltas.String())
	}
	if primary.Count() != 1+llm.DefaultMaxRetries || secondary.Count() != 1 {
		t.Errorf("primary %d requests, secondary %d", primary.Count(), secondary.Count())
	}
}

func TestCooldownSkipsFailedProviderUntilClockPassesIt(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	down := true
	var mu sync.Mutex
	primary.SetResponder(func(req fakellm.Request) fakellm.Reply {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return fakellm.Reply{Status: 503}
		}
		return fakellm.Reply{Text: "primary back"}
	})
	secondary := fakellm.NewOpenAI(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), openaiCfg(secondary, "s"))

	if resp, err := c.Chat(context.Background(), ask("one")); err != nil || resp.Provider != "s" {
		t.Fatalf("first call: %v %+v", err, resp)
	}
	failed := primary.Count()
	if st := c.Providers()[0]; st.CoolingUntil.IsZero() {
		t.Errorf("primary not reported in cooldown: %+v", st)
	}
	mu.Lock()
	down = false
	mu.Unlock()

	clk.Advance(llm.DefaultCooldown - time.Second)
	if resp, err := c.Chat(context.Background(), ask("two")); err != nil || resp.Provider != "s" {
		t.Fatalf("during cooldown: %v %+v", err, resp)
	}
	if primary.Count() != failed {
		t.Errorf("primary called during cooldown (%d -> %d requests)", failed, primary.Count())
	}

	clk.Advance(2 * time.Second)
	resp, err := c.Chat(context.Background(), ask("three"))
	if err != nil || resp.Provider != "p" || resp.Message.Content != "primary back" {
		t.Fatalf("after cooldown: %v %+v", err, resp)
	}
	if !c.Providers()[0].CoolingUntil.IsZero() {
		t.Error("cooldown not cleared after success")
	}
}

func TestLongRetryAfterFailsOverAndExtendsCooldown(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(fakellm.Script(
		fakellm.Reply{Status: 429, Headers: map[string]string{"Retry-After": "300"}},
		fakellm.Reply{Text: "primary again"},
	))
	secondary := fakellm.NewOpenAI(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), openaiCfg(secondary, "s"))
	if resp, err := c.Chat(context.Background(), ask("x")); err != nil || resp.Provider != "s" {
		t.Fatalf("%v %+v", err, resp)
	}
	if w := clk.Waits(); len(w) != 0 {
		t.Errorf("waited %v for a Retry-After beyond the limit", w)
	}
	clk.Advance(2 * llm.DefaultCooldown)
	if resp, err := c.Chat(context.Background(), ask("y")); err != nil || resp.Provider != "s" {
		t.Fatalf("cooldown should last the 300 s asked for: %v %+v", err, resp)
	}
	clk.Advance(300 * time.Second)
	if resp, err := c.Chat(context.Background(), ask("z")); err != nil || resp.Provider != "p" {
		t.Fatalf("after Retry-After: %v %+v", err, resp)
	}
}

func TestAllCoolingStillTriesInOrder(t *testing.T) {
	clk := newClock()
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(
		fakellm.Reply{Raw: "not json"},
		fakellm.Reply{Text: "recovered"},
	))
	c := newLLM(t, clk, openaiCfg(f, "solo"))
	_, err := c.Chat(context.Background(), ask("a"))
	if le := asLLMError(t, err); le.Kind != llm.KindBadResponse || le.Retryable {
		t.Fatalf("garbage: %+v", le)
	}
	resp, err := c.Chat(context.Background(), ask("b"))
	if err != nil || resp.Message.Content != "recovered" {
		t.Fatalf("single provider locked out by its cooldown: %v", err)
	}
}

func TestGarbageFailsOverWithoutRetry(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(fakellm.Script(fakellm.Reply{Raw: "<html>", ContentType: "text/html"}))
	secondary := fakellm.NewAnthropic(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), anthropicCfg(secondary, "s"))
	resp, err := c.Chat(context.Background(), ask("q"))
	if err != nil || resp.Provider != "s" {
		t.Fatalf("%v %+v", err, resp)
	}
	if primary.Count() != 1 || len(clk.Waits()) != 0 {
		t.Errorf("garbage was retried: %d requests, waits %v", primary.Count(), clk.Waits())
	}
}

func TestCallerDeadlineStopsWithoutFailover(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(fakellm.Script(fakellm.Reply{Hang: true}))
	secondary := fakellm.NewOpenAI(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), openaiCfg(secondary, "s"))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Chat(ctx, ask("x"))
	le := asLLMError(t, err)
	if le.Kind != llm.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %+v", le)
	}
	if le.UserMessage() != "The model provider did not answer in time, try again later." {
		t.Errorf("UserMessage = %q", le.UserMessage())
	}
	if secondary.Count() != 0 {
		t.Errorf("failed over after the caller's deadline")
	}
}

func TestProviderTimeoutFailsOver(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(fakellm.Script(fakellm.Reply{Hang: true}))
	secondary := fakellm.NewOpenAI(t)
	p := openaiCfg(primary, "p")
	p.Timeout = 50 * time.Millisecond
	c := newLLM(t, clk, p, openaiCfg(secondary, "s"))
	resp, err := c.Chat(context.Background(), ask("x"))
	if err != nil || resp.Provider != "s" {
		t.Fatalf("%v %+v", err, resp)
	}
	if primary.Count() != 1 {
		t.Errorf("a hung provider was retried: %d requests", primary.Count())
	}
}

func TestPartialStreamIsNotRetried(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	primary.SetResponder(fakellm.Script(fakellm.Reply{Text: "half of it", Truncate: true}))
	secondary := fakellm.NewOpenAI(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), openaiCfg(secondary, "s"))
	var seen strings.Builder
	req := ask("x")
	req.OnDelta = func(d string) { seen.WriteString(d) }
	_, err := c.Chat(context.Background(), req)
	if le := asLLMError(t, err); le.Kind != llm.KindBadResponse {
		t.Errorf("err = %+v", le)
	}
	if seen.String() != "half of it" || secondary.Count() != 0 {
		t.Errorf("deltas %q, secondary %d requests", seen.String(), secondary.Count())
	}
}

func TestInvalidRequestIsNotFailedOver(t *testing.T) {
	clk := newClock()
	primary := fakellm.NewOpenAI(t)
	secondary := fakellm.NewOpenAI(t)
	c := newLLM(t, clk, openaiCfg(primary, "p"), openaiCfg(secondary, "s"))
	_, err := c.Chat(context.Background(), engine.ChatRequest{})
	if le := asLLMError(t, err); le.Kind != llm.KindInvalidRequest {
		t.Errorf("err = %+v", le)
	}
	if primary.Count()+secondary.Count() != 0 {
		t.Error("an invalid request was sent")
	}
	if !c.Providers()[0].CoolingUntil.IsZero() {
		t.Error("an invalid request put the provider in cooldown")
	}
}

func TestCancelDuringRetryWait(t *testing.T) {
	f := fakellm.NewOpenAI(t)
	f.SetResponder(fakellm.Script(fakellm.Reply{Status: 503, Headers: map[string]string{"Retry-After": "5"}}))
	ctx, cancel := context.WithCancel(context.Background())
	sleep := func(ctx context.Context, d time.Duration) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}
	c, err := llm.New(openaiCfg(f, "p"), nil, llm.Options{Sleep: sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Chat(ctx, ask("x"))
	if le := asLLMError(t, err); le.Kind != llm.KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %+v", le)
	}
	if f.Count() != 1 {
		t.Errorf("%d requests after cancel", f.Count())
	}
}

func TestToolRoundTripThroughFailoverClient(t *testing.T) {
	clk := newClock()
	f := fakellm.NewAnthropic(t)
	f.SetResponder(fakellm.Script(
		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "toolu_1", Name: "time", Args: `{}`}}},
		fakellm.Reply{Text: "noon"},
	))
	c := newLLM(t, clk, anthropicCfg(f, "a"))
	req := ask("time?")
	req.Tools = []engine.ToolSpec{{Name: "time", Description: "now"}}
	resp, err := c.Chat(context.Background(), req)
	if err != nil || len(resp.Message.ToolCalls) != 1 {
		t.Fatalf("%v %+v", err, resp)
	}
	req.Messages = append(req.Messages, resp.Message, engine.ChatMessage{Role: engine.RoleTool, ToolCallID: "toolu_1", Content: "12:00"})
	if resp, err = c.Chat(context.Background(), req); err != nil || resp.Message.Content != "noon" {
		t.Fatalf("%v %+v", err, resp)
	}
	if got := f.Requests()[1].ToolResults(); len(got) != 1 || got[0].ToolCallID != "toolu_1" {
		t.Errorf("tool results = %+v", got)
	}
}

func BenchmarkClientChat(b *testing.B) {
	f := fakellm.NewOpenAI(b)
	c, err := llm.New(llm.Config{Provider: "openai", BaseURL: f.BaseURL(), Model: "m"}, nil, llm.Options{})
	if err != nil {
		b.Fatal(err)
	}
	req := ask("hello")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Chat(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func TestVendorEnvironmentIsIgnored(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
	o := fakellm.NewOpenAI(t)
	a := fakellm.NewAnthropic(t)
	for _, cfg := range []llm.Config{openaiCfg(o, "o"), anthropicCfg(a, "a")} {
		c, err := llm.New(cfg, nil, llm.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Chat(context.Background(), ask("hi")); err != nil {
			t.Fatalf("%s: %v", cfg.Name, err)
		}
	}
	if k := o.Requests()[0].APIKey; k != "" {
		t.Errorf("openai sent key %q from the environment", k)
	}
	if k := a.Requests()[0].APIKey; k != "" {
		t.Errorf("anthropic sent key %q from the environment", k)
	}
}
