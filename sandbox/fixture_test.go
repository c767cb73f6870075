package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
	"github.com/hearthbot/hearth/sandbox/secrets"
)

// guestDirs are the test guests, built once per source change.
var guestDirs = []string{"sandbox/testdata/guests/trivial", "sandbox/testdata/guests/hostile"}

const secretValue = "hunter2-" + "TopSecretApiToken-42"

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeTools is a ToolInvoker with a few tools.
type fakeTools struct {
	mu    sync.Mutex
	calls []string
	infos map[string]engine.ToolInfo
}

func newFakeTools() *fakeTools {
	return &fakeTools{infos: map[string]engine.ToolInfo{
		"echo":        {Name: "echo"},
		"needs_ok":    {Name: "needs_ok", NeedsApproval: true},
		"secret_tool": {Name: "secret_tool"},
	}}
}

func (f *fakeTools) Info(name string) (engine.ToolInfo, bool) {
	i, ok := f.infos[name]
	return i, ok
}

func (f *fakeTools) Execute(_ context.Context, name string, inv engine.ToolInvocation) (engine.ToolResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, name)
	f.mu.Unlock()
	return engine.ToolResult{Content: "echo:" + string(inv.Args)}, nil
}

func (f *fakeTools) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// fakeWorkspace serves documents by path.
type fakeWorkspace map[string]string

func (w fakeWorkspace) ReadDocument(_ context.Context, user, path string) (string, error) {
	if user != "u1" {
		return "", fmt.Errorf("user %s: %w", user, engine.ErrNotFound)
	}
	text, ok := w[path]
	if !ok {
		return "", fmt.Errorf("%s: %w", path, engine.ErrNotFound)
	}
	return text, nil
}

// apiServer is the fake api.example.com.
type apiServer struct {
	mu   sync.Mutex
	seen []string
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.seen = append(a.seen, r.Method+" "+r.Host+r.URL.RequestURI()+" auth="+r.Header.Get("Authorization")+" body="+string(b))
	a.mu.Unlock()
	switch r.URL.Path {
	case "/v1/redirect":
		http.Redirect(w, r, "https://evil.test/collect", http.StatusFound)
	case "/v1/whoami":
		_, _ = io.WriteString(w, "you sent "+r.Header.Get("Authorization"))
	default:
		_, _ = io.WriteString(w, "ok "+r.URL.Path)
	}
}

func (a *apiServer) requests() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.seen...)
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	net   *sandboxtest.FakeInternet
	rt    *sandbox.Runtime
	audit *sandboxtest.AuditLog
	store *sandboxtest.SecretStore
	vault *secrets.Vault
	logs  *syncBuffer
	tools *fakeTools
	api   *apiServer
	evil  *apiServer
	wasm  map[string]string
}

func newFixture(t *testing.T, mutate ...func(*sandbox.Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: context.Background(), net: sandboxtest.NewFakeInternet(t), audit: &sandboxtest.AuditLog{},
		store: sandboxtest.NewSecretStore(), logs: &syncBuffer{}, tools: newFakeTools(), api: &apiServer{}, evil: &apiServer{}}
	f.wasm = sandboxtest.BuildWasm(t, guestDirs...)
	f.net.Serve(f.api, "api.example.com")
	f.net.Serve(f.evil, "evil.test")
	key, err := secrets.ParseMasterKey(strings.Repeat("5a", 32))
	if err != nil {
		t.Fatal(err)
	}
	f.vault, err = secrets.NewVault(f.store, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.vault.Set(f.ctx, "u1", "api_token", []byte(secretValue)); err != nil {
		t.Fatal(err)
	}
	if err := f.vault.Set(f.ctx, "u1", "other_secret", []byte("another-secret-value-99")); err != nil {
		t.Fatal(err)
	}
	opts := sandbox.Options{
		CacheDir:  sandboxtest.CompileCacheDir(),
		Audit:     f.audit,
		Secrets:   f.vault,
		Tools:     f.tools,
		Workspace: fakeWorkspace{"notes/a.md": "note A", "notes/leak.md": "my token is " + secretValue, "SOUL.md": "soul"},
		HTTP:      f.net.GateOptions(),
		Logger:    slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&opts)
	}
	f.rt, err = sandbox.New(f.ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.rt.Close(context.Background()) })
	return f
}

// load loads a built guest under name with the capabilities JSON.
func (f *fixture) load(name, guest, capsJSON string) *sandbox.Module {
	f.t.Helper()
	m, err := f.loadErr(name, guest, capsJSON)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) loadErr(name, guest, capsJSON string) (*sandbox.Module, error) {
	f.t.Helper()
	c, err := caps.Parse([]byte(capsJSON))
	if err != nil {
		f.t.Fatal(err)
	}
	wasm, err := os.ReadFile(f.wasm[guest])
	if err != nil {
		f.t.Fatal(err)
	}
	m, err := f.rt.Load(f.ctx, name, wasm, c)
	if err == nil {
		f.t.Cleanup(func() { _ = m.Close(context.Background()) })
	}
	return m, err
}

// call runs the tool as user u1 with args marshalled to JSON.
func (f *fixture) call(m *sandbox.Module, args any) engine.ToolResult {
	f.t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(f.ctx, time.Minute)
	defer cancel()
	res, err := m.Execute(ctx, engine.ToolInvocation{CallID: "call-1", UserID: "u1", SessionID: "s1", Args: raw, Timezone: "Europe/Oslo"})
	if err != nil {
		f.t.Fatalf("Execute returned a Go error: %v", err)
	}
	return res
}

// everywhere returns every place a secret could leak to that the test
// can see: logs, audit entries, fake servers other than the intended.
func (f *fixture) everywhere() string {
	var b strings.Builder
	b.WriteString(f.logs.String())
	for _, e := range f.audit.Entries() {
		raw, _ := json.Marshal(e)
		b.Write(raw)
	}
	for _, r := range f.evil.requests() {
		b.WriteString(r)
	}
	return b.String()
}
