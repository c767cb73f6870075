package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// openStore opens the configured store: PostgreSQL when database.url is
// set, else the embedded file.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (engine.Store, error) {
	if cfg.Database.URL != "" {
		// Migrations run at Open under an advisory lock: processes
		// starting together on one database migrate once.
		st, err := postgres.Open(ctx, cfg.Database.URL, postgres.Options{Logger: log, VectorIndex: cfg.Database.VectorIndex})
		if err != nil {
			return nil, fmt.Errorf("open the PostgreSQL store (database.url): %w", err)
		}
		return st, nil
	}
	st, err := sqlite.Open(ctx, cfg.Database.Path, sqlite.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open the embedded store (database.path %s): %w", cfg.Database.Path, err)
	}
	return st, nil
}

func allowlists(cfg *config.Config) map[string][]string {
	c := cfg.Channels
	return map[string][]string{
		"webhook":  c.Webhook.Allowlist,
		"telegram": c.Telegram.Allowlist,
		"slack":    c.Slack.Allowlist,
	}
}

func groupPolicies(cfg *config.Config) map[string]string {
	c := cfg.Channels
	return map[string]string{
		"webhook":  c.Webhook.GroupPolicy,
		"telegram": c.Telegram.GroupPolicy,
		"slack":    c.Slack.GroupPolicy,
	}
}
