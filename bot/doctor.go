package bot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
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
}

// Doctor checks the configuration, the data directory, the store, the
// model provider and the safety of what is exposed, each with a fix hint.
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

	st, err := openStore(ctx, cfg, o.Logger)
	if err != nil {
		add(Check{Name: "store", Severity: Fail, Detail: err.Error(), Fix: "check database.path / database.url and that the directory is writable"})
	} else {
		if err := st.Ping(ctx); err != nil {
			add(Check{Name: "store", Severity: Fail, Detail: err.Error(), Fix: "the store does not answer; check disk space and permissions"})
		} else {
			add(Check{Name: "store", Severity: OK, Detail: storeName(cfg)})
		}
		_ = st.Close()
	}

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
