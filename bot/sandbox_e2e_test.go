package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"github.com/hearthbot/hearth/engine/leak"
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

// adminBot opens the store only, as the CLI's subcommands do.
func adminBot(t *testing.T, cfg *config.Config) *Bot {
	t.Helper()
	b, err := New(context.Background(), cfg, Options{Mode: ModeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func checksNamed(checks []Check, name string) []Check {
	var out []Check
	for _, c := range checks {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func TestDoctorSandboxChecks(t *testing.T) {
	ctx := context.Background()
	trivial := sandboxtest.BuildWasm(t, "sandbox/testdata/guests/trivial")["trivial"]
	llm := fakellm.NewOpenAI(t)
	cfg := loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false", "HEARTH_SANDBOX__CACHE_DIR="+sandboxtest.CompileCacheDir())
	toolsDir, _ := SandboxDirs(cfg)
	doctor := func(key string) []Check {
		return Doctor(ctx, cfg, DoctorOptions{LookupEnv: sbEnv(key), Keyring: secrets.NoKeyring{}})
	}
	expect := func(checks []Check, name string, sev Severity, detail string) {
		t.Helper()
		for _, c := range checksNamed(checks, name) {
			if c.Severity == sev && strings.Contains(c.Detail, detail) {
				if sev != OK && c.Fix == "" {
					t.Errorf("%s %s has no fix hint", sev, name)
				}
				return
			}
		}
		t.Errorf("no %s check %q containing %q in %+v", sev, name, detail, checksNamed(checks, name))
	}

	// A fresh home: nothing yet, and the doctor creates nothing.
	checks := doctor("")
	expect(checks, "master key", OK, "none yet")
	expect(checks, "secrets", OK, "none stored")
	expect(checks, "tools", OK, "none installed")
	for _, p := range []string{filepath.Join(cfg.Home, secrets.KeyFileName), toolsDir} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the doctor created %s", p)
		}
	}

	// A key file made by the first secret: a warning; the secret opens.
	b := adminBot(t, cfg)
	vault, info, err := b.openVault(ctx, sbEnv(""), secrets.NoKeyring{})
	if err != nil || info.Source != secrets.SourceFile {
		t.Fatalf("vault: %v %+v", err, info)
	}
	owner, err := b.userOrOwner(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := vault.Set(ctx, owner.ID, "github_token", []byte(ghToken)); err != nil {
		t.Fatal(err)
	}
	checks = doctor("")
	expect(checks, "master key", Warn, "beside the data it protects")
	expect(checks, "secrets", OK, "1 stored, all decrypt")

	// Another key in the environment: it wins, and the secret does not open.
	checks = doctor(sbMasterKey)
	expect(checks, "master key", OK, "from HEARTH_MASTER_KEY")
	expect(checks, "secrets", Fail, owner.ID+"/github_token")
	expect(doctor("not-a-key"), "master key", Fail, "HEARTH_MASTER_KEY")

	// An installed tool loads; a broken one is reported, not fatal.
	adminInstall(t, b, "trivial", trivial)
	if err := os.WriteFile(filepath.Join(toolsDir, "broken.capabilities.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(toolsDir, "broken.wasm"), []byte("\x00asm garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	checks = doctor("")
	expect(checks, "tools", OK, "1 loaded")
	expect(checks, "tools", Warn, "broken is refused")
	if err := os.Chmod(toolsDir, 0o777); err != nil {
		t.Fatal(err)
	}
	expect(doctor(""), "tools", Fail, "writable by group or others")

	bad := *cfg
	bad.Sandbox.MemoryMiB = 1
	expect(Doctor(ctx, &bad, DoctorOptions{LookupEnv: sbEnv(""), Keyring: secrets.NoKeyring{}}), "sandbox", Fail, "sandbox.memory_mib")
}

// adminInstall installs a module with empty capabilities through
// InstallTool, as `hearth tools install --yes` does.
func adminInstall(t *testing.T, b *Bot, name, wasm string) {
	t.Helper()
	src := sandboxtest.InstallTool(t, t.TempDir(), name, wasm, "{}")
	if _, _, err := b.InstallTool(context.Background(), src, func(sandbox.Review) (bool, error) { return true, nil }); err != nil {
		t.Fatal(err)
	}
}

func TestSandboxProblems(t *testing.T) {
	tests := []struct {
		name string
		set  func(*config.SandboxConfig)
		key  string
	}{
		{"defaults", func(*config.SandboxConfig) {}, ""},
		{"reload too fast", func(s *config.SandboxConfig) { s.ReloadInterval = time.Millisecond }, "sandbox.reload_interval"},
		{"refresh zero", func(s *config.SandboxConfig) { s.SecretsRefresh = 0 }, "sandbox.secrets_refresh"},
		{"negative concurrency", func(s *config.SandboxConfig) { s.MaxConcurrent = -1 }, "sandbox.max_concurrent"},
		{"memory above the host maximum", func(s *config.SandboxConfig) { s.MemoryMiB = 512 }, "sandbox.memory_mib"},
		{"timeout above the host maximum", func(s *config.SandboxConfig) { s.Timeout = time.Hour }, "sandbox.timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.set(&cfg.Sandbox)
			err := SandboxProblems(&cfg)
			var ce *config.Error
			switch {
			case tt.key == "" && err != nil:
				t.Fatalf("unexpected: %v", err)
			case tt.key != "" && (!errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Key != tt.key):
				t.Fatalf("want a problem with %s, got %v", tt.key, err)
			}
		})
	}
}

func TestLeakDetectorHoldsEveryUsersSecrets(t *testing.T) {
	ctx := context.Background()
	llm := fakellm.NewOpenAI(t)
	b := adminBot(t, loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false"))
	b.Leaks = leak.New(leak.Options{})
	vault, _, err := b.openVault(ctx, sbEnv(sbMasterKey), secrets.NoKeyring{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := secrets.ParseMasterKey(strings.Repeat("77", 32))
	if err != nil {
		t.Fatal(err)
	}
	otherVault, err := secrets.NewVault(b.Store, other, nil)
	if err != nil {
		t.Fatal(err)
	}
	owner, _ := b.userOrOwner(ctx, "")
	for _, id := range []string{"bea", "cyd", "dan"} {
		if err := b.Store.CreateUser(ctx, engine.User{ID: id, Name: id, Role: engine.RoleMember, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	values := map[string]string{owner.ID: "owner-value-0001", "bea": "bea-value-00002", "cyd": "owner-value-0001"}
	for user, v := range values {
		if err := vault.Set(ctx, user, "api_key", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// dan's secret was sealed under another master key.
	if err := otherVault.Set(ctx, "dan", "api_key", []byte("dan-value-000003")); err != nil {
		t.Fatal(err)
	}
	fed, broken, err := b.feedLeaks(ctx, vault, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(broken, []string{"dan"}) || len(fed) != 2 || b.Leaks.SecretCount() != 2 {
		t.Fatalf("fed %d secrets (detector %d), broken %v", len(fed), b.Leaks.SecretCount(), broken)
	}
	var names []string
	for _, v := range []string{"owner-value-0001", "bea-value-00002"} {
		fs := b.Leaks.Scan("x " + v + " x")
		if len(fs) != 1 || fs[0].Action != leak.ActionBlock {
			t.Fatalf("%s: findings %+v", v, fs)
		}
		names = append(names, fs[0].SecretName)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"api_key", "api_key~2"}) {
		t.Fatalf("secret names in findings %v", names)
	}
	if _, err := b.DeleteSecret(ctx, "bea", "api_key"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.feedLeaks(ctx, vault, fed); err != nil {
		t.Fatal(err)
	}
	if b.Leaks.Scan("bea-value-00002") != nil || b.Leaks.Scan("owner-value-0001") == nil {
		t.Fatal("a refresh did not replace the detector's secrets")
	}
}

func TestWorkspaceReader(t *testing.T) {
	ctx := context.Background()
	llm := fakellm.NewOpenAI(t)
	b := adminBot(t, loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false"))
	owner, _ := b.userOrOwner(ctx, "")
	ds, ok := b.Store.(engine.DocumentStore)
	if !ok {
		t.Fatalf("the embedded store (%T) keeps no documents", b.Store)
	}
	if _, err := ds.WriteDocument(ctx, engine.DocumentWrite{UserID: owner.ID, Path: "notes/a.md", Content: "note A"}); err != nil {
		t.Fatal(err)
	}
	w := workspaceReader(b.Store)
	if got, err := w.ReadDocument(ctx, owner.ID, "notes/a.md"); err != nil || got != "note A" {
		t.Fatalf("read: %q %v", got, err)
	}
	if _, err := w.ReadDocument(ctx, "someone-else", "notes/a.md"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("another user's read: %v", err)
	}
	if _, err := (noWorkspace{store: "x"}).ReadDocument(ctx, owner.ID, "notes/a.md"); !errors.Is(err, ErrNoWorkspace) {
		t.Fatalf("no workspace: %v", err)
	}
}

func TestSecretsAdministration(t *testing.T) {
	ctx := context.Background()
	llm := fakellm.NewOpenAI(t)
	b := adminBot(t, loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false"))
	env := sbEnv(sbMasterKey)
	owner, err := b.SetSecret(ctx, env, "", "github_token", []byte(ghToken))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name, value string
	}{{"github_token", "short"}, {"bad name!", "long enough value"}, {"x", "line\nbreak value"}} {
		if _, err := b.SetSecret(ctx, env, "", bad.name, []byte(bad.value)); !errors.Is(err, secrets.ErrInvalid) {
			t.Errorf("%q=%q: %v, want ErrInvalid", bad.name, bad.value, err)
		}
	}
	if _, err := b.SetSecret(ctx, sbEnv("not-a-key"), "", "other", []byte("long enough value")); err == nil || !strings.Contains(err.Error(), "HEARTH_MASTER_KEY") {
		t.Fatalf("a bad master key: %v", err)
	}
	if _, err := b.SetSecret(ctx, env, "nobody", "x", []byte("long enough value")); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	list, err := b.ListSecrets(ctx, "")
	if err != nil || len(list) != 1 || list[0].Name != "github_token" || list[0].User.ID != owner.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := b.DeleteSecret(ctx, "", "github_token"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteSecret(ctx, "", "github_token"); !errors.Is(err, engine.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}
