package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgvector "github.com/pgvector/pgvector-go/pgx"
)

// Open connects to the database at url (postgres://user:password@host/db),
// applies pending migrations under an advisory lock and returns the store.
// It fails when the database's schema is newer than this build knows.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.MaxConns < 0 {
		return nil, errors.New("postgres: open: MaxConns must not be negative")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	kind, err := vectorIndexKind(opts.VectorIndex)
	if err != nil {
		return nil, err
	}
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, cfg.ConnConfig, opts.Logger, true); err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", describe(cfg.ConnConfig), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", describe(cfg.ConnConfig), err)
	}
	s := &Store{pool: pool, log: opts.Logger, now: opts.Now, locks: map[*advisoryLock]struct{}{}, vecKind: kind}
	if err := pool.QueryRow(ctx, `SELECT current_database(), COALESCE(current_schema(), '')`).
		Scan(&s.dbname, &s.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", describe(cfg.ConnConfig), err)
	}
	// A database upgraded from an older version, or opened with another
	// kind of index, or whose vectors grew while no process wrote through
	// this build, gets its index now, unless another process is at it.
	next, err := s.maintainVectorIndex(ctx, false)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", describe(cfg.ConnConfig), err)
	}
	s.vec.due = next
	if !opts.NoAbsorber {
		s.startAbsorber()
	}
	return s, nil
}

// poolConfig parses url into a pool configuration with Hearth's defaults.
// Errors never echo the URL, which may hold a password.
func poolConfig(url string, opts Options) (*pgxpool.Config, error) {
	if url == "" {
		return nil, errors.New("postgres: open: empty database URL")
	}
	if !strings.HasPrefix(url, "postgres://") && !strings.HasPrefix(url, "postgresql://") {
		return nil, errors.New("postgres: open: the database URL must start with postgres:// or postgresql://")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL: keep only its kind.
		return nil, errors.New("postgres: open: the database URL cannot be parsed (check its syntax and parameters)")
	}
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = opts.MaxConns
	case !strings.Contains(url, "pool_max_conns"):
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	cfg.AfterConnect = registerVector
	return cfg, nil
}

// registerVector teaches a new connection pgvector's types (binary
// encoding of pgvector.Vector) and search settings, once the extension
// exists in the database.
func registerVector(ctx context.Context, conn *pgx.Conn) error {
	var present bool
	if err := conn.QueryRow(ctx, `SELECT to_regtype('vector') IS NOT NULL`).Scan(&present); err != nil {
		return err
	}
	if !present {
		return nil
	}
	if err := pgvector.RegisterTypes(ctx, conn); err != nil {
		return err
	}
	// IVFFlat searches read ivfProbes lists, HNSW searches keep
	// hnswEfSearch candidates, and both read on while the user and path
	// filters leave fewer rows than the LIMIT (pgvector 0.8's iterative
	// scans; the candidates are rescored exactly, so IVFFlat's order need
	// not be strict). No parallel workers: the store's statements are
	// short, and starting workers costs more than they save.
	_, err := conn.Exec(ctx, fmt.Sprintf(`SET ivfflat.probes = %d; SET ivfflat.iterative_scan = relaxed_order;
		SET hnsw.ef_search = %d; SET hnsw.iterative_scan = strict_order; SET max_parallel_workers_per_gather = 0`,
		ivfProbes, hnswEfSearch))
	return err
}

// describe names a database for messages, without credentials.
func describe(c *pgx.ConnConfig) string {
	return fmt.Sprintf("database %q on %s:%d", c.Database, c.Host, c.Port)
}
