package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"path"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/hearthbot/hearth/migrations"
)

// Migration lock timing: a process that finds the lock taken retries every
// lockRetry, for at most lockAttempts tries (5 minutes).
const (
	lockRetrySeconds = 1
	lockAttempts     = 300
)

// MigrationState is one migration as a database sees it.
type MigrationState struct {
	Version int64
	// Name is the migration's file name; empty for a version the database
	// has but this build does not know (a newer Hearth applied it).
	Name      string
	Applied   bool
	AppliedAt time.Time // UTC; zero when pending
}

// Status lists the migrations this build knows, in order, each applied or
// pending in the database at url, followed by any version the database has
// that this build does not know. It applies nothing (goose creates its
// empty version table if missing).
func Status(ctx context.Context, url string, opts Options) ([]MigrationState, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	states, err := migrate(ctx, cfg.ConnConfig, logger(opts), false)
	if err != nil {
		return nil, fmt.Errorf("postgres: migration status of %s: %w", describe(cfg.ConnConfig), err)
	}
	return states, nil
}

// Migrate applies the pending migrations to the database at url under the
// advisory lock and returns the states of those it applied (none when the
// database was up to date).
func Migrate(ctx context.Context, url string, opts Options) ([]MigrationState, error) {
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	applied, err := migrate(ctx, cfg.ConnConfig, logger(opts), true)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate %s: %w", describe(cfg.ConnConfig), err)
	}
	return applied, nil
}

func logger(opts Options) *slog.Logger {
	if opts.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return opts.Logger
}

// migrate applies pending migrations (up) or reports their status (!up)
// on a short-lived connection of its own. Processes on the same database
// and schema serialise on a session-level advisory lock whose key is
// derived from the database and schema names.
func migrate(ctx context.Context, cc *pgx.ConnConfig, log *slog.Logger, up bool) ([]MigrationState, error) {
	db := stdlib.OpenDB(*cc.Copy())
	defer db.Close()
	db.SetMaxOpenConns(2)

	var dbname string
	var schema sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&dbname, &schema); err != nil {
		return nil, err
	}
	if !schema.Valid {
		return nil, errors.New("no schema of the search_path exists: create it, or fix search_path")
	}
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID(dbname, schema.String)),
		lock.WithLockTimeout(lockRetrySeconds, lockAttempts),
	)
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS(),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSessionLocker(locker),
		goose.WithSlog(log),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if !up {
		return status(ctx, p)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	applied := make([]MigrationState, 0, len(results))
	for _, r := range results {
		log.Info("postgres migration applied", "schema", schema.String,
			"version", r.Source.Version, "duration", r.Duration)
		applied = append(applied, MigrationState{Version: r.Source.Version, Name: path.Base(r.Source.Path),
			Applied: true, AppliedAt: time.Now().UTC()})
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if current > known {
		return nil, fmt.Errorf("the database's schema version %d is newer than this build knows (%d): upgrade Hearth", current, known)
	}
	return applied, nil
}

func status(ctx context.Context, p *goose.Provider) ([]MigrationState, error) {
	list, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	out := make([]MigrationState, 0, len(list))
	var known int64
	for _, m := range list {
		st := MigrationState{Version: m.Source.Version, Name: path.Base(m.Source.Path),
			Applied: m.State == goose.StateApplied}
		if st.Applied {
			st.AppliedAt = m.AppliedAt.UTC()
		}
		known = max(known, st.Version)
		out = append(out, st)
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if current > known {
		out = append(out, MigrationState{Version: current, Applied: true})
	}
	return out, nil
}

// migrationLockID is the advisory lock key of one database and schema.
func migrationLockID(dbname, schema string) int64 {
	return hashKey("hearth/migrations", dbname, schema)
}

// hashKey hashes its parts (NUL-separated) to an advisory lock key.
func hashKey(parts ...string) int64 {
	h := fnv.New64a()
	for _, p := range parts {
		_, _ = h.Write([]byte(p))
		_, _ = h.Write([]byte{0})
	}
	return int64(h.Sum64())
}
