package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/sandbox"
	"github.com/hearthbot/hearth/sandbox/secrets"
)

// Severity of a doctor check.
type Severity string

// Check severities.
const (
	OK   Severity = "ok"
	Warn Severity = "warn"
	Fail Severity = "FAIL"
)

// Check is one finding of `hearth doctor`.
type Check struct {
	Name     string
	Severity Severity
	Detail   string
	// Fix says what to do, for Warn and Fail.
	Fix string
}

// DoctorOptions tune Doctor.
type DoctorOptions struct {
	// Unknown are the unknown configuration keys found when loading.
	Unknown []config.Warning
	// LLM replaces the configured provider (tests).
	LLM engine.LLM
	// Timeout bounds the model check (default 20s).
	Timeout time.Duration
	Logger  *slog.Logger
	// LookupEnv reads HEARTH_MASTER_KEY (default os.LookupEnv).
	LookupEnv LookupEnv
	// Keyring is the OS keychain the master key may be in (default the
	// system's). The doctor only reads it.
	Keyring secrets.Keyring
}

// Doctor checks the configuration, the data directory, the store, the
// master key and the secrets, the installed tools, the model provider and
// the safety of what is exposed, each with a fix hint. It changes
// nothing: no master key is created, no directory made.
func Doctor(ctx context.Context, cfg *config.Config, o DoctorOptions) []Check {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	var out []Check
	add := func(c Check) { out = append(out, c) }

	if len(o.Unknown) == 0 {
		add(Check{Name: "config", Severity: OK, Detail: "valid, no unknown keys"})
	} else {
		keys := make([]string, len(o.Unknown))
		for i, w := range o.Unknown {
			keys[i] = w.String()
		}
		add(Check{Name: "config", Severity: Warn, Detail: strings.Join(keys, "; "), Fix: "remove or correct these keys (see config.example.yaml)"})
	}
	add(checkHome(cfg.Home))

	key, haveKey, keyCheck := checkMasterKey(ctx, cfg, o)
	st, err := openStore(ctx, cfg, o.Logger)
	if err != nil {
		add(Check{Name: "store", Severity: Fail, Detail: err.Error(), Fix: "check database.path / database.url and that the directory is writable"})
		add(keyCheck)
	} else {
		if err := st.Ping(ctx); err != nil {
			add(Check{Name: "store", Severity: Fail, Detail: err.Error(), Fix: "the store does not answer; check disk space and permissions"})
			add(keyCheck)
		} else {
			add(Check{Name: "store", Severity: OK, Detail: storeName(cfg)})
			add(keyCheck)
			add(checkSecrets(ctx, st, key, haveKey))
			out = append(out, doctorMemory(ctx, cfg, st, o.Logger)...)
		}
		_ = st.Close()
	}
	out = append(out, checkTools(ctx, cfg, o)...)

	add(checkLLM(ctx, cfg, o))
	out = append(out, checkExposure(cfg)...)
	return out
}

func storeName(cfg *config.Config) string {
	if cfg.Database.URL != "" {
		return "postgresql"
	}
	return "embedded at " + cfg.Database.Path
}

func checkHome(home string) Check {
	fi, err := os.Stat(home)
	switch {
	case os.IsNotExist(err):
		return Check{Name: "home", Severity: OK, Detail: home + " (created on first run)"}
	case err != nil:
		return Check{Name: "home", Severity: Fail, Detail: err.Error(), Fix: "set HEARTH_HOME to a directory you can write"}
	case !fi.IsDir():
		return Check{Name: "home", Severity: Fail, Detail: home + " is not a directory", Fix: "set HEARTH_HOME to a directory"}
	case fi.Mode().Perm()&0o077 != 0:
		return Check{Name: "home", Severity: Warn, Detail: fmt.Sprintf("%s is readable by others (mode %o)", home, fi.Mode().Perm()), Fix: "chmod 700 " + home}
	}
	return Check{Name: "home", Severity: OK, Detail: home}
}

func checkLLM(ctx context.Context, cfg *config.Config, o DoctorOptions) Check {
	l := o.LLM
	if l == nil {
		var err error
		if l, err = buildLLM(ctx, cfg, o.Logger); err != nil {
			return Check{Name: "llm", Severity: Fail, Detail: err.Error(), Fix: llmHint()}
		}
	}
	name := cfg.LLM.Model
	if n, ok := l.(engine.ModelNamer); ok {
		name = n.ModelName()
	}
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	resp, err := l.Chat(cctx, engine.ChatRequest{
		Messages:  []engine.ChatMessage{{Role: engine.RoleUser, Content: "Reply with the single word OK."}},
		MaxTokens: 8,
	})
	if err != nil {
		msg := err.Error()
		if um, ok := err.(interface{ UserMessage() string }); ok {
			msg = um.UserMessage()
		}
		return Check{Name: "llm", Severity: Fail, Detail: fmt.Sprintf("%s does not answer: %s", name, msg), Fix: "check llm.base_url, llm.api_key and llm.model; " + llmHint()}
	}
	return Check{Name: "llm", Severity: OK, Detail: fmt.Sprintf("%s answered via %s", name, resp.Provider)}
}

// checkExposure reports what listens beyond this machine and how it is
// protected.
func checkExposure(cfg *config.Config) []Check {
	var out []Check
	wh := cfg.Channels.Webhook
	if wh.Enabled {
		switch {
		case !isLoopback(wh.Listen) && wh.Token == "" && wh.HMACSecret == "":
			out = append(out, Check{Name: "webhook", Severity: Fail, Detail: wh.Listen + " is reachable from the network without authentication", Fix: "set channels.webhook.token or channels.webhook.hmac_secret, or listen on 127.0.0.1"})
		case !isLoopback(wh.Listen):
			out = append(out, Check{Name: "webhook", Severity: Warn, Detail: wh.Listen + " is reachable from the network (authenticated)", Fix: "put it behind a TLS reverse proxy"})
		default:
			out = append(out, Check{Name: "webhook", Severity: OK, Detail: "listens on " + wh.Listen + " (loopback only)"})
		}
	}
	if cfg.Channels.Telegram.Enabled && cfg.Channels.Telegram.Mode == "webhook" && cfg.Channels.Telegram.WebhookSecret == "" {
		out = append(out, Check{Name: "telegram", Severity: Fail, Detail: "webhook mode without a secret token", Fix: "set channels.telegram.webhook_secret"})
	}
	if cfg.Channels.Slack.Enabled && cfg.Channels.Slack.Mode == "http" && cfg.Channels.Slack.SigningSecret == "" {
		out = append(out, Check{Name: "slack", Severity: Fail, Detail: "HTTP mode without a signing secret", Fix: "set channels.slack.signing_secret"})
	}
	return out
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PrintChecks writes checks as aligned lines and reports whether any failed.
func PrintChecks(w io.Writer, checks []Check) (failed bool) {
	for _, c := range checks {
		fmt.Fprintf(w, "%-4s  %-10s %s\n", c.Severity, c.Name, c.Detail)
		if c.Fix != "" && c.Severity != OK {
			fmt.Fprintf(w, "      %-10s fix: %s\n", "", c.Fix)
		}
		if c.Severity == Fail {
			failed = true
		}
	}
	return failed
}

// probeKeyring lets the doctor read the OS keychain: it records whether
// the master key entry exists and never writes one.
type probeKeyring struct {
	inner secrets.Keyring
	found *bool
}

func (p probeKeyring) Get(service, user string) (string, error) {
	v, err := p.inner.Get(service, user)
	if err == nil {
		*p.found = true
	}
	return v, err
}

func (probeKeyring) Set(string, string, string) error {
	return errors.New("the doctor creates no keys")
}

// checkMasterKey finds the master key as the server would, without
// creating one, and reports where it lies.
func checkMasterKey(ctx context.Context, cfg *config.Config, o DoctorOptions) (secrets.MasterKey, bool, Check) {
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	kr := o.Keyring
	if kr == nil {
		kr = secrets.SystemKeyring(lookup)
	}
	keyFile := filepath.Join(cfg.Home, secrets.KeyFileName)
	home := cfg.Home
	if _, err := os.Stat(keyFile); err != nil {
		home = "" // without a key file, LoadMasterKey would create one
	}
	found := false
	key, info, err := secrets.LoadMasterKey(ctx, secrets.KeyOptions{Home: home, LookupEnv: lookup, Keyring: probeKeyring{kr, &found}})
	_, envSet := lookup(secrets.EnvMasterKey)
	const name = "master key"
	switch {
	case err != nil && !envSet && !found && home == "":
		return key, false, Check{Name: name, Severity: OK, Detail: "none yet: the first start (or hearth secrets set) creates one in the OS keychain, else in " + keyFile}
	case err != nil:
		return key, false, Check{Name: name, Severity: Fail, Detail: err.Error(),
			Fix: "set " + secrets.EnvMasterKey + " to the key that sealed the stored secrets (a new one: openssl rand -hex 32), or fix the key file's mode (chmod 600)"}
	case info.Warning != "":
		return key, true, Check{Name: name, Severity: Warn, Detail: info.Warning,
			Fix: "move the key to " + secrets.EnvMasterKey + " (from a secret manager) or an OS keychain, then delete " + info.Path + "; keep a backup: without it stored secrets cannot be read"}
	case info.Source == secrets.SourceEnv:
		return key, true, Check{Name: name, Severity: OK, Detail: "from " + secrets.EnvMasterKey}
	}
	return key, true, Check{Name: name, Severity: OK, Detail: "in the OS keychain"}
}

// checkSecrets checks that the secret store answers and that every
// stored secret opens with the master key.
func checkSecrets(ctx context.Context, st engine.Store, key secrets.MasterKey, haveKey bool) Check {
	const name = "secrets"
	users, err := st.ListUsers(ctx)
	if err != nil {
		return Check{Name: name, Severity: Fail, Detail: "the secret store does not answer: " + err.Error(), Fix: "check the store (database.path / database.url)"}
	}
	total := 0
	for _, u := range users {
		list, err := st.ListSecrets(ctx, u.ID)
		if err != nil {
			return Check{Name: name, Severity: Fail, Detail: "the secret store does not answer: " + err.Error(), Fix: "check the store (database.path / database.url)"}
		}
		total += len(list)
	}
	if total == 0 {
		return Check{Name: name, Severity: OK, Detail: "none stored"}
	}
	restore := "restore the master key that sealed them (" + secrets.EnvMasterKey + ", the OS keychain or master.key), or set them again with hearth secrets set NAME --user ID"
	if !haveKey {
		return Check{Name: name, Severity: Fail, Detail: fmt.Sprintf("%d stored secrets but no master key to open them", total), Fix: restore}
	}
	vault, err := secrets.NewVault(st, key, nil)
	if err != nil {
		return Check{Name: name, Severity: Fail, Detail: err.Error(), Fix: restore}
	}
	var bad []string
	for _, u := range users {
		names, err := vault.Check(ctx, u.ID)
		if err != nil {
			return Check{Name: name, Severity: Fail, Detail: "the secret store does not answer: " + err.Error(), Fix: "check the store (database.path / database.url)"}
		}
		for _, n := range names {
			bad = append(bad, u.ID+"/"+n)
		}
	}
	if len(bad) > 0 {
		return Check{Name: name, Severity: Fail, Detail: fmt.Sprintf("%d of %d stored secrets do not decrypt with this master key: %s (tools of their users refuse to run)",
			len(bad), total, strings.Join(bad, ", ")), Fix: restore}
	}
	return Check{Name: name, Severity: OK, Detail: fmt.Sprintf("%d stored, all decrypt with the master key", total)}
}

// checkTools loads every installed tool as the server would (without
// registering it anywhere) and reports the ones refused.
func checkTools(ctx context.Context, cfg *config.Config, o DoctorOptions) []Check {
	const name = "tools"
	if err := SandboxProblems(cfg); err != nil {
		return []Check{{Name: "sandbox", Severity: Fail, Detail: err.Error(), Fix: "correct these keys (see config.example.yaml)"}}
	}
	toolsDir, cacheDir := SandboxDirs(cfg)
	if _, err := os.Stat(toolsDir); errors.Is(err, os.ErrNotExist) {
		return []Check{{Name: name, Severity: OK, Detail: "none installed (" + toolsDir + " is created at the first start)"}}
	}
	if _, err := os.Stat(cacheDir); err != nil {
		cacheDir = "" // compile in memory: the doctor creates no directory
	}
	rt, err := sandbox.New(ctx, sandboxOptions(cfg, cacheDir, o.Logger, nil, sandbox.Options{}))
	if err != nil {
		return []Check{{Name: name, Severity: Fail, Detail: err.Error(), Fix: "make sandbox.cache_dir private to Hearth (chmod 700)"}}
	}
	defer rt.Close(context.WithoutCancel(ctx))
	sts, err := sandbox.Inspect(ctx, rt, toolsDir)
	if err != nil {
		return []Check{{Name: name, Severity: Fail, Detail: err.Error(), Fix: "make " + toolsDir + " private to Hearth: whoever can write there can install tools"}}
	}
	var out []Check
	var serving []string
	for _, st := range sts {
		if st.Error != "" {
			out = append(out, Check{Name: name, Severity: Warn, Detail: st.Name + " is refused: " + st.Error,
				Fix: "fix or remove " + filepath.Join(toolsDir, st.Name+".wasm") + " and its capabilities file"})
			continue
		}
		serving = append(serving, st.Name)
	}
	detail := "none installed in " + toolsDir
	if len(serving) > 0 {
		detail = fmt.Sprintf("%d loaded from %s: %s", len(serving), toolsDir, strings.Join(serving, ", "))
	}
	return append([]Check{{Name: name, Severity: OK, Detail: detail}}, out...)
}
