package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open opens (creating if missing) the store at path, applies pending
// migrations and prepares every statement. A missing parent directory is
// created with mode 0700 and a new file with mode 0600; an existing file
// readable by others is narrowed to 0600.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	if strings.ContainsAny(path, "?#\x00") {
		return nil, fmt.Errorf("sqlite: open %q: path must not contain '?', '#' or NUL", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	if opts.Readers < 0 || opts.BusyTimeout < 0 {
		return nil, fmt.Errorf("sqlite: open %q: Readers and BusyTimeout must not be negative", path)
	}
	if opts.Readers == 0 {
		opts.Readers = DefaultReaders
	}
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = DefaultBusyTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := prepareFile(abs, opts.Logger); err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", abs, err)
	}

	s := &Store{path: abs, log: opts.Logger, now: opts.Now, wsem: make(chan struct{}, 1)}
	if err := s.open(ctx, opts); err != nil {
		s.closeAfterFailedOpen()
		return nil, fmt.Errorf("sqlite: open %q: %w", abs, err)
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, opts Options) error {
	busy := strconv.FormatInt(opts.BusyTimeout.Milliseconds(), 10)
	// Per-connection settings; the driver applies them to every new
	// connection of the pool, busy_timeout first.
	common := s.path + "?_pragma=busy_timeout(" + busy + ")&_pragma=foreign_keys(1)"
	wdsn := common + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
		"&_pragma=journal_size_limit(67108864)&_txlock=immediate"
	rdsn := common + "&_pragma=query_only(1)"

	var err error
	if s.wdb, err = sql.Open("sqlite", wdsn); err != nil {
		return err
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if s.wconn, err = s.wdb.Conn(ctx); err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	if err := checkPragma(ctx, s.wconn, "journal_mode", "wal"); err != nil {
		return err
	}
	if err := prepareAll(ctx, s.wconn.PrepareContext, s.w.defs()); err != nil {
		return err
	}

	if s.rdb, err = sql.Open("sqlite", rdsn); err != nil {
		return err
	}
	s.rdb.SetMaxOpenConns(opts.Readers)
	s.rdb.SetMaxIdleConns(opts.Readers)
	s.rdb.SetConnMaxLifetime(0)
	s.rdb.SetConnMaxIdleTime(0)
	return prepareAll(ctx, s.rdb.PrepareContext, s.r.defs())
}

// closeAfterFailedOpen releases whatever a failed open acquired.
func (s *Store) closeAfterFailedOpen() {
	closeStmts(s.w.all())
	closeStmts(s.r.all())
	if s.wconn != nil {
		_ = s.wconn.Close()
	}
	if s.wdb != nil {
		_ = s.wdb.Close()
	}
	if s.rdb != nil {
		_ = s.rdb.Close()
	}
}

// migrate applies the embedded migrations that the file lacks.
func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	fresh, err := applyBaseline(ctx, s.wdb)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if fresh {
		s.log.Info("sqlite schema created", "path", s.path)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(s.log),
	)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	for _, r := range results {
		s.log.Info("sqlite migration applied", "path", s.path,
			"version", r.Source.Version, "duration", r.Duration)
	}
	current, known, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if current > known {
		return fmt.Errorf("the file's schema version %d is newer than this build knows (%d): upgrade Hearth", current, known)
	}
	return nil
}

// prepareFile creates the parent directory (0700) and the database file
// (0600) when missing, and narrows the mode of an existing file that
// others could read.
func prepareFile(path string, log *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	info, err := f.Stat()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		log.Warn("sqlite store file was accessible to others; narrowing to 0600",
			"path", path, "mode", perm.String())
		if err := os.Chmod(path, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func checkPragma(ctx context.Context, c *sql.Conn, name, want string) error {
	var got string
	if err := c.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil {
		return fmt.Errorf("read pragma %s: %w", name, err)
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("pragma %s is %q, want %q", name, got, want)
	}
	return nil
}
