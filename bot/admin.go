package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hearthbot/hearth/adapters/repl"
	"github.com/hearthbot/hearth/engine"
)

// admin backs the console's local commands with the bot's parts.
type admin struct {
	repl.UnavailableAdmin
	b *Bot
}

var _ repl.Admin = (*admin)(nil)

// consoleSession is the owner's active console session, created on demand.
func (a *admin) consoleSession(ctx context.Context) (engine.Session, error) {
	key := engine.Address{Channel: ownerChannel, Conversation: "console"}.Key()
	owner, err := a.b.Store.IdentityFor(ctx, ownerChannel, ownerID)
	if err != nil {
		return engine.Session{}, err
	}
	return a.b.Store.ActiveSession(ctx, owner.UserID, key)
}

func (a *admin) Status(ctx context.Context) ([]repl.StatusField, error) {
	b := a.b
	model, _ := a.Model(ctx)
	users, err := b.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	store := "embedded (" + b.cfg.Database.Path + ")"
	if b.cfg.Database.URL != "" {
		store = "postgresql"
	}
	return []repl.StatusField{
		{Name: "version", Value: b.o.Version},
		{Name: "uptime", Value: time.Since(b.started).Round(time.Second).String()},
		{Name: "model", Value: model},
		{Name: "store", Value: store},
		{Name: "users", Value: fmt.Sprint(len(users))},
		{Name: "tools", Value: fmt.Sprint(b.Tools.Len())},
		{Name: "goroutines", Value: fmt.Sprint(runtime.NumGoroutine())},
		{Name: "heap", Value: fmt.Sprintf("%.1f MiB", float64(ms.HeapAlloc)/(1<<20))},
	}, nil
}

func (a *admin) Model(ctx context.Context) (string, error) {
	if s, err := a.consoleSession(ctx); err == nil && s.Model != "" {
		return s.Model, nil
	}
	if n, ok := a.b.LLM.(engine.ModelNamer); ok {
		return n.ModelName(), nil
	}
	return a.b.cfg.LLM.Model, nil
}

func (a *admin) SetModel(ctx context.Context, name string) error {
	s, err := a.consoleSession(ctx)
	if errors.Is(err, engine.ErrNotFound) {
		return errors.New("say something first: the console conversation starts with your first message")
	}
	if err != nil {
		return err
	}
	s.Model, s.UpdatedAt = name, a.b.o.Now()
	return a.b.Store.UpdateSession(ctx, s)
}

func (a *admin) Pairings(ctx context.Context) ([]engine.PairingRequest, error) {
	return a.b.Gate.Pending(ctx)
}

func (a *admin) ApprovePairing(ctx context.Context, code string) (engine.PairingRequest, error) {
	return a.b.approve(ctx, code)
}

func (a *admin) DenyPairing(ctx context.Context, code string) (engine.PairingRequest, error) {
	return a.b.Gate.Deny(ctx, code)
}

func (a *admin) Users(ctx context.Context) ([]engine.User, error) { return a.b.Store.ListUsers(ctx) }

func (a *admin) Sessions(ctx context.Context, limit int) ([]engine.Session, error) {
	return a.b.Store.ListSessions(ctx, "", limit)
}

func (a *admin) Audit(ctx context.Context, limit int) ([]engine.AuditEntry, error) {
	return a.b.Store.ListAudit(ctx, engine.AuditFilter{Limit: limit})
}

func (a *admin) Channels(context.Context) ([]repl.ChannelInfo, error) {
	return a.b.ChannelHealth(), nil
}

// ChannelHealth reports every running channel's state.
func (b *Bot) ChannelHealth() []repl.ChannelInfo {
	var out []repl.ChannelInfo
	for _, ch := range b.channels {
		info := repl.ChannelInfo{Name: ch.Name(), Health: engine.ChannelHealth{State: "running"}}
		if h, ok := ch.(engine.HealthReporter); ok {
			info.Health = h.Health()
		}
		out = append(out, info)
	}
	return out
}

// approve approves a pairing code and tells the new user on their channel.
func (b *Bot) approve(ctx context.Context, code string) (engine.PairingRequest, error) {
	req, _, err := b.Gate.ApproveRequest(ctx, code)
	if err != nil {
		return req, err
	}
	if b.Engine != nil {
		conv := req.Conversation
		if conv == "" {
			conv = req.PlatformID
		}
		to := engine.Address{Channel: req.Channel, Conversation: conv}
		if err := b.Engine.Notify(ctx, to, "You're paired: the owner approved you. Send me a message."); err != nil {
			b.log.Warn("could not tell the paired user", "err", err)
		}
	}
	return req, nil
}

func (a *admin) Routines(ctx context.Context) ([]repl.RoutineInfo, error) {
	return scheduleAdmin{a.b, a.b.sched}.Routines(ctx)
}

func (a *admin) Heartbeat(ctx context.Context, action string) (string, error) {
	return scheduleAdmin{a.b, a.b.sched}.Heartbeat(ctx, action)
}

// SearchMemory searches the owner's memory (/memory search).
func (a *admin) SearchMemory(ctx context.Context, query string) ([]repl.MemoryHit, error) {
	return a.b.searchMemoryHits(ctx, a.b.Memory, query)
}
