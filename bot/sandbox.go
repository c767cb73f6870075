package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
	"github.com/hearthbot/hearth/memory"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/caps"
	"github.com/hearthbot/hearth/sandbox/httpgate"
	"github.com/hearthbot/hearth/sandbox/secrets"
)

// The WASM sandbox's wiring (docs/sandbox.md). Run calls setupSandbox
// before the engine starts, with a context that ends after the engine
// has drained: the installed tools are registered in b.Tools before any
// turn runs, the tools directory is rescanned until that context ends,
// and b.Leaks (the leak detector of the safety layer) holds every user's
// stored secrets, reloaded periodically. When the context ends the tools
// are unregistered and freed once their running calls finish.
//
// The CLI's `hearth secrets`, `hearth tools` and `hearth audit` use the
// exported methods below on an admin bot, so a secret set or a tool
// installed there goes through the same code as the server's.

// LookupEnv reads one environment variable (os.LookupEnv in a process).
type LookupEnv func(name string) (string, bool)

// sandboxDeps are what setupSandbox takes from outside the configuration;
// tests replace them.
type sandboxDeps struct {
	// lookupEnv reads HEARTH_MASTER_KEY.
	lookupEnv LookupEnv
	// keyring is the OS keychain (nil: the system's).
	keyring secrets.Keyring
	// http configures every tool's HTTP gate (a fake internet in tests).
	http httpgate.Options
	// inspectMemory sees each call's guest memory (tests).
	inspectMemory func(tool string, mem []byte)
	// reloadTicks and refreshTicks replace the tickers of
	// sandbox.reload_interval and sandbox.secrets_refresh.
	reloadTicks, refreshTicks <-chan time.Time
}

// sandboxRun is a started sandbox.
type sandboxRun struct {
	rt     *sandbox.Runtime
	loader *sandbox.Loader
	vault  *secrets.Vault
	// done is closed when the watcher and the secret refresh have stopped
	// and the tools and the runtime are released.
	done chan struct{}
}

// setupSandbox starts the WASM sandbox for the life of ctx: the master
// key (HEARTH_MASTER_KEY, else the OS keychain, else
// $HEARTH_HOME/master.key), the vault of users' secrets over the store,
// the runtime (audit to the store, secrets from the vault, workspace
// reads, other tools through b.Tools), the installed tools registered in
// b.Tools and watched for changes, and b.Leaks fed with every user's
// stored secrets. It needs the engine's parts (b.Tools, b.Leaks).
func (b *Bot) setupSandbox(ctx context.Context) error {
	// The one place the bot reads the process environment: the master
	// key is deliberately not a configuration key, so it never appears in
	// a config file or in `hearth config show`.
	_, err := b.startSandbox(ctx, sandboxDeps{lookupEnv: os.LookupEnv})
	return err
}

func (b *Bot) startSandbox(ctx context.Context, d sandboxDeps) (*sandboxRun, error) {
	if b.Tools == nil || b.Leaks == nil {
		return nil, errors.New("sandbox: the bot has no tool registry or leak detector (admin mode)")
	}
	if err := SandboxProblems(b.cfg); err != nil {
		return nil, err
	}
	vault, info, err := b.openVault(ctx, d.lookupEnv, d.keyring)
	if err != nil {
		return nil, err
	}
	if info.Warning != "" {
		b.log.Warn("master key", "source", info.Source, "warning", info.Warning)
	}
	s := &sandboxRun{vault: vault, done: make(chan struct{})}
	s.rt, err = b.sandboxRuntime(ctx, sandbox.Options{
		Audit: b.Store, Secrets: vault, Workspace: workspaceReader(b.Store), Tools: b.Tools,
		HTTP: d.http, InspectMemory: d.inspectMemory,
	})
	if err != nil {
		return nil, err
	}
	// The leak detector is armed before any tool runs or reply leaves.
	fed, broken, err := b.feedLeaks(ctx, vault, nil)
	if err != nil {
		_ = s.rt.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: load the stored secrets into the leak detector: %w", err)
	}
	logBroken(b, nil, broken)
	toolsDir, _ := SandboxDirs(b.cfg)
	if err := os.MkdirAll(toolsDir, 0o700); err != nil {
		_ = s.rt.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox: tools directory (sandbox.tools_dir): %w", err)
	}
	s.loader = sandbox.NewLoader(s.rt, toolsDir, b.Tools, sandbox.LoaderOptions{Logger: b.log.With("component", "tools")})
	if _, err := s.loader.Scan(ctx); err != nil {
		_ = s.rt.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("sandbox (sandbox.tools_dir): %w", err)
	}
	go b.runSandbox(ctx, s, d, fed, broken)
	return s, nil
}

// runSandbox watches the tools directory and refreshes the leak detector
// until ctx ends, then releases the tools and the runtime.
func (b *Bot) runSandbox(ctx context.Context, s *sandboxRun, d sandboxDeps, fed map[string]string, broken []string) {
	defer close(s.done)
	reload, refresh := d.reloadTicks, d.refreshTicks
	if reload == nil {
		t := time.NewTicker(b.cfg.Sandbox.ReloadInterval)
		defer t.Stop()
		reload = t.C
	}
	if refresh == nil {
		t := time.NewTicker(b.cfg.Sandbox.SecretsRefresh)
		defer t.Stop()
		refresh = t.C
	}
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		_ = s.loader.Watch(ctx, reload)
	}()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-refresh:
			now, nowBroken, err := b.feedLeaks(ctx, s.vault, fed)
			if err != nil {
				if ctx.Err() == nil {
					b.log.Error("refreshing stored secrets for the leak detector; the previous set stays", "err", err)
				}
				continue
			}
			logBroken(b, broken, nowBroken)
			fed, broken = now, nowBroken
		}
	}
	<-watched
	release, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.loader.Close(release); err != nil {
		b.log.Warn("releasing the tools", "err", err)
	}
	if err := s.rt.Close(release); err != nil {
		b.log.Warn("closing the sandbox runtime", "err", err)
	}
}

// feedLeaks loads every user's stored secrets into b.Leaks, replacing
// the previous set prev (unchanged when equal). It returns the set and
// the users with a secret the master key cannot open: Hearth cannot
// obtain those values, so it cannot leak them either, and their tools
// refuse to run.
func (b *Bot) feedLeaks(ctx context.Context, vault *secrets.Vault, prev map[string]string) (map[string]string, []string, error) {
	users, err := b.Store.ListUsers(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list users: %w", err)
	}
	slices.SortFunc(users, func(x, y engine.User) int { return strings.Compare(x.ID, y.ID) })
	all := map[string]string{}
	seen := map[string]bool{}
	var broken []string
	for _, u := range users {
		values, err := vault.Values(ctx, u.ID)
		if errors.Is(err, secrets.ErrDecrypt) {
			broken = append(broken, u.ID)
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("secrets of user %s: %w", u.ID, err)
		}
		for _, name := range slices.Sorted(maps.Keys(values)) {
			v := values[name]
			if seen[v] {
				continue
			}
			seen[v] = true
			// Names are per user: another user's secret of the same name
			// gets a suffix (the redaction marker shows the name, never
			// whose it is).
			key := name
			for i := 2; all[key] != ""; i++ {
				key = fmt.Sprintf("%s~%d", name, i)
			}
			all[key] = v
		}
	}
	if prev == nil || !maps.Equal(prev, all) {
		b.Leaks.SetSecrets(all)
	}
	return all, broken, nil
}

// logBroken reports users whose secrets do not decrypt, when that changes.
func logBroken(b *Bot, prev, now []string) {
	if slices.Equal(prev, now) || len(now) == 0 {
		return
	}
	b.log.Error("stored secrets do not decrypt with this master key; tools of these users refuse to run until fixed (see hearth doctor)",
		"users", strings.Join(now, ", "))
}

// workspaceReader gives tools read access to the users' workspace
// documents (paths cleaned as the memory workspace cleans them) when the
// store keeps documents.
func workspaceReader(st engine.Store) sandbox.WorkspaceReader {
	if ds, ok := st.(engine.DocumentStore); ok {
		return storeWorkspace{ds}
	}
	return noWorkspace{store: fmt.Sprintf("%T", st)}
}

type storeWorkspace struct{ docs engine.DocumentStore }

func (w storeWorkspace) ReadDocument(ctx context.Context, userID, path string) (string, error) {
	p, err := memory.CleanPath(path)
	if err != nil {
		return "", err
	}
	d, err := w.docs.GetDocument(ctx, userID, p)
	if err != nil {
		return "", err
	}
	return d.Content, nil
}

// ErrNoWorkspace: the store keeps no workspace documents.
var ErrNoWorkspace = errors.New("workspace not available")

type noWorkspace struct{ store string }

func (w noWorkspace) ReadDocument(context.Context, string, string) (string, error) {
	return "", fmt.Errorf("%w: the store (%s) keeps no documents", ErrNoWorkspace, w.store)
}

// SandboxProblems checks the sandbox keys; it returns a *config.Error
// naming each bad key, or nil.
func SandboxProblems(cfg *config.Config) error {
	var ps []config.Problem
	add := func(key, format string, args ...any) {
		ps = append(ps, config.Problem{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	s := cfg.Sandbox
	if s.ReloadInterval < 10*time.Millisecond || s.ReloadInterval > time.Hour {
		add("sandbox.reload_interval", "must be between 10ms and 1h, got %s", s.ReloadInterval)
	}
	if s.SecretsRefresh < 10*time.Millisecond || s.SecretsRefresh > time.Hour {
		add("sandbox.secrets_refresh", "must be between 10ms and 1h, got %s", s.SecretsRefresh)
	}
	if s.MaxConcurrent < 0 || s.MaxConcurrent > 1024 {
		add("sandbox.max_concurrent", "must be between 0 (four per CPU) and 1024, got %d", s.MaxConcurrent)
	}
	maxMiB := int(sandbox.MaximumLimits().MemoryPages) * 64 >> 10
	if s.MemoryMiB < 4 || s.MemoryMiB > maxMiB {
		add("sandbox.memory_mib", "must be between 4 and %d, got %d", maxMiB, s.MemoryMiB)
	}
	if maxT := sandbox.MaximumLimits().Timeout; s.Timeout <= 0 || s.Timeout > maxT {
		add("sandbox.timeout", "must be a positive duration of at most %s, got %s", maxT, s.Timeout)
	}
	if len(ps) == 0 {
		return nil
	}
	return &config.Error{Problems: ps}
}

// SandboxDirs returns the tools directory and the compilation cache
// directory: sandbox.tools_dir and sandbox.cache_dir, by default under
// HEARTH_HOME.
func SandboxDirs(cfg *config.Config) (toolsDir, cacheDir string) {
	toolsDir, cacheDir = cfg.Sandbox.ToolsDir, cfg.Sandbox.CacheDir
	if toolsDir == "" {
		toolsDir = filepath.Join(cfg.Home, "tools")
	}
	if cacheDir == "" {
		cacheDir = filepath.Join(cfg.Home, "cache", "wasm")
	}
	return expandHome(toolsDir), expandHome(cacheDir)
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, rest)
		}
	}
	return p
}

// sandboxOptions completes o with the configured limits, the cache
// directory, the logger and the clock.
func sandboxOptions(cfg *config.Config, cacheDir string, log *slog.Logger, now func() time.Time, o sandbox.Options) sandbox.Options {
	c := cfg.Sandbox
	o.CacheDir = cacheDir
	o.Defaults = sandbox.Limits{MemoryPages: uint32(c.MemoryMiB) << 4, Timeout: c.Timeout} // 16 pages of 64 KiB per MiB
	o.MaxConcurrent = c.MaxConcurrent
	if log != nil {
		o.Logger = log.With("component", "sandbox")
	}
	o.Now = now
	return o
}

// sandboxRuntime builds a runtime with the configured cache and limits;
// o supplies the rest.
func (b *Bot) sandboxRuntime(ctx context.Context, o sandbox.Options) (*sandbox.Runtime, error) {
	_, cache := SandboxDirs(b.cfg)
	rt, err := sandbox.New(ctx, sandboxOptions(b.cfg, cache, b.log, b.o.Now, o))
	if err != nil {
		return nil, fmt.Errorf("%w (sandbox.cache_dir)", err)
	}
	return rt, nil
}

// OpenVault loads the master key (HEARTH_MASTER_KEY read with lookupEnv,
// else the OS keychain, else $HEARTH_HOME/master.key; a new key is made
// when there is none) and returns the vault of users' secrets over the
// store, with where the key came from.
func (b *Bot) OpenVault(ctx context.Context, lookupEnv LookupEnv) (*secrets.Vault, secrets.KeyInfo, error) {
	return b.openVault(ctx, lookupEnv, nil)
}

func (b *Bot) openVault(ctx context.Context, lookupEnv LookupEnv, kr secrets.Keyring) (*secrets.Vault, secrets.KeyInfo, error) {
	if lookupEnv == nil {
		return nil, secrets.KeyInfo{}, errors.New("secrets: no environment to read HEARTH_MASTER_KEY from")
	}
	key, info, err := secrets.LoadMasterKey(ctx, secrets.KeyOptions{
		Home: b.cfg.Home, LookupEnv: lookupEnv, Keyring: kr, Logger: b.log,
	})
	if err != nil {
		return nil, info, err
	}
	v, err := secrets.NewVault(b.Store, key, b.o.Now)
	if err != nil {
		return nil, info, err
	}
	return v, info, nil
}

// userOrOwner resolves a user by id or name; "" is the owner.
func (b *Bot) userOrOwner(ctx context.Context, ref string) (engine.User, error) {
	if strings.TrimSpace(ref) != "" {
		return b.FindUser(ctx, ref)
	}
	id, err := b.Store.IdentityFor(ctx, ownerChannel, ownerID)
	if err != nil {
		return engine.User{}, fmt.Errorf("the owner: %w", err)
	}
	return b.Store.GetUser(ctx, id.UserID)
}

// SetSecret encrypts and stores a secret of the user named by userRef
// (id or name; "" is the owner), as `hearth secrets set NAME` does. A
// running server's leak detector picks it up within
// sandbox.secrets_refresh; tools see it at their next call.
func (b *Bot) SetSecret(ctx context.Context, lookupEnv LookupEnv, userRef, name string, value []byte) (engine.User, error) {
	u, err := b.userOrOwner(ctx, userRef)
	if err != nil {
		return engine.User{}, err
	}
	vault, _, err := b.openVault(ctx, lookupEnv, nil)
	if err != nil {
		return engine.User{}, err
	}
	if err := vault.Set(ctx, u.ID, name, value); err != nil {
		return engine.User{}, err
	}
	b.log.Info("secret set", "user", u.ID, "name", name)
	return u, nil
}

// UserSecret describes one stored secret of a user, never its value.
type UserSecret struct {
	User engine.User
	secrets.Info
}

// ListSecrets describes the secrets of the user named by userRef, or of
// every user when userRef is "", by user and name. It needs no master
// key: names and times are not encrypted.
func (b *Bot) ListSecrets(ctx context.Context, userRef string) ([]UserSecret, error) {
	var users []engine.User
	if userRef != "" {
		u, err := b.FindUser(ctx, userRef)
		if err != nil {
			return nil, err
		}
		users = []engine.User{u}
	} else {
		all, err := b.Store.ListUsers(ctx)
		if err != nil {
			return nil, err
		}
		users = all
	}
	var out []UserSecret
	for _, u := range users {
		list, err := b.Store.ListSecrets(ctx, u.ID)
		if err != nil {
			return nil, fmt.Errorf("secrets of user %s: %w", u.ID, err)
		}
		for _, s := range list {
			out = append(out, UserSecret{User: u, Info: secrets.Info{Name: s.Name, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, LastUsed: s.LastUsed}})
		}
	}
	return out, nil
}

// DeleteSecret removes a secret of the user named by userRef ("" is the
// owner); engine.ErrNotFound when the user has no such secret.
func (b *Bot) DeleteSecret(ctx context.Context, userRef, name string) (engine.User, error) {
	u, err := b.userOrOwner(ctx, userRef)
	if err != nil {
		return engine.User{}, err
	}
	if err := b.Store.DeleteSecret(ctx, u.ID, name); err != nil {
		if errors.Is(err, engine.ErrNotFound) {
			return u, fmt.Errorf("user %s has no secret %q (see hearth secrets ls): %w", u.ID, name, engine.ErrNotFound)
		}
		return u, err
	}
	b.log.Info("secret removed", "user", u.ID, "name", name)
	return u, nil
}

// InstallTool checks the module at wasmPath (NAME.wasm with
// NAME.capabilities.json beside it) by loading it fully, shows confirm
// the review of what it asks for, and only when confirmed copies it into
// the tools directory, which it returns. A running server registers it
// within sandbox.reload_interval.
func (b *Bot) InstallTool(ctx context.Context, wasmPath string, confirm func(sandbox.Review) (bool, error)) (sandbox.Review, string, error) {
	if err := SandboxProblems(b.cfg); err != nil {
		return sandbox.Review{}, "", err
	}
	toolsDir, _ := SandboxDirs(b.cfg)
	if err := os.MkdirAll(toolsDir, 0o700); err != nil {
		return sandbox.Review{}, "", fmt.Errorf("tools directory (sandbox.tools_dir): %w", err)
	}
	rt, err := b.sandboxRuntime(ctx, sandbox.Options{})
	if err != nil {
		return sandbox.Review{}, "", err
	}
	defer rt.Close(context.WithoutCancel(ctx))
	rev, err := sandbox.Install(ctx, rt, wasmPath, toolsDir, confirm)
	if err != nil {
		return rev, toolsDir, err
	}
	b.log.Info("tool installed", "tool", rev.Name, "sha256", rev.SHA256, "dir", toolsDir)
	return rev, toolsDir, nil
}

// ToolRow is one tool as `hearth tools ls` shows it.
type ToolRow struct {
	Name        string
	Source      string
	Description string
	// Status is "built in", "ok", or "refused: REASON".
	Status string
	// SHA256 and Capabilities describe a WASM tool.
	SHA256       string
	Capabilities []string
}

// builtinTools are the tools compiled into Hearth, for listing only (the
// scheduler's tools are built without a scheduler: only their Info is
// read).
func (b *Bot) builtinTools() []engine.Tool {
	return append(builtin.Tools(b.o.Now), schedule.Tools(nil)...)
}

// ToolStatuses lists the built-in tools and every tool of the tools
// directory, loading each as a server would (without a server running):
// its description, hash and grants, or why it is refused.
func (b *Bot) ToolStatuses(ctx context.Context) ([]ToolRow, error) {
	var rows []ToolRow
	builtins := map[string]bool{}
	for _, t := range b.builtinTools() {
		i := t.Info()
		builtins[i.Name] = true
		rows = append(rows, ToolRow{Name: i.Name, Source: i.Source, Description: i.Description, Status: "built in"})
	}
	toolsDir, _ := SandboxDirs(b.cfg)
	if _, err := os.Stat(toolsDir); errors.Is(err, os.ErrNotExist) {
		return rows, nil
	}
	rt, err := b.sandboxRuntime(ctx, sandbox.Options{})
	if err != nil {
		return nil, err
	}
	defer rt.Close(context.WithoutCancel(ctx))
	sts, err := sandbox.Inspect(ctx, rt, toolsDir)
	if err != nil {
		return nil, fmt.Errorf("%w (sandbox.tools_dir)", err)
	}
	for _, st := range sts {
		r := ToolRow{Name: st.Name, Source: "wasm", Description: st.Description, SHA256: st.SHA256, Capabilities: st.Capabilities, Status: "ok"}
		switch {
		case st.Error != "":
			r.Status = "refused: " + st.Error
		case builtins[st.Name]:
			r.Status = "refused: a built-in tool has this name"
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// RunTool runs one call of an installed tool through the full sandbox as
// the server does (the tools directory loaded into a registry with the
// built-in tools, the arguments checked against the tool's schema, the
// user's secrets injected and scanned for, the call audited), as the user
// named by userRef ("" is the owner). A problem the model could correct
// is a result with IsError set; an error means the tool could not run.
func (b *Bot) RunTool(ctx context.Context, lookupEnv LookupEnv, name, userRef string, params json.RawMessage) (engine.ToolResult, error) {
	if err := SandboxProblems(b.cfg); err != nil {
		return engine.ToolResult{}, err
	}
	if err := caps.ValidateToolName(name); err != nil {
		return engine.ToolResult{}, fmt.Errorf("tool name %q: %w", name, err)
	}
	u, err := b.userOrOwner(ctx, userRef)
	if err != nil {
		return engine.ToolResult{}, err
	}
	toolsDir, _ := SandboxDirs(b.cfg)
	if _, err := os.Stat(filepath.Join(toolsDir, name+".wasm")); err != nil {
		return engine.ToolResult{}, fmt.Errorf("no installed tool %q in %s (see hearth tools ls)", name, toolsDir)
	}
	vault, _, err := b.openVault(ctx, lookupEnv, nil)
	if err != nil {
		return engine.ToolResult{}, err
	}
	reg := tools.New(tools.Options{DefaultTimeout: b.cfg.Agent.ToolTimeout, Logger: b.log})
	for _, t := range builtin.Tools(b.o.Now) {
		if err := reg.Register(t); err != nil {
			return engine.ToolResult{}, err
		}
	}
	rt, err := b.sandboxRuntime(ctx, sandbox.Options{Audit: b.Store, Secrets: vault, Workspace: workspaceReader(b.Store), Tools: reg})
	if err != nil {
		return engine.ToolResult{}, err
	}
	defer rt.Close(context.WithoutCancel(ctx))
	loader := sandbox.NewLoader(rt, toolsDir, reg, sandbox.LoaderOptions{Logger: b.log})
	defer loader.Close(context.WithoutCancel(ctx))
	if _, err := loader.Scan(ctx); err != nil {
		return engine.ToolResult{}, fmt.Errorf("%w (sandbox.tools_dir)", err)
	}
	if _, ok := loader.Tool(name); !ok {
		for _, st := range loader.Status() {
			if st.Name == name && st.Error != "" {
				return engine.ToolResult{}, fmt.Errorf("tool %s is refused: %s", name, st.Error)
			}
		}
		return engine.ToolResult{}, fmt.Errorf("tool %s is not registered (a built-in tool may have its name)", name)
	}
	return reg.Execute(ctx, name, engine.ToolInvocation{
		CallID: engine.NewID(), Args: params, UserID: u.ID, Timezone: u.Timezone,
		From: engine.Address{Channel: cliChannel, Conversation: "tools run"},
	})
}
