package bot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/sandboxtest"
	"github.com/hearthbot/hearth/sandbox/secrets"
)

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
