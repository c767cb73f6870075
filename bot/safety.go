package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/leak"
	"github.com/hearthbot/hearth/engine/safety"
)

// NewSafetyGuard builds the safety layer from the safety section: the
// injection detector with its policy and the leak detector shared with
// the sandbox. audit, when set, records what the guard found or changed.
func NewSafetyGuard(cfg *config.Config, leaks *leak.Detector, audit func(context.Context, engine.AuditEntry)) (*safety.Guard, error) {
	opts := safety.Options{
		Policy: safety.PolicyConfig{
			Severity: cfg.Safety.Severity, Rules: cfg.Safety.Rules, Sources: cfg.Safety.Sources,
		},
		Secrets:    leaks,
		KnownHosts: cfg.Safety.KnownHosts,
	}
	if audit != nil {
		opts.Audit = func(ctx context.Context, ev safety.AuditEvent) {
			audit(ctx, engine.AuditEntry{
				Kind: "safety", UserID: ev.UserID, Tool: ev.Source, Outcome: string(ev.Action),
				Detail: strings.Join(append(ev.Findings, ev.Changes...), "; "),
			})
		}
	}
	g, err := safety.New(opts)
	if err != nil {
		return nil, fmt.Errorf("safety: %w", err)
	}
	return g, nil
}

// recordAudit writes an audit entry, logging a failure.
func (b *Bot) recordAudit(ctx context.Context, e engine.AuditEntry) {
	if e.Time.IsZero() {
		e.Time = b.o.Now()
	}
	if _, err := b.Store.RecordAudit(context.WithoutCancel(ctx), e); err != nil {
		b.log.Error("audit record failed", "kind", e.Kind, "err", err)
	}
}
