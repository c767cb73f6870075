package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
)

// fakeRegistry records what the loader registers, like engine/tools.
type fakeRegistry struct {
	mu    sync.Mutex
	tools map[string]engine.Tool
	log   []string
}

func newFakeRegistry() *fakeRegistry { return &fakeRegistry{tools: map[string]engine.Tool{}} }

func (r *fakeRegistry) Register(t engine.Tool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := t.Info().Name
	if _, ok := r.tools[name]; ok {
		return fmt.Errorf("tool %q: duplicate", name)
	}
	r.tools[name] = t
	r.log = append(r.log, "register "+name)
	return nil
}

func (r *fakeRegistry) Replace(t engine.Tool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tools[t.Info().Name] = t
	r.log = append(r.log, "replace "+t.Info().Name)
	return nil
}

func (r *fakeRegistry) Unregister(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.tools[name]
	delete(r.tools, name)
	r.log = append(r.log, "unregister "+name)
	return ok
}

func (r *fakeRegistry) get(name string) (engine.Tool, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.tools[name]
	return t, ok
}

func toolsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tools")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func execute(t *testing.T, tool engine.Tool, args string) engine.ToolResult {
	t.Helper()
	res, err := tool.Execute(context.Background(), engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(args)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func kinds(events []sandbox.Event) string {
	var parts []string
	for _, e := range events {
		parts = append(parts, e.Tool+":"+string(e.Kind))
	}
	return strings.Join(parts, ",")
}

func TestHotReload(t *testing.T) {
	f := newFixture(t)
	dir := toolsDir(t)
	reg := newFakeRegistry()
	l := sandbox.NewLoader(f.rt, dir, reg, sandbox.LoaderOptions{})
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	ctx := context.Background()
	scan := func() []sandbox.Event {
		t.Helper()
		ev, err := l.Scan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}

	if ev := scan(); len(ev) != 0 {
		t.Fatalf("empty directory: %v", ev)
	}
	// Dropping a module and its capabilities file registers it.
	sandboxtest.InstallTool(t, dir, "echo", f.wasm["trivial"], "{}")
	if ev := scan(); kinds(ev) != "echo:loaded" {
		t.Fatalf("events %s", kinds(ev))
	}
	tool, ok := reg.get("echo")
	if !ok || execute(t, tool, `{"text":"v1"}`).Content != "v1" {
		t.Fatal("echo not serving")
	}
	if ev := scan(); len(ev) != 0 {
		t.Fatalf("unchanged directory: %v", kinds(ev))
	}

	// A broken module is refused with a clear error, and the previous
	// version keeps serving; it is not retried until it changes.
	if err := os.WriteFile(filepath.Join(dir, "echo.wasm"), []byte("\x00asm\x01\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	ev := scan()
	if kinds(ev) != "echo:refused" || !errors.Is(ev[0].Err, sandbox.ErrInvalidModule) {
		t.Fatalf("broken module: %s %v", kinds(ev), ev)
	}
	if got, _ := reg.get("echo"); got != tool || execute(t, got, `{"text":"still"}`).Content != "still" {
		t.Fatal("the previous version stopped serving")
	}
	if ev := scan(); len(ev) != 0 {
		t.Fatalf("a refused module was retried: %s", kinds(ev))
	}
	st := l.Status()
	if len(st) != 1 || !st[0].Serving || !strings.Contains(st[0].Error, "invalid tool module") {
		t.Fatalf("status %+v", st)
	}

	// A good new version replaces the old one.
	sandboxtest.InstallTool(t, dir, "echo", f.wasm["hostile"], hostileCaps)
	if ev := scan(); kinds(ev) != "echo:replaced" {
		t.Fatalf("events %s", kinds(ev))
	}
	tool2, _ := reg.get("echo")
	if tool2 == tool || !strings.Contains(tool2.Info().Description, "Attacks the sandbox") {
		t.Fatalf("not replaced: %+v", tool2.Info())
	}
	if res := execute(t, tool, `{"text":"old"}`); !res.IsError || !strings.Contains(res.Content, "unloaded") {
		t.Fatalf("the retired version still runs: %+v", res)
	}

	// Removing the capabilities file revokes the tool; putting it back
	// brings it back.
	capsPath := filepath.Join(dir, "echo.capabilities.json")
	if err := os.Remove(capsPath); err != nil {
		t.Fatal(err)
	}
	if ev := scan(); kinds(ev) != "echo:removed" {
		t.Fatalf("events %s", kinds(ev))
	}
	if _, ok := reg.get("echo"); ok {
		t.Fatal("a tool without capabilities is still registered")
	}
	if ev := scan(); kinds(ev) != "echo:refused" || !strings.Contains(ev[0].Err.Error(), "capabilities file") {
		t.Fatalf("events %s %v", kinds(ev), ev)
	}
	if err := os.WriteFile(capsPath, []byte(hostileCaps), 0o644); err != nil {
		t.Fatal(err)
	}
	if ev := scan(); kinds(ev) != "echo:loaded" {
		t.Fatalf("events %s", kinds(ev))
	}

	// Invalid capabilities are refused, naming the field.
	sandboxtest.InstallTool(t, dir, "other", f.wasm["trivial"], `{"http":[{"host":"a.com"}]}`)
	ev = scan()
	if kinds(ev) != "other:refused" || !strings.Contains(ev[0].Err.Error(), "http[0].methods") {
		t.Fatalf("events %s %v", kinds(ev), ev)
	}
	// A bad file name is refused.
	sandboxtest.InstallTool(t, dir, "Bad-Name", f.wasm["trivial"], "{}")
	if ev := scan(); kinds(ev) != "Bad-Name:refused" {
		t.Fatalf("events %s", kinds(ev))
	}

	// Removing the module unregisters it.
	for _, n := range []string{"echo", "other", "Bad-Name"} {
		_ = os.Remove(filepath.Join(dir, n+".wasm"))
	}
	if ev := scan(); kinds(ev) != "echo:removed" {
		t.Fatalf("events %s", kinds(ev))
	}
	if _, ok := reg.get("echo"); ok || len(l.Status()) != 0 {
		t.Fatalf("after removal: status %+v", l.Status())
	}
}

func TestWatchReactsToTicks(t *testing.T) {
	f := newFixture(t)
	dir := toolsDir(t)
	reg := newFakeRegistry()
	l := sandbox.NewLoader(f.rt, dir, reg, sandbox.LoaderOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	done := make(chan error, 1)
	go func() { done <- l.Watch(ctx, ticks) }()

	sandboxtest.InstallTool(t, dir, "echo", f.wasm["trivial"], "{}")
	ticks <- time.Now() // the first scan ran at start; this one sees the tool
	ticks <- time.Now() // returns once the previous scan finished
	if _, ok := reg.get("echo"); !ok {
		t.Fatal("the tick did not register the dropped tool")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = l.Close(context.Background())
	if _, ok := reg.get("echo"); ok {
		t.Fatal("Close left the tool registered")
	}
}

func TestToolsDirectoryMustBePrivate(t *testing.T) {
	f := newFixture(t)
	dir := toolsDir(t)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	l := sandbox.NewLoader(f.rt, dir, newFakeRegistry(), sandbox.LoaderOptions{})
	if _, err := l.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("Scan = %v", err)
	}
}

func TestInstall(t *testing.T) {
	f := newFixture(t)
	src := t.TempDir()
	wasm := sandboxtest.InstallTool(t, src, "hostile", f.wasm["hostile"], hostileCaps)
	dir := toolsDir(t)
	ctx := context.Background()

	var shown sandbox.Review
	_, err := sandbox.Install(ctx, f.rt, wasm, dir, func(r sandbox.Review) (bool, error) { shown = r; return false, nil })
	if !errors.Is(err, sandbox.ErrDeclined) {
		t.Fatalf("declined install: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a declined install wrote %d files", len(entries))
	}
	text := shown.String()
	for _, want := range []string{`Install tool "hostile"`, "Attacks the sandbox", "network: HTTPS GET, POST to api.example.com under /v1/",
		"secret: api_token, injected by the host as Authorization: Bearer, only to api.example.com", "tools: may invoke needs_ok",
		"workspace: reads your documents under notes/", "Limits per call: 64 MiB memory, 3s"} {
		if !strings.Contains(text, want) {
			t.Errorf("review lacks %q:\n%s", want, text)
		}
	}
	rev, err := sandbox.Install(ctx, f.rt, wasm, dir, func(sandbox.Review) (bool, error) { return true, nil })
	if err != nil || rev.Replaces {
		t.Fatalf("install: %v %+v", err, rev)
	}
	for _, n := range []string{"hostile.wasm", "hostile.capabilities.json"} {
		want, _ := os.ReadFile(filepath.Join(src, n))
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s not installed intact: %v", n, err)
		}
	}
	rev, _ = sandbox.Install(ctx, f.rt, wasm, dir, func(sandbox.Review) (bool, error) { return false, nil })
	if !rev.Replaces || !strings.HasPrefix(rev.String(), "Replace tool") {
		t.Fatalf("reinstall review: %+v", rev)
	}

	// A broken module is refused before anyone is asked.
	broken := filepath.Join(src, "broken.wasm")
	_ = os.WriteFile(broken, []byte("not wasm"), 0o644)
	_ = os.WriteFile(filepath.Join(src, "broken.capabilities.json"), []byte("{}"), 0o644)
	asked := false
	if _, err := sandbox.Install(ctx, f.rt, broken, dir, func(sandbox.Review) (bool, error) { asked = true; return true, nil }); err == nil || asked {
		t.Fatalf("broken install: err %v, asked %v", err, asked)
	}
	noCaps := filepath.Join(src, "lonely.wasm")
	data, _ := os.ReadFile(f.wasm["trivial"])
	_ = os.WriteFile(noCaps, data, 0o644)
	if _, err := sandbox.Install(ctx, f.rt, noCaps, dir, func(sandbox.Review) (bool, error) { return true, nil }); err == nil || !strings.Contains(err.Error(), "capabilities file") {
		t.Fatalf("install without capabilities: %v", err)
	}
}

func TestInspect(t *testing.T) {
	f := newFixture(t)
	dir := toolsDir(t)
	sandboxtest.InstallTool(t, dir, "hostile", f.wasm["hostile"], hostileCaps)
	sandboxtest.InstallTool(t, dir, "broken", f.wasm["trivial"], `{"http": 1}`)
	st, err := sandbox.Inspect(context.Background(), f.rt, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "broken" || st[0].Serving || !strings.Contains(st[0].Error, "capabilities") ||
		st[1].Name != "hostile" || !st[1].Serving || len(st[1].SHA256) != 64 || len(st[1].Capabilities) < 4 {
		t.Fatalf("status %+v", st)
	}
}

func TestRunValidatesParameters(t *testing.T) {
	f := newFixture(t)
	src := t.TempDir()
	wasm := sandboxtest.InstallTool(t, src, "echo", f.wasm["trivial"], "{}")
	ctx := context.Background()
	res, err := sandbox.Run(ctx, f.rt, wasm, engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"text":"hello"}`)})
	if err != nil || res.IsError || res.Content != "hello" {
		t.Fatalf("run: %v %+v", err, res)
	}
	res, err = sandbox.Run(ctx, f.rt, wasm, engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{"txt":1}`)})
	if err != nil || !res.IsError || !strings.Contains(res.Content, "invalid parameters") || !strings.Contains(res.Content, "text") {
		t.Fatalf("bad params: %v %+v", err, res)
	}
	res, _ = sandbox.Run(ctx, f.rt, wasm, engine.ToolInvocation{UserID: "u1", Args: json.RawMessage(`{not json`)})
	if !res.IsError || !strings.Contains(res.Content, "not valid JSON") {
		t.Fatalf("bad JSON: %+v", res)
	}
}

func TestParseSinceAndWriteAudit(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90m":                  now.Add(-90 * time.Minute),
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.AddDate(0, 0, -7),
		"2026-11-20":           time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		"2026-11-20T10:00:00Z": time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
	} {
		got, err := sandbox.ParseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-5h", "7dd", "2026-13-01"} {
		if _, err := sandbox.ParseSince(bad, now); err == nil {
			t.Errorf("ParseSince(%q) accepted", bad)
		}
	}

	f := newFixture(t)
	m := f.load("hostile", "hostile", hostileCaps)
	f.call(m, attack{"attack": "http", "url": "https://evil.test/x"})
	var b strings.Builder
	if err := sandbox.WriteAudit(&b, f.audit.Entries()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "tool     blocked hostile") || !strings.Contains(out, "GET https://evil.test/x -> BLOCKED allowlist: host evil.test") {
		t.Fatalf("audit output:\n%s", out)
	}
}
