package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
)

const hostileCaps = `{
  "http": [
    {"host": "api.example.com", "path_prefix": "/v1/", "methods": ["GET", "POST"]},
    {"host": "rebind.example.com", "methods": ["GET"]}
  ],
  "secrets": [{"name": "api_token", "inject": "bearer", "hosts": ["api.example.com"]}],
  "tools": [{"alias": "echo"}, {"alias": "needs_ok"}],
  "workspace": {"read": ["notes/"]},
  "limits": {"timeout_ms": 3000}
}`

type attack map[string]any

// TestHostileGuests runs every attack of the hostile guest. Each must end
// in a tool error with a clear message (or a contained result), and the
// next call must work: the host is unaffected.
func TestHostileGuests(t *testing.T) {
	f := newFixture(t)
	f.net.Resolve("rebind.example.com", netip.MustParseAddr("127.0.0.1"))
	m := f.load("hostile", "hostile", hostileCaps)
	canary := filepath.Join(t.TempDir(), "pwned")
	t.Setenv("HOME", "/home/hearth-canary")

	tests := []struct {
		name    string
		args    attack
		isError bool
		want    []string // substrings of the content
		never   []string // substrings the content must not have
	}{
		{"read /etc/passwd", attack{"attack": "read_file", "path": "/etc/passwd"}, true, []string{"read /etc/passwd"}, []string{"READ:", "root:"}},
		{"read a relative host path", attack{"attack": "read_file", "path": "go.mod"}, true, []string{"read go.mod"}, []string{"READ:"}},
		{"list the root", attack{"attack": "list_dir", "path": "/"}, true, []string{"list /"}, []string{"LISTED"}},
		{"write a host file", attack{"attack": "write_file", "path": canary}, true, []string{"write " + canary}, nil},
		{"read the environment", attack{"attack": "env"}, false, []string{`environ=0 home="" args=0`}, []string{"hearth-canary"}},
		{"infinite loop", attack{"attack": "loop"}, true, []string{"stopped while running: it ran longer than its 3s time limit"}, nil},
		{"memory bomb", attack{"attack": "memory"}, true, []string{"it ran out of memory (limit 64 MiB)"}, []string{"allocated"}},
		{"1 GiB to stdout", attack{"attack": "stdout_flood"}, true, []string{"it wrote more than its 65536-byte log limit"}, nil},
		{"1 GiB of log calls", attack{"attack": "log_flood"}, true, []string{"log limit"}, nil},
		{"oversized output", attack{"attack": "big_output"}, true, []string{"exceeds the 262144-byte limit"}, nil},
		{"panic", attack{"attack": "panic"}, true, []string{"tool panicked: boom"}, nil},
		{"panic in a goroutine", attack{"attack": "goroutine_panic"}, true, []string{"it crashed while running (", "panic: background boom"}, nil},
		{"exit", attack{"attack": "exit"}, true, []string{"it crashed while running (exit code 3)"}, nil},
		{"host not on the allowlist", attack{"attack": "http", "url": "https://evil.test/x"}, true, []string{"BLOCKED", "host evil.test (port 443) is not on the tool's allowlist"}, nil},
		{"path outside the prefix", attack{"attack": "http", "url": "https://api.example.com/admin"}, true, []string{"BLOCKED", `path "/admin" is outside the allowed prefix "/v1/"`}, nil},
		{"dot-dot traversal", attack{"attack": "http", "url": "https://api.example.com/v1/../admin"}, true, []string{"BLOCKED", `path "/admin" is outside`}, nil},
		{"encoded traversal", attack{"attack": "http", "url": "https://api.example.com/v1/%2e%2e/admin"}, true, []string{"BLOCKED", `path "/admin" is outside`}, nil},
		{"encoded slash", attack{"attack": "http", "url": "https://api.example.com/v1/..%2Fadmin"}, true, []string{"BLOCKED", "encoded separator"}, nil},
		{"userinfo", attack{"attack": "http", "url": "https://api.example.com@evil.test/v1/"}, true, []string{"BLOCKED", "credentials in the URL"}, nil},
		{"redirect to a non-allowlisted host", attack{"attack": "http", "url": "https://api.example.com/v1/redirect"}, true, []string{"BLOCKED", "redirect refused: host evil.test"}, nil},
		{"allowlisted name resolving to 127.0.0.1", attack{"attack": "http", "url": "https://rebind.example.com/"}, true, []string{"BLOCKED", "rebind.example.com resolves to 127.0.0.1 (a loopback address)"}, nil},
		{"secret smuggled into the query", attack{"attack": "http", "url": "https://api.example.com/v1/x?t=" + url.QueryEscape(secretValue)}, true, []string{"BLOCKED", "stored_secret (api_token)"}, []string{secretValue}},
		{"secret smuggled into the body", attack{"attack": "http", "method": "POST", "url": "https://api.example.com/v1/x", "body": "note=" + secretValue}, true, []string{"BLOCKED", "stored_secret (api_token)"}, []string{secretValue}},
		{"response containing a secret", attack{"attack": "http", "url": "https://api.example.com/v1/whoami"}, true, []string{"BLOCKED", "the response contained", "stored_secret (api_token)", "withheld"}, []string{secretValue}},
		{"overriding the injected header", attack{"attack": "http", "url": "https://api.example.com/v1/x", "headers": map[string]string{"Authorization": "Bearer mine"}}, true, []string{"BLOCKED", "set by the host for secret api_token"}, nil},
		{"invoking a tool not granted", attack{"attack": "invoke", "name": "secret_tool"}, true, []string{"blocked: this tool may not invoke \"secret_tool\""}, nil},
		{"invoking a tool that needs approval", attack{"attack": "invoke", "name": "needs_ok"}, true, []string{"needs the owner's approval"}, nil},
		{"probing a secret not granted", attack{"attack": "secret_exists", "name": "other_secret"}, false, []string{"exists=false"}, nil},
		{"workspace outside the grant", attack{"attack": "workspace", "path": "SOUL.md"}, true, []string{`"SOUL.md" is outside the workspace paths`}, []string{"soul"}},
		{"workspace traversal", attack{"attack": "workspace", "path": "notes/../SOUL.md"}, true, []string{"has an empty, . or .. segment"}, []string{"soul"}},
		{"workspace document holding a secret", attack{"attack": "workspace", "path": "notes/leak.md"}, false, []string{"my token is [REDACTED:secret:api_token]"}, []string{secretValue}},
		{"echoing a secret passed as a parameter", attack{"attack": "echo_secret_param", "body": secretValue}, false, []string{"[REDACTED:secret:api_token]"}, []string{secretValue}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := f.call(m, tt.args)
			if res.IsError != tt.isError {
				t.Fatalf("IsError = %v, want %v; content: %s", res.IsError, tt.isError, res.Content)
			}
			for _, w := range tt.want {
				if !strings.Contains(res.Content, w) {
					t.Errorf("content lacks %q:\n%s\nlogs: %s", w, res.Content, lastLines(f.logs.String(), 8))
				}
			}
			for _, n := range tt.never {
				if strings.Contains(res.Content, n) {
					t.Errorf("content has %q:\n%s", n, res.Content)
				}
			}
			// The host is unaffected: the next call works, in a fresh
			// instance.
			if next := f.call(m, attack{"attack": "state"}); next.IsError || next.Content != "calls=1" {
				t.Fatalf("the call after the attack failed: %+v", next)
			}
		})
	}

	if _, err := os.Stat(canary); !os.IsNotExist(err) {
		t.Fatal("the guest wrote a host file")
	}
	for _, r := range f.evil.requests() {
		t.Errorf("evil.test received %s", r)
	}
	for _, r := range f.api.requests() {
		if strings.Contains(r, "/admin") || strings.Contains(r, "body=note") || strings.Contains(r, "?t=") {
			t.Errorf("a blocked request reached the API: %s", r)
		}
	}
	if strings.Contains(f.everywhere(), secretValue) {
		t.Fatal("the secret value appears in logs, audit or at evil.test")
	}
	if got := f.tools.called(); len(got) != 0 {
		t.Fatalf("refused tool invocations ran: %v", got)
	}
}

func TestAllowedCapabilitiesWork(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)

	res := f.call(m, attack{"attack": "http", "url": "https://api.example.com/v1/items"})
	if res.IsError || res.Content != "status=200 body=ok /v1/items" {
		t.Fatalf("allowed request: %+v", res)
	}
	seen := f.api.requests()
	if len(seen) != 1 || !strings.Contains(seen[0], "auth=Bearer "+secretValue) {
		t.Fatalf("the API did not get the injected token: %v", seen)
	}
	if res := f.call(m, attack{"attack": "invoke", "name": "echo", "params": map[string]any{"text": "hi"}}); res.IsError || !strings.Contains(res.Content, `echo:{"text":"hi"}`) {
		t.Fatalf("granted invoke: %+v", res)
	}
	if res := f.call(m, attack{"attack": "secret_exists", "name": "api_token"}); res.Content != "exists=true" {
		t.Fatalf("secret_exists: %+v", res)
	}
	if res := f.call(m, attack{"attack": "workspace", "path": "notes/a.md"}); res.IsError || res.Content != "WORKSPACE: note A" {
		t.Fatalf("workspace: %+v", res)
	}
	if res := f.call(m, attack{"attack": "sleep", "millis": 30}); res.IsError || !strings.HasPrefix(res.Content, "slept ") {
		t.Fatalf("sleep: %+v", res)
	}
	res = f.call(m, attack{"attack": "clock"})
	var now, host int64
	if _, err := fmtSscanf(res.Content, &now, &host); err != nil || abs(now-host) > 5000 || abs(now-time.Now().UnixMilli()) > 5000 {
		t.Fatalf("clocks: %q", res.Content)
	}

	// Every call is audited, the secret never.
	entries := f.audit.Entries()
	if len(entries) != 6 {
		t.Fatalf("%d audit entries, want 6", len(entries))
	}
	first := entries[0]
	var detail sandbox.AuditDetail
	if err := json.Unmarshal([]byte(first.Detail), &detail); err != nil {
		t.Fatal(err)
	}
	if first.Tool != "hostile" || first.UserID != "u1" || first.SessionID != "s1" || first.Outcome != "ok" ||
		len(detail.HTTP) != 1 || detail.HTTP[0].Injected[0] != "api_token" || detail.HTTP[0].Status != 200 {
		t.Fatalf("audit entry %+v detail %+v", first, detail)
	}
	if strings.Contains(f.everywhere(), secretValue) {
		t.Fatal("the secret value leaked into logs or audit")
	}
	list, _ := f.vault.List(f.ctx, "u1")
	for _, s := range list {
		if s.Name == "api_token" && s.LastUsed.IsZero() {
			t.Fatal("injection did not record the secret's use")
		}
	}
}

func TestBlockedRequestIsAudited(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)
	f.call(m, attack{"attack": "http", "url": "https://evil.test/x"})
	e := f.audit.Last()
	var detail sandbox.AuditDetail
	_ = json.Unmarshal([]byte(e.Detail), &detail)
	if e.Outcome != "blocked" || len(detail.Blocked) != 1 || !strings.Contains(detail.Blocked[0], "allowlist: host evil.test") {
		t.Fatalf("audit %+v detail %+v", e, detail)
	}
}

func TestFreshInstanceEveryCall(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		if res := f.call(m, attack{"attack": "state"}); res.Content != "calls=1" {
			t.Fatalf("call %d: %q (state leaked between calls)", i, res.Content)
		}
		r := f.call(m, attack{"attack": "random"})
		if seen[r.Content] {
			t.Fatalf("crypto/rand repeated %s", r.Content)
		}
		seen[r.Content] = true
	}
}

func TestNoSnapshotModeBehavesTheSame(t *testing.T) {
	f := newFixture(t, func(o *sandbox.Options) { o.NoSnapshot = true })
	m := f.load("hostile", "hostile", hostileCaps)
	for _, a := range []attack{{"attack": "state"}, {"attack": "state"}} {
		if res := f.call(m, a); res.Content != "calls=1" {
			t.Fatalf("%+v", res)
		}
	}
	if res := f.call(m, attack{"attack": "read_file", "path": "/etc/passwd"}); !res.IsError {
		t.Fatalf("%+v", res)
	}
}

func TestCallerCancellationStopsTheGuest(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := m.Execute(ctx, engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"attack":"loop"}`)})
		done <- err
	}()
	// Cancel once the guest is looping (it logs first).
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(f.logs.String(), "guest: looping") {
		if time.Now().After(deadline) {
			t.Fatal("the guest never started looping")
		}
		runtime.Gosched()
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "context canceled") {
			t.Fatalf("Execute = %v, want context canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cancellation did not stop the guest")
	}
	if res := f.call(m, attack{"attack": "state"}); res.Content != "calls=1" {
		t.Fatalf("after cancellation: %+v", res)
	}
}

func TestConcurrentCalls(t *testing.T) {
	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)
	const n = 16
	errs := make(chan string, n)
	for i := 0; i < n; i++ {
		go func() {
			res, err := m.Execute(context.Background(), engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"attack":"state"}`)})
			if err != nil || res.Content != "calls=1" {
				errs <- res.Content
				return
			}
			errs <- ""
		}()
	}
	for i := 0; i < n; i++ {
		if e := <-errs; e != "" {
			t.Fatalf("concurrent call: %q", e)
		}
	}
}

func fmtSscanf(s string, now, host *int64) (int, error) {
	return fmt.Sscanf(s, "now=%d host=%d", now, host)
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
