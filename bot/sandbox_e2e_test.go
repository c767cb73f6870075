package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
	"github.com/hearthbot/hearth/sandbox/secrets"
	"github.com/hearthbot/hearth/sandbox/tooltest"
)

// sbMasterKey is the master key of these tests (HEARTH_MASTER_KEY).
var sbMasterKey = strings.Repeat("5a", 32)

// TestMain keeps the package's tests away from the developer's OS
// keychain: every bot that runs starts the sandbox, which loads the
// master key, and HEARTH_MASTER_KEY is the first place it looks.
func TestMain(m *testing.M) {
	if _, ok := os.LookupEnv(secrets.EnvMasterKey); !ok {
		if err := os.Setenv(secrets.EnvMasterKey, sbMasterKey); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// sbEnv is a process environment holding only the master key.
func sbEnv(key string) LookupEnv {
	return func(name string) (string, bool) {
		if name == secrets.EnvMasterKey && key != "" {
			return key, true
		}
		return "", false
	}
}

// sbBot is a one-shot bot (hearth run -m) with the sandbox's config, its
// log captured at debug level.
type sbBot struct {
	b    *Bot
	cfg  *config.Config
	out  *tooltest.SyncBuffer
	logs *tooltest.SyncBuffer
	stop func() // stops the sandbox (if started) and closes the bot
}

func newSBBot(t *testing.T, llm *fakellm.OpenAI, message string, extra ...string) *sbBot {
	t.Helper()
	cfg := loadConfig(t, llm.BaseURL(), append([]string{
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=false",
		"HEARTH_SANDBOX__CACHE_DIR=" + sandboxtest.CompileCacheDir(),
	}, extra...)...)
	f := &sbBot{cfg: cfg, out: &tooltest.SyncBuffer{}, logs: &tooltest.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := New(context.Background(), cfg, Options{Mode: ModeOnce, Message: message, Stdout: f.out, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	f.b = b
	f.stop = b.Close
	t.Cleanup(func() { f.stop() })
	return f
}

// start starts the sandbox as Run would, until f.stop.
func (f *sbBot) start(t *testing.T, d sandboxDeps) *sandboxRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := f.b.startSandbox(ctx, d)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	f.stop = func() {
		cancel()
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			t.Error("the sandbox did not stop")
		}
		f.b.Close()
	}
	return s
}

// runOnce runs the engine and the one-shot channel as Run does in
// ModeOnce, and returns the channel's result.
func (f *sbBot) runOnce(t *testing.T) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.b.Engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_ = f.b.once.Run(ctx, f.b.Engine)
	if err := f.b.Engine.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	return f.b.once.result()
}

// install installs a built module with the capabilities file through the
// path of `hearth tools install --yes`, and returns the review shown.
func (f *sbBot) install(t *testing.T, name, wasm, capsJSON string) sandbox.Review {
	t.Helper()
	dist := t.TempDir()
	src := sandboxtest.InstallTool(t, dist, name, wasm, capsJSON)
	rev, _, err := f.b.InstallTool(context.Background(), src, func(sandbox.Review) (bool, error) { return true, nil })
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// githubCaps is the github tool's real capabilities file.
func githubCaps(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "tools-src", "github", "github.capabilities.json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// fakeGitHub serves two issues of hearthbot/hearth; #8 echoes the
// caller's Authorization header in its body, as a careless API might.
type fakeGitHub struct {
	mu    sync.Mutex
	auths []string
}

func (g *fakeGitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.auths = append(g.auths, r.Header.Get("Authorization"))
	g.mu.Unlock()
	issue := map[string]any{"number": 7, "title": "Crash on start", "state": "open", "user": map[string]string{"login": "ana"},
		"body": "It crashes.", "created_at": "2026-11-19T09:00:00Z", "html_url": "https://github.com/hearthbot/hearth/issues/7"}
	switch r.URL.Path {
	case "/repos/hearthbot/hearth/issues/7":
	case "/repos/hearthbot/hearth/issues/8":
		issue["number"], issue["body"] = 8, "debug: request came with "+r.Header.Get("Authorization")
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(issue)
}

func (g *fakeGitHub) authorizations() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.auths)
}

// everywhere joins every place a secret must never appear: the model's
// requests, the channel's output, the audit log and the log.
func (f *sbBot) everywhere(t *testing.T, llm *fakellm.OpenAI) string {
	t.Helper()
	var b strings.Builder
	for _, r := range llm.Requests() {
		b.Write(r.Body)
	}
	b.WriteString(f.out.String())
	entries, err := f.b.Store.ListAudit(context.Background(), engine.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(entries)
	b.Write(raw)
	b.WriteString(f.logs.String())
	return b.String()
}

// databaseBytes reads the embedded store's files (database, WAL, shared
// memory) as bytes; the bot must be closed.
func databaseBytes(t *testing.T, cfg *config.Config) []byte {
	t.Helper()
	files, err := filepath.Glob(cfg.Database.Path + "*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no database files at %s: %v", cfg.Database.Path, err)
	}
	var all []byte
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, data...)
	}
	return all
}

const ghToken = "ghp_" + "R3alLookingT0kenValue0123456789abcdEF"

func TestGitHubTokenReachesOnlyTheGitHubAPI(t *testing.T) {
	wasm := sandboxtest.BuildWasm(t, "tools-src/github")["github"]
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(fakellm.Script(
		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_gh", Name: "github", Args: `{"action":"get_issue","owner":"hearthbot","repo":"hearth","number":7}`}}},
		fakellm.Reply{Text: "Issue 7 is about a crash on start."},
	))
	f := newSBBot(t, llm, "what is issue 7 of hearthbot/hearth about?")
	rev := f.install(t, "github", wasm, githubCaps(t))
	if !slices.ContainsFunc(rev.Capabilities, func(c string) bool { return strings.Contains(c, "secret: github_token") }) {
		t.Fatalf("the review does not show the secret grant: %v", rev.Capabilities)
	}
	if _, err := f.b.SetSecret(context.Background(), sbEnv(sbMasterKey), "", "github_token", []byte(ghToken)); err != nil {
		t.Fatal(err)
	}
	net := sandboxtest.NewFakeInternet(t)
	gh := &fakeGitHub{}
	net.Serve(gh, "api.github.com")
	var memMu sync.Mutex
	inMemory := false
	f.start(t, sandboxDeps{lookupEnv: sbEnv(sbMasterKey), keyring: secrets.NoKeyring{}, http: net.GateOptions(),
		inspectMemory: func(_ string, mem []byte) {
			memMu.Lock()
			defer memMu.Unlock()
			inMemory = inMemory || bytes.Contains(mem, []byte(ghToken))
		}})

	if err := f.runOnce(t); err != nil {
		t.Fatalf("run: %v (output %q)", err, f.out.String())
	}
	if !strings.Contains(f.out.String(), "crash on start") {
		t.Fatalf("reply %q", f.out.String())
	}
	// The tool's result reached the model.
	if res := llm.Requests()[1].ToolResults(); len(res) != 1 || !strings.Contains(res[0].Content, "Crash on start") {
		t.Fatalf("tool results the model saw: %+v", res)
	}
	if got := gh.authorizations(); !slices.Equal(got, []string{"Bearer " + ghToken}) {
		t.Fatalf("the fake GitHub API saw Authorization %q", got)
	}
	entries, err := f.b.Store.ListAudit(context.Background(), engine.AuditFilter{Kind: "tool", Tool: "github"})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit: %v %v", entries, err)
	}
	var sandboxed bool
	for _, e := range entries {
		var d sandbox.AuditDetail
		if json.Unmarshal([]byte(e.Detail), &d) == nil && len(d.HTTP) == 1 && slices.Equal(d.HTTP[0].Injected, []string{"github_token"}) {
			sandboxed = true
		}
	}
	if !sandboxed {
		t.Fatalf("no sandbox audit entry names the injected secret: %+v", entries)
	}

	if strings.Contains(f.everywhere(t, llm), ghToken) {
		t.Fatal("the token appears in the model's requests, the output, the audit log or the log")
	}
	memMu.Lock()
	if inMemory {
		t.Error("the token was in the guest's memory")
	}
	memMu.Unlock()
	f.stop()
	if bytes.Contains(databaseBytes(t, f.cfg), []byte(ghToken)) {
		t.Fatal("the token is in the database file in plain text")
	}
}

// leakyNotes is an untrusted tool (like an MCP server's) whose output
// holds a stored secret.
type leakyNotes struct{ text string }

func (l leakyNotes) Info() engine.ToolInfo {
	return engine.ToolInfo{Name: "read_notes", Description: "Read the user's notes.", Untrusted: true, Source: "mcp"}
}

func (l leakyNotes) Execute(context.Context, engine.ToolInvocation) (engine.ToolResult, error) {
	return engine.ToolResult{Content: "Your notes: the vault password is " + l.text + ". Buy milk."}, nil
}

func TestStoredSecretsNeverReachTheModelOrTheReply(t *testing.T) {
	const password = "hunter2-CorrectHorseBatteryStaple-7731" // no known credential format
	wasm := sandboxtest.BuildWasm(t, "tools-src/github")["github"]
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(fakellm.Script(
		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_gh", Name: "github", Args: `{"action":"get_issue","owner":"hearthbot","repo":"hearth","number":8}`}}},
		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_notes", Name: "read_notes", Args: `{}`}}},
		// A model that got the values some other way repeats them.
		fakellm.Reply{Text: "The password is " + password + " and your token is " + ghToken + "."},
	))
	f := newSBBot(t, llm, "what do issue 8 and my notes say?")
	f.install(t, "github", wasm, githubCaps(t))
	env := sbEnv(sbMasterKey)
	if _, err := f.b.SetSecret(context.Background(), env, "", "github_token", []byte(ghToken)); err != nil {
		t.Fatal(err)
	}
	if err := f.b.Tools.Register(leakyNotes{text: password}); err != nil {
		t.Fatal(err)
	}
	net := sandboxtest.NewFakeInternet(t)
	gh := &fakeGitHub{}
	net.Serve(gh, "api.github.com")
	refresh := make(chan time.Time)
	f.start(t, sandboxDeps{lookupEnv: env, keyring: secrets.NoKeyring{}, http: net.GateOptions(), refreshTicks: refresh})
	if f.b.Leaks.Scan("x "+ghToken+" x") == nil {
		t.Fatal("the secret stored before the start is not in the shared leak detector")
	}

	// Set like `hearth secrets set` in another process: the periodic
	// refresh brings it into the detector.
	if len(f.b.Leaks.Scan(password)) != 0 {
		t.Fatal("the detector knew the password before it was stored")
	}
	if _, err := f.b.SetSecret(context.Background(), env, "", "vault_password", []byte(password)); err != nil {
		t.Fatal(err)
	}
	refresh <- time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.b.Leaks.Scan("the password "+password)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the refresh never loaded the new secret into the leak detector")
		}
		refresh <- time.Now()
	}

	if err := f.runOnce(t); err != nil {
		t.Fatalf("run: %v (output %q)", err, f.out.String())
	}
	if got := gh.authorizations(); !slices.Equal(got, []string{"Bearer " + ghToken}) {
		t.Fatalf("the fake GitHub API saw Authorization %q", got)
	}
	results := llm.Requests()[2].ToolResults()
	if len(results) != 2 || !strings.Contains(results[1].Content, "blocked") {
		t.Fatalf("tool results the model saw: %+v", results)
	}
	reply := f.out.String()
	if !strings.Contains(reply, "The password is [REDACTED") {
		t.Fatalf("reply %q: the secrets were not redacted", reply)
	}
	all := f.everywhere(t, llm)
	for _, s := range []string{password, ghToken} {
		if strings.Contains(all, s) {
			t.Errorf("%.12s… appears in the model's requests, the reply, the audit log or the log", s)
		}
	}
	f.stop()
	db := databaseBytes(t, f.cfg)
	for _, s := range []string{password, ghToken} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("%.12s… is in the database file in plain text", s)
		}
	}
}

func TestHotReloadThroughTheBot(t *testing.T) {
	wasm := sandboxtest.BuildWasm(t, "sandbox/testdata/guests/trivial")["trivial"]
	t.Setenv(secrets.EnvMasterKey, sbMasterKey)
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(fakellm.Script(
		fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_t", Name: "trivial", Args: `{"text":"hello from wasm"}`}}},
		fakellm.Reply{Text: "done"},
	))
	f := newSBBot(t, llm, "use trivial", "HEARTH_SANDBOX__RELOAD_INTERVAL=20ms")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The production entry point: environment, tickers from the config.
	if err := f.b.setupSandbox(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.b.Tools.Info("trivial"); ok {
		t.Fatal("trivial is registered before it is installed")
	}
	toolsDir, _ := SandboxDirs(f.cfg)
	if err := os.WriteFile(filepath.Join(toolsDir, "trivial.capabilities.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(toolsDir, ".trivial.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(toolsDir, "trivial.wasm")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "trivial to be registered", func() bool { _, ok := f.b.Tools.Info("trivial"); return ok })

	if err := f.runOnce(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	if res := llm.Requests()[1].ToolResults(); len(res) != 1 || !strings.Contains(res[0].Content, "hello from wasm") {
		t.Fatalf("tool results the model saw: %+v", res)
	}

	if err := os.Remove(filepath.Join(toolsDir, "trivial.wasm")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "trivial to be unregistered", func() bool { _, ok := f.b.Tools.Info("trivial"); return !ok })
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}
