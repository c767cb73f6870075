package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
)

const richSchema = `{
  "type": "object",
  "properties": {
    "query": {"type": "string", "minLength": 1},
    "limit": {"type": "integer", "minimum": 1, "maximum": 50},
    "mode":  {"enum": ["fast", "exact"]},
    "when":  {"type": "string", "format": "date-time"},
    "items": {"type": "array", "items": {
      "type": "object",
      "properties": {"name": {"type": "string"}},
      "required": ["name"]
    }}
  },
  "required": ["query"],
  "additionalProperties": false
}`

func newRegistry(t *testing.T, opts tools.Options, extra ...engine.Tool) *tools.Registry {
	t.Helper()
	r := tools.New(opts)
	for _, tl := range append(builtin.Tools(nil), extra...) {
		if err := r.Register(tl); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func TestExecuteArguments(t *testing.T) {
	var seen json.RawMessage
	search := newTool("search", richSchema)
	search.fn = func(_ context.Context, call engine.ToolInvocation) (engine.ToolResult, error) {
		seen = call.Args
		return engine.ToolResult{Content: "found"}, nil
	}
	r := newRegistry(t, tools.Options{}, search)

	tests := []struct {
		name    string
		tool    string
		args    string
		isError bool
		want    []string // substrings of Content
	}{
		{"echo ok", "echo", `{"text":"hi"}`, false, []string{"hi"}},
		{"echo empty text", "echo", `{"text":""}`, false, nil},
		{"echo missing text", "echo", `{}`, true, []string{`invalid arguments for tool "echo"`, "at the top level: missing property 'text'"}},
		{"echo null args", "echo", `null`, true, []string{"missing property 'text'"}},
		{"echo wrong type", "echo", `{"text":5}`, true, []string{`at "/text": got number, want string`}},
		{"echo extra field", "echo", `{"text":"a","loud":true}`, true, []string{"additional properties 'loud' not allowed"}},
		{"not json", "echo", `{"text":`, true, []string{"not valid JSON", "single JSON object"}},
		{"trailing data", "echo", `{"text":"a"} {"text":"b"}`, true, []string{"not valid JSON"}},
		{"array args", "echo", `["hi"]`, true, []string{"at the top level: got array, want object"}},
		{"string args", "echo", `"hi"`, true, []string{"got string, want object"}},
		{"time empty args", "time", ``, false, []string{`"timezone":"UTC"`}},
		{"time whitespace args", "time", "  \n", false, []string{`"weekday"`}},
		{"time object", "time", `{}`, false, []string{`"time"`}},
		{"search ok", "search", `{"query":"x","limit":5,"mode":"fast","when":"2026-01-02T03:04:05Z","items":[{"name":"a"}]}`, false, []string{"found"}},
		{"search below minimum", "search", `{"query":"x","limit":0}`, true, []string{`at "/limit": minimum: got 0, want 1`}},
		{"search not integer", "search", `{"query":"x","limit":1.5}`, true, []string{`at "/limit": got number, want integer`}},
		{"search enum", "search", `{"query":"x","mode":"slow"}`, true, []string{`at "/mode": value must be one of 'fast', 'exact'`}},
		{"search format", "search", `{"query":"x","when":"tomorrow"}`, true, []string{`at "/when"`, "date-time"}},
		{"search nested", "search", `{"query":"x","items":[{"name":"a"},{}]}`, true, []string{`at "/items/1": missing property 'name'`}},
		{"search min length", "search", `{"query":""}`, true, []string{`at "/query": minLength`}},
		{"search several", "search", `{"limit":"many","extra":1}`, true, []string{"missing property 'query'", `at "/limit"`, "'extra'"}},
		{"unknown tool", "nope", `{}`, true, []string{`unknown tool "nope"; available: echo, search, time`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Execute(context.Background(), tc.tool, engine.ToolInvocation{Args: json.RawMessage(tc.args)})
			if err != nil {
				t.Fatalf("Execute returned a Go error: %v", err)
			}
			t.Logf("content: %s", res.Content)
			if res.IsError != tc.isError {
				t.Fatalf("IsError = %v, want %v; content: %s", res.IsError, tc.isError, res.Content)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.Content, w) {
					t.Errorf("content %q does not contain %q", res.Content, w)
				}
			}
		})
	}
	t.Run("tool receives {} for empty args", func(t *testing.T) {
		plain := newTool("plain", `{"type":"object"}`)
		var got string
		plain.fn = func(_ context.Context, call engine.ToolInvocation) (engine.ToolResult, error) {
			got = string(call.Args)
			return engine.ToolResult{}, nil
		}
		r := newRegistry(t, tools.Options{}, plain)
		for _, args := range []string{"", "null", " null "} {
			if _, err := r.Execute(context.Background(), "plain", engine.ToolInvocation{Args: json.RawMessage(args)}); err != nil {
				t.Fatal(err)
			}
			if got != "{}" {
				t.Fatalf("args %q reached the tool as %q, want {}", args, got)
			}
		}
	})
	t.Run("invalid call never reaches the tool", func(t *testing.T) {
		seen = nil
		res, _ := r.Execute(context.Background(), "search", engine.ToolInvocation{Args: json.RawMessage(`{"limit":3}`)})
		if !res.IsError || seen != nil {
			t.Fatalf("tool ran on invalid args: res=%+v seen=%s", res, seen)
		}
	})
}

func TestExecuteFailures(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })

	mk := func(name string, timeout time.Duration, fn func(ctx context.Context, call engine.ToolInvocation) (engine.ToolResult, error)) *funcTool {
		tl := newTool(name, objSchema)
		tl.info.Timeout = timeout
		tl.fn = fn
		return tl
	}
	honest := mk("honest", 0, func(ctx context.Context, _ engine.ToolInvocation) (engine.ToolResult, error) {
		<-ctx.Done()
		return engine.ToolResult{}, ctx.Err()
	})
	stubborn := mk("stubborn", 0, func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		<-block // ignores its context
		return engine.ToolResult{Content: "late"}, nil
	})
	own := mk("own_timeout", 20*time.Millisecond, func(ctx context.Context, _ engine.ToolInvocation) (engine.ToolResult, error) {
		<-ctx.Done()
		return engine.ToolResult{}, ctx.Err()
	})
	panicky := mk("panicky", 0, func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		panic("kaboom")
	})
	failing := mk("failing", 0, func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		return engine.ToolResult{}, errors.New("upstream said 503")
	})
	soft := mk("soft", 0, func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
		return engine.ToolResult{Content: "no such file", IsError: true}, nil
	})

	fast := newRegistry(t, tools.Options{DefaultTimeout: 20 * time.Millisecond}, honest, stubborn, panicky, failing, soft)
	slowDefault := newRegistry(t, tools.Options{DefaultTimeout: time.Hour}, own)

	tests := []struct {
		name string
		r    *tools.Registry
		tool string
		want string
	}{
		{"honest timeout", fast, "honest", `tool "honest" timed out after 20ms`},
		{"stubborn timeout", fast, "stubborn", `tool "stubborn" timed out after 20ms`},
		{"tool timeout overrides default", slowDefault, "own_timeout", `timed out after 20ms`},
		{"panic", fast, "panicky", `tool "panicky" failed with an internal error`},
		{"go error", fast, "failing", `tool "failing" failed: upstream said 503`},
		{"tool error result", fast, "soft", "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.r.Execute(context.Background(), tc.tool, engine.ToolInvocation{})
			if err != nil {
				t.Fatalf("Go error: %v", err)
			}
			if !res.IsError || !strings.Contains(res.Content, tc.want) {
				t.Fatalf("result = %+v, want IsError with %q", res, tc.want)
			}
			if strings.Contains(res.Content, "kaboom") || strings.Contains(res.Content, "goroutine") {
				t.Fatalf("panic details leaked to the model: %q", res.Content)
			}
		})
	}
	t.Run("registry survives a panic", func(t *testing.T) {
		res, err := fast.Execute(context.Background(), "echo", engine.ToolInvocation{Args: json.RawMessage(`{"text":"still here"}`)})
		if err != nil || res.Content != "still here" {
			t.Fatalf("echo after panic = %+v, %v", res, err)
		}
	})
}

func TestExecuteCallerCancellation(t *testing.T) {
	started := make(chan struct{})
	waiter := newTool("waiter", objSchema)
	waiter.fn = func(ctx context.Context, _ engine.ToolInvocation) (engine.ToolResult, error) {
		close(started)
		<-ctx.Done()
		return engine.ToolResult{}, ctx.Err()
	}
	r := newRegistry(t, tools.Options{DefaultTimeout: time.Hour}, waiter)

	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := r.Execute(ctx, "echo", engine.ToolInvocation{Args: json.RawMessage(`{"text":"x"}`)})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := r.Execute(ctx, "waiter", engine.ToolInvocation{})
			errc <- err
		}()
		<-started
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

func TestExecuteOutput(t *testing.T) {
	mk := func(name, content string, untrusted bool, source string) *funcTool {
		tl := newTool(name, objSchema)
		tl.fn = func(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
			return engine.ToolResult{Content: content, Untrusted: untrusted, Source: source}, nil
		}
		return tl
	}
	long := mk("long", "héllo wörld, this is long", false, "")
	bad := mk("bad_utf8", "ok\xffok", false, "")
	web := mk("web", "page", false, "web")
	web.info.Untrusted = true
	self := mk("self", "x", true, "")
	r := newRegistry(t, tools.Options{MaxOutput: 2}, long, bad, web, self)

	tests := []struct {
		name          string
		tool          string
		wantContent   string
		wantUntrusted bool
		wantSource    string
	}{
		// "hé": the cut lands inside é and moves back to a rune boundary.
		{"cut at rune boundary", "long", "h\n\n[output truncated: showing the first 1 of 27 bytes]", false, "tool:long"},
		{"invalid utf8 replaced then cut", "bad_utf8", "ok\n\n[output truncated: showing the first 2 of 7 bytes]", false, "tool:bad_utf8"},
		{"info untrusted, own source", "web", "page"[:2] + "\n\n[output truncated: showing the first 2 of 4 bytes]", true, "web"},
		{"result untrusted", "self", "x", true, "tool:self"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Execute(context.Background(), tc.tool, engine.ToolInvocation{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Content != tc.wantContent || res.Untrusted != tc.wantUntrusted || res.Source != tc.wantSource {
				t.Fatalf("result = %+v, want content %q untrusted %v source %q", res, tc.wantContent, tc.wantUntrusted, tc.wantSource)
			}
			if !utf8.ValidString(res.Content) {
				t.Fatalf("content is not valid UTF-8: %q", res.Content)
			}
		})
	}
}

func BenchmarkExecuteEcho(b *testing.B) {
	r := tools.New(tools.Options{})
	if err := r.Register(builtin.NewEcho()); err != nil {
		b.Fatal(err)
	}
	inv := engine.ToolInvocation{CallID: "c1", Args: json.RawMessage(`{"text":"hello, world"}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		res, err := r.Execute(ctx, "echo", inv)
		if err != nil || res.Content != "hello, world" {
			b.Fatalf("Execute = %+v, %v", res, err)
		}
	}
}

func BenchmarkExecuteEchoParallel(b *testing.B) {
	r := tools.New(tools.Options{})
	if err := r.Register(builtin.NewEcho()); err != nil {
		b.Fatal(err)
	}
	inv := engine.ToolInvocation{CallID: "c1", Args: json.RawMessage(`{"text":"hello, world"}`)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, err := r.Execute(context.Background(), "echo", inv); err != nil || res.IsError {
				b.Errorf("Execute = %+v, %v", res, err)
				return
			}
		}
	})
}
