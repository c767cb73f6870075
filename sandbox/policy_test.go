package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRateLimits(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	f := newFixture(t, func(o *sandbox.Options) { o.Now = clock.Now })
	m := f.load("hostile", "hostile", `{
	  "http": [{"host": "api.example.com", "path_prefix": "/v1/", "methods": ["GET"]}],
	  "rate_limit": {"calls_per_minute": 3, "http_per_minute": 2}
	}`)
	get := attack{"attack": "http", "url": "https://api.example.com/v1/x"}
	for i := 0; i < 2; i++ {
		if res := f.call(m, get); res.IsError {
			t.Fatalf("request %d: %+v", i, res)
		}
	}
	if res := f.call(m, get); !res.IsError || !strings.Contains(res.Content, "rate limit: at most 2 HTTP requests per minute") {
		t.Fatalf("third request in a minute: %+v", res)
	}
	if res := f.call(m, attack{"attack": "state"}); !res.IsError || !strings.Contains(res.Content, "rate limit: at most 3 calls per minute") {
		t.Fatalf("fourth call in a minute: %+v", res)
	}
	if e := f.audit.Last(); e.Outcome != "blocked" {
		t.Fatalf("rate-limited call audited as %q", e.Outcome)
	}
	// Another user has their own budget.
	res, err := m.Execute(context.Background(), engine.ToolInvocation{UserID: "u2", Args: json.RawMessage(`{"attack":"state"}`)})
	if err != nil || res.IsError {
		t.Fatalf("other user: %v %+v", err, res)
	}
	clock.Add(61 * time.Second)
	if res := f.call(m, get); res.IsError {
		t.Fatalf("after a minute: %+v", res)
	}
}

func TestPerCallLimitsOnHostCalls(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", `{
	  "http": [{"host": "api.example.com", "path_prefix": "/v1/", "methods": ["GET"]}],
	  "limits": {"max_http_requests": 1}
	}`)
	// A redirect costs a second request.
	res := f.call(m, attack{"attack": "http", "url": "https://api.example.com/v1/redirect"})
	if !res.IsError || !strings.Contains(res.Content, "BLOCKED") {
		t.Fatalf("%+v", res)
	}
	if res := f.call(m, attack{"attack": "http", "url": "https://api.example.com/v1/x"}); res.IsError {
		t.Fatalf("a fresh call has a fresh budget: %+v", res)
	}
}

func TestToolInvocationDepthIsBounded(t *testing.T) {
	// The registry knows the module itself as "self", which may invoke
	// "self": an unbounded recursion unless the host stops it.
	rec := &recursiveTools{}
	f2 := newFixture(t, func(o *sandbox.Options) { o.Tools = rec })
	self := f2.load("hostile", "hostile", `{"tools": [{"alias": "self"}], "limits": {"max_tool_invocations": 2}}`)
	rec.self = self
	nested := map[string]any{"attack": "invoke", "name": "self"}
	args := nested
	for i := 0; i < 5; i++ {
		args = map[string]any{"attack": "invoke", "name": "self", "params": args}
	}
	res := f2.call(self, args)
	if !strings.Contains(res.Content, "tools may invoke tools at most 3 levels deep") {
		t.Fatalf("recursion: %+v", res)
	}
	if rec.calls() != 3 {
		t.Fatalf("%d nested calls, want 3", rec.calls())
	}
}

type recursiveTools struct {
	self *sandbox.Module
	mu   sync.Mutex
	n    int
}

func (r *recursiveTools) Info(name string) (engine.ToolInfo, bool) {
	return engine.ToolInfo{Name: name}, name == "self"
}

func (r *recursiveTools) Execute(ctx context.Context, _ string, inv engine.ToolInvocation) (engine.ToolResult, error) {
	r.mu.Lock()
	r.n++
	r.mu.Unlock()
	return r.self.Execute(ctx, inv)
}

func (r *recursiveTools) calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// failingSecrets is a secret store that is down.
type failingSecrets struct{}

func (failingSecrets) Values(context.Context, string) (map[string]string, error) {
	return nil, errors.New("database is locked")
}
func (failingSecrets) Use(context.Context, string, string) (string, error) {
	return "", errors.New("down")
}
func (failingSecrets) Exists(context.Context, string, string) (bool, error) {
	return false, errors.New("down")
}

func TestUnavailableSecretsFailClosed(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.Secrets = failingSecrets{} })
	m := f.load("hostile", "hostile", hostileCaps)
	res := f.call(m, attack{"attack": "state"})
	if !res.IsError || !strings.Contains(res.Content, "the secret store is unavailable") {
		t.Fatalf("%+v", res)
	}
}

func TestLimitOverrides(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", `{"limits": {"memory_mib": 16, "timeout_ms": 1500, "max_output_bytes": 1000, "max_log_bytes": 8192}}`)
	l := m.Limits()
	if l.MemoryPages != 256 || l.Timeout != 1500*time.Millisecond || l.MaxOutputBytes != 1000 || l.MaxLogBytes != 8192 ||
		l.MaxHTTPRequests != sandbox.DefaultLimits().MaxHTTPRequests {
		t.Fatalf("limits %+v", l)
	}
	if res := f.call(m, attack{"attack": "memory"}); !strings.Contains(res.Content, "ran out of memory (limit 16 MiB)") {
		t.Fatalf("%+v", res)
	}
	if res := f.call(m, attack{"attack": "clock"}); res.IsError {
		t.Fatalf("%+v", res)
	}
	if _, err := f.loadErr("tiny", "hostile", `{"limits": {"memory_mib": 2}}`); !errors.Is(err, sandbox.ErrInvalidModule) {
		t.Fatalf("2 MiB accepted: %v", err)
	}
}
