// Package bot is Hearth's composition root: it turns a configuration into
// a running assistant (store, LLM providers, tools, access gate, agent,
// engine, channels) and stops it gracefully.
package bot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthbot/hearth/adapters/repl"
	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/access"
	"github.com/hearthbot/hearth/engine/agent"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/engine/runtime"
	"github.com/hearthbot/hearth/engine/safety"
	"github.com/hearthbot/hearth/engine/schedule"
	"github.com/hearthbot/hearth/engine/tools"
	"github.com/hearthbot/hearth/engine/tools/builtin"
	"github.com/hearthbot/hearth/memory"
)

// Mode selects which channels a Bot runs.
type Mode int

// Modes.
const (
	// ModeREPL runs the console plus every enabled network channel and
	// ends when the console's input ends.
	ModeREPL Mode = iota
	// ModeServe runs every enabled channel until stopped.
	ModeServe
	// ModeOnce answers one message (hearth run -m) and ends.
	ModeOnce
	// ModeAdmin opens the store only, for CLI subcommands.
	ModeAdmin
)

// Owner identity: the console user is the owner.
const (
	ownerChannel = "repl"
	ownerID      = "owner"
	cliChannel   = "cli"
)

// Options are what the process gives the composition root.
type Options struct {
	Mode Mode
	// Stdin, Stdout: the console's streams.
	Stdin  io.Reader
	Stdout io.Writer
	// Interactive is true when Stdin is a terminal.
	Interactive bool
	// Message is the text of ModeOnce.
	Message string
	Logger  *slog.Logger
	// Version is printed by /status.
	Version string
	// LLM replaces the configured provider (tests, benchmarks).
	LLM engine.LLM
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Bot is a composed Hearth instance.
type Bot struct {
	cfg     *config.Config
	o       Options
	log     *slog.Logger
	started time.Time

	Store engine.Store
	Gate  *access.Gate
	Tools *tools.Registry
	// Memory is the users' workspaces, identity files and search.
	Memory *memory.Memory
	// Leaks is the leak detector shared by the safety layer and the
	// sandbox; stored secrets are added to it.
	Leaks    *leak.Detector
	Engine   *runtime.Engine
	LLM      engine.LLM
	channels []engine.Channel
	once     *onceChannel
	webhook  *webhook.Server
	// sched runs heartbeats and routines (bot/schedule.go).
	sched *schedule.Scheduler
	// attachments stores files received on channels (the memory
	// workspace once wired; nil: files are described, not kept).
	attachments channelkit.AttachmentStore

	closeOnce sync.Once
}

// New builds everything the mode needs. Close releases it.
func New(ctx context.Context, cfg *config.Config, o Options) (*Bot, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	b := &Bot{cfg: cfg, o: o, log: o.Logger, started: o.Now()}
	st, err := openStore(ctx, cfg, o.Logger)
	if err != nil {
		return nil, err
	}
	b.Store = st
	b.Gate, err = access.New(access.Options{
		Store:       st,
		Allowlists:  allowlists(cfg),
		GroupPolicy: groupPolicies(cfg),
		TTL:         cfg.Access.PairingTTL,
		MaxPending:  cfg.Access.MaxPendingPairings,
		Now:         o.Now,
		Logger:      o.Logger,
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("access gate: %w", err)
	}
	owner, err := b.Gate.EnsureOwner(ctx, ownerChannel, ownerID, cfg.Access.OwnerName)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("owner: %w", err)
	}
	if owner.Timezone == "" && cfg.Agent.Timezone != "" {
		owner.Timezone = cfg.Agent.Timezone
		if err := st.UpdateUser(ctx, owner); err != nil {
			b.Close()
			return nil, fmt.Errorf("owner: %w", err)
		}
	}
	if err := linkOwner(ctx, st, owner, cliChannel, o.Now()); err != nil {
		b.Close()
		return nil, fmt.Errorf("owner: %w", err)
	}
	if o.Mode == ModeAdmin {
		return b, nil
	}
	if err := b.buildEngine(ctx); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.buildChannels(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bot) buildEngine(ctx context.Context) error {
	cfg := b.cfg
	b.LLM = b.o.LLM
	if b.LLM == nil {
		l, err := buildLLM(ctx, cfg, b.log)
		if err != nil {
			return err
		}
		b.LLM = l
	}
	b.Tools = tools.New(tools.Options{DefaultTimeout: cfg.Agent.ToolTimeout, Logger: b.log})
	for _, t := range builtin.Tools(b.o.Now) {
		if err := b.Tools.Register(t); err != nil {
			return fmt.Errorf("register tool: %w", err)
		}
	}
	mem, err := b.setupMemory(ctx)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	b.Memory = mem
	b.Leaks = leak.New(leak.Options{})
	guard, err := NewSafetyGuard(cfg, b.Leaks, b.recordAudit)
	if err != nil {
		return err
	}
	if b.sched, err = b.setupSchedule(ctx); err != nil {
		return err
	}
	approvals := runtime.NewApprovals()
	ag, err := agent.New(agent.Options{
		LLM:                 b.LLM,
		Tools:               b.Tools,
		Guard:               guard,
		Policy:              safety.NeedsApproval,
		Approver:            approvals,
		Prompts:             mem.PromptSources(),
		Audit:               b.Store,
		Limiter:             agent.NewLimiter(cfg.Agent.MaxParallel),
		SystemPrompt:        cfg.Agent.SystemPrompt,
		MaxIterations:       cfg.Agent.MaxIterations,
		MaxParallelTools:    cfg.Agent.MaxParallelTools,
		ContextWindow:       cfg.LLM.ContextWindow,
		CompactionThreshold: cfg.Agent.CompactionThreshold,
		KeepRecent:          cfg.Agent.KeepRecent,
		MaxTokens:           cfg.LLM.MaxTokens,
		Now:                 b.o.Now,
		Logger:              b.log,
	})
	if err != nil {
		return err
	}
	b.Engine, err = runtime.New(runtime.Options{
		Store:         b.Store,
		Gate:          b.Gate,
		Agent:         ag,
		Approvals:     approvals,
		OutboundGuard: guard,
		OnJobDone:     b.sched.HandleResult,
		RecoverJobs:   b.o.Mode == ModeREPL || b.o.Mode == ModeServe,
		MailboxSize:   cfg.Agent.MailboxSize,
		IdleTimeout:   cfg.Agent.IdleTimeout,
		TurnTimeout:   cfg.Agent.TurnTimeout,
		Now:           b.o.Now,
		Logger:        b.log,
	})
	return err
}

func (b *Bot) buildChannels() error {
	cfg := b.cfg
	switch b.o.Mode {
	case ModeOnce:
		b.once = newOnceChannel(b.o.Message, b.o.Stdout)
		b.channels = append(b.channels, b.once)
	case ModeREPL, ModeServe:
		if b.o.Mode == ModeREPL || (cfg.Channels.REPL.Enabled && b.o.Interactive) {
			r, err := repl.New(repl.Options{
				In: b.o.Stdin, Out: b.o.Stdout, Interactive: b.o.Interactive,
				HistoryFile: cfg.Channels.REPL.HistoryFile, Admin: &admin{b: b}, Logger: b.log,
			})
			if err != nil {
				return fmt.Errorf("channels.repl: %w", err)
			}
			b.channels = append(b.channels, r)
		}
		platforms, err := b.platformChannels()
		if err != nil {
			return err
		}
		b.channels = append(b.channels, platforms...)
		if cfg.Channels.Webhook.Enabled {
			w, err := b.newWebhook()
			if err != nil {
				return err
			}
			b.webhook = w
			b.channels = append(b.channels, w)
		}
		if cfg.Channels.API.Enabled {
			a, err := b.newAPI()
			if err != nil {
				return err
			}
			b.channels = append(b.channels, a)
		}
	}
	for _, ch := range b.channels {
		if err := b.Engine.AddChannel(ch); err != nil {
			return err
		}
	}
	return nil
}

// ErrChannelFailed reports that a required channel stopped with an error.
var ErrChannelFailed = errors.New("channel failed")

// Run starts the engine and the channels and blocks until ctx ends, the
// console's input ends (ModeREPL), the one message is answered
// (ModeOnce), or a required channel fails. It then shuts down gracefully
// within grace.
func (b *Bot) Run(ctx context.Context, grace time.Duration) error {
	if b.Engine == nil {
		return errors.New("bot: Run needs a mode with an engine")
	}
	// The WASM sandbox lives as long as this run: its context ends when
	// Run returns, after the engine has drained, which frees the tools.
	sandboxCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSandbox()
	if err := b.setupSandbox(sandboxCtx); err != nil {
		return err
	}
	// The memory indexer (chunking, embeddings) works in the background
	// for as long as the bot runs.
	memCtx, stopMemory := context.WithCancel(context.WithoutCancel(ctx))
	b.Memory.Start(memCtx)
	defer func() { stopMemory(); b.Memory.Wait() }()
	if err := b.Engine.Start(ctx); err != nil {
		return err
	}
	if b.o.Mode == ModeREPL || b.o.Mode == ModeServe {
		if err := b.sched.Start(ctx, b.Engine); err != nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
			defer cancel()
			_ = b.Engine.Shutdown(sctx)
			return fmt.Errorf("scheduler: %w", err)
		}
	}
	chCtx, stopChannels := context.WithCancel(ctx)
	defer stopChannels()
	type exit struct {
		name string
		err  error
	}
	exits := make(chan exit, len(b.channels))
	for _, ch := range b.channels {
		go func() {
			exits <- exit{ch.Name(), ch.Run(chCtx, b.Engine)}
		}()
	}
	go b.releaseMemory(chCtx)
	var runErr error
	remaining := len(b.channels)
	for remaining > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case ex := <-exits:
			remaining--
			if ex.err != nil {
				b.log.Error("channel stopped", "channel", ex.name, "err", ex.err)
				if b.o.Mode != ModeServe || remaining == 0 {
					runErr = fmt.Errorf("%w: %s: %w", ErrChannelFailed, ex.name, ex.err)
				}
			}
			if b.o.Mode != ModeServe && (ex.name == "repl" || ex.name == cliChannel) {
				remaining = 0 // the console or the one-shot ended: stop
			}
			if runErr != nil {
				remaining = 0
			}
		}
	}
	stopChannels()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := b.sched.Stop(sctx); err != nil {
		b.log.Warn("scheduler stop", "err", err)
	}
	if err := b.Engine.Shutdown(sctx); err != nil {
		b.log.Warn("shutdown", "err", err)
	}
	if b.once != nil && runErr == nil {
		return b.once.result()
	}
	return runErr
}

// Close releases the store. It is safe to call more than once.
func (b *Bot) Close() {
	b.closeOnce.Do(func() {
		if b.Store != nil {
			if err := b.Store.Close(); err != nil {
				b.log.Error("closing the store", "err", err)
			}
		}
	})
}

// Config returns the configuration the bot was built from.
func (b *Bot) Config() *config.Config { return b.cfg }

// WebhookAddr is the webhook's bound address, once running.
func (b *Bot) WebhookAddr() string {
	if b.webhook == nil {
		return ""
	}
	return b.webhook.Addr()
}

// linkOwner gives the owner an identity on another local channel (the
// one-shot `hearth run`), so every local entry point is the same user.
func linkOwner(ctx context.Context, st engine.Store, owner engine.User, channel string, now time.Time) error {
	id, err := st.IdentityFor(ctx, channel, ownerID)
	switch {
	case err == nil && id.UserID == owner.ID:
		return nil
	case err == nil:
		return fmt.Errorf("the %s identity belongs to user %s, not to the owner %s", channel, id.UserID, owner.ID)
	case !errors.Is(err, engine.ErrNotFound):
		return err
	}
	err = st.LinkIdentity(ctx, engine.Identity{Channel: channel, PlatformID: ownerID, UserID: owner.ID, DisplayName: owner.Name, CreatedAt: now})
	if errors.Is(err, engine.ErrConflict) {
		return linkOwner(ctx, st, owner, channel, now) // linked concurrently: check whose
	}
	return err
}
