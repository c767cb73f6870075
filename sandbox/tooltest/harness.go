// Package tooltest runs a tool of tools-src through the full sandbox for
// its tests: built to wasm, loaded with its real capabilities file, its
// APIs faked under their real host names, secrets in an encrypted vault.
package tooltest

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
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

// SyncBuffer is a goroutine-safe buffer for log output.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Harness runs one tool of tools-src through the full sandbox: built to
// wasm, loaded with its real capabilities file, its APIs faked on the
// fake internet under their real host names, secrets in an encrypted
// vault, every call audited, and every guest memory inspected.
type Harness struct {
	T       testing.TB
	Name    string
	Net     *sandboxtest.FakeInternet
	Store   *sandboxtest.SecretStore
	Vault   *secrets.Vault
	Audit   *sandboxtest.AuditLog
	Logs    *SyncBuffer
	Runtime *sandbox.Runtime
	Module  *sandbox.Module
	User    string

	mu       sync.Mutex
	needles  []string
	inMemory map[string]bool
}

// NewToolHarness prepares the tool in toolDir (relative to the module
// root, such as "tools-src/github"). Serve fake APIs on h.Net and set
// secrets with h.Vault before calling Load.
func NewToolHarness(t testing.TB, toolDir string) *Harness {
	t.Helper()
	h := &Harness{T: t, Name: filepath.Base(toolDir), Net: sandboxtest.NewFakeInternet(t), Store: sandboxtest.NewSecretStore(), Audit: &sandboxtest.AuditLog{},
		Logs: &SyncBuffer{}, User: "owner", inMemory: map[string]bool{}}
	key, err := secrets.ParseMasterKey(strings.Repeat("c3", 32))
	if err != nil {
		t.Fatal(err)
	}
	if h.Vault, err = secrets.NewVault(h.Store, key, nil); err != nil {
		t.Fatal(err)
	}
	return h
}

// WatchMemory makes every call check whether a guest's memory ever held
// s; see SeenInMemory.
func (h *Harness) WatchMemory(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.needles = append(h.needles, s)
}

// SeenInMemory reports whether any guest memory held s at the end of a
// call.
func (h *Harness) SeenInMemory(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inMemory[s]
}

// Load builds the tool and loads it with the capabilities file beside
// its sources.
func (h *Harness) Load() *sandbox.Module {
	h.T.Helper()
	wasm := sandboxtest.BuildWasm(h.T, filepath.Join("tools-src", h.Name))[h.Name]
	root := moduleRoot(h.T)
	capsPath := filepath.Join(root, "tools-src", h.Name, h.Name+".capabilities.json")
	data, err := os.ReadFile(capsPath)
	if err != nil {
		h.T.Fatalf("every tool ships %s: %v", capsPath, err)
	}
	c, err := caps.Parse(data)
	if err != nil {
		h.T.Fatalf("%s: %v", capsPath, err)
	}
	ctx := context.Background()
	h.Runtime, err = sandbox.New(ctx, sandbox.Options{
		CacheDir: sandboxtest.CompileCacheDir(),
		Audit:    h.Audit,
		Secrets:  h.Vault,
		HTTP:     h.Net.GateOptions(),
		Logger:   slog.New(slog.NewTextHandler(h.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		InspectMemory: func(_ string, mem []byte) {
			h.mu.Lock()
			defer h.mu.Unlock()
			for _, n := range h.needles {
				if bytes.Contains(mem, []byte(n)) {
					h.inMemory[n] = true
				}
			}
		},
	})
	if err != nil {
		h.T.Fatal(err)
	}
	h.T.Cleanup(func() { _ = h.Runtime.Close(context.Background()) })
	raw, err := os.ReadFile(wasm)
	if err != nil {
		h.T.Fatal(err)
	}
	h.Module, err = h.Runtime.Load(ctx, h.Name, raw, c)
	if err != nil {
		h.T.Fatal(err)
	}
	h.T.Cleanup(func() { _ = h.Module.Close(context.Background()) })
	return h.Module
}

// Call runs the tool with args (marshalled to JSON) as h.User.
func (h *Harness) Call(args any) engine.ToolResult {
	h.T.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		h.T.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := h.Module.Execute(ctx, engine.ToolInvocation{CallID: "c1", UserID: h.User, SessionID: "s1", Args: raw, Timezone: "UTC"})
	if err != nil {
		h.T.Fatalf("Execute: %v", err)
	}
	return res
}

// Everywhere joins every place a secret must never appear that the
// harness can see: logs and audit entries.
func (h *Harness) Everywhere() string {
	var b strings.Builder
	b.WriteString(h.Logs.String())
	for _, e := range h.Audit.Entries() {
		raw, _ := json.Marshal(e)
		b.Write(raw)
	}
	return b.String()
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			t.Fatal("no go.mod above the test")
		}
	}
}
