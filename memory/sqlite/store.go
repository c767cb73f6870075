// Package sqlite is Hearth's embedded store: every engine.Store method on one
// SQLite file (by default $HEARTH_HOME/hearth.db), through the pure-Go driver
// modernc.org/sqlite, with nothing to install.
//
// # Design
//
// The file runs in WAL mode with synchronous=NORMAL: a committed transaction
// survives a crash or SIGKILL of the process (it is in the WAL, which the
// next opener replays); only a power loss may drop the last commits.
//
// All writes go through one dedicated connection, serialised by a
// semaphore, and every write transaction begins IMMEDIATE. Goroutines of
// this process therefore queue in Go rather than in SQLite's busy handler
// and never see SQLITE_BUSY; another process on the same file (a CLI
// command next to a running server) waits up to Options.BusyTimeout. Reads
// use a separate small pool of query-only connections, which WAL lets run
// concurrently with the writer. Every statement is prepared once at Open.
//
// A call checks its context before it starts and while it waits for the
// writer; once its statements run they complete (every statement is
// bounded by an index, microseconds long), so a cancelled caller never
// interrupts a transaction half-way, and the driver is never handed a
// cancellable context, which would cost a watcher goroutine per statement.
//
// The schema is versioned by goose migrations embedded from migrations/*.sql
// and applied at Open. Times are stored as microseconds since the Unix epoch
// and returned in UTC.
//
// # Semantics beyond engine's doc comments
//
// These are the choices memory/storetest pins down for every backend:
//   - zero CreatedAt/UpdatedAt/Time fields are filled with the store's
//     clock (Options.Now);
//   - SaveInbound with an empty Status stores InboxPending; CompleteTurn
//     with an empty Status sets InboxDone; an outbound message or history
//     entry without InboundID (SessionID) takes the turn's inbound (and
//     that inbound's session);
//   - LinkIdentity of an identity already linked to the same user updates
//     its display name; MarkDelivered of a delivered message keeps the
//     first delivery time;
//   - references are checked: a session, identity or routed inbound
//     message naming a missing user or session fails with
//     engine.ErrNotFound and writes nothing.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("sqlite: store is closed")

// Defaults for Options.
const (
	DefaultReaders     = 4
	DefaultBusyTimeout = 5 * time.Second
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Logger receives migration and shutdown messages; nil discards them.
	Logger *slog.Logger
	// Readers is the size of the read-only connection pool (default 4).
	Readers int
	// BusyTimeout bounds how long a statement waits for a lock held by
	// another process on the same file (default 5s).
	BusyTimeout time.Duration
	// Now is the clock used for zero timestamps (default time.Now).
	Now func() time.Time
}

// Store is the embedded engine.Store. It is safe for concurrent use.
type Store struct {
	path string
	log  *slog.Logger
	now  func() time.Time

	wdb   *sql.DB   // writer pool, exactly one connection
	wconn *sql.Conn // that connection, held for the store's lifetime
	w     writeStmts
	wsem  chan struct{} // one token: the right to use wconn

	rdb *sql.DB // query-only pool
	r   readStmts

	vec vectorCache // in-memory vector indexes per user (vectors.go)

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var _ engine.Store = (*Store)(nil)

// Path is the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the store answers a query.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close waits for the write in progress (if any) to finish, makes every
// later call fail with ErrClosed, waits for running reads and closes the
// file. Calling Close again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.wsem <- struct{}{} // wait for the in-flight write
		s.closed.Store(true)
		<-s.wsem // writers queued behind us now see closed
		var errs []error
		errs = append(errs, closeStmts(s.w.all())...)
		errs = append(errs, closeStmts(s.r.all())...)
		errs = append(errs, s.wconn.Close(), s.wdb.Close(), s.rdb.Close())
		s.closeErr = errors.Join(errs...)
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
		s.log.Debug("sqlite store closed", "path", s.path)
	})
	return s.closeErr
}

// acquire takes the writer connection, or fails when ctx ends or the store
// is closed. The caller must call release.
func (s *Store) acquire(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.closed.Load() {
		<-s.wsem
		return ErrClosed
	}
	return nil
}

func (s *Store) release() { <-s.wsem }

// write runs fn alone on the writer connection, outside a transaction
// (fn issues one statement, which SQLite makes atomic). fn gets the
// context for its statements, which cannot be cancelled.
func (s *Store) write(ctx context.Context, fn func(context.Context) error) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	return fn(context.Background())
}

// tx runs fn inside BEGIN IMMEDIATE ... COMMIT on the writer connection,
// rolling back when fn or the commit fails.
func (s *Store) tx(ctx context.Context, fn func(context.Context) error) error {
	if err := s.acquire(ctx); err != nil {
		return err
	}
	defer s.release()
	ctx = context.Background()
	if _, err := s.w.begin.ExecContext(ctx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	err := fn(ctx)
	if err == nil {
		if _, err = s.w.commit.ExecContext(ctx); err != nil {
			err = fmt.Errorf("commit: %w", err)
		} else {
			return nil
		}
	}
	// A failed COMMIT may already have ended the transaction, in which
	// case ROLLBACK fails harmlessly; any other failure leaves the
	// connection unusable, which is worth a log line.
	if _, rerr := s.w.rollback.ExecContext(ctx); rerr != nil && !isNoTransaction(rerr) {
		s.log.Error("sqlite rollback failed", "err", rerr)
	}
	return err
}

// readCtx checks that a read may start and returns the context for its
// statement, which cannot be cancelled.
func (s *Store) readCtx(ctx context.Context) (context.Context, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.Background(), nil
}

// stamp returns t, or the store's clock when t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		return s.now()
	}
	return t
}

func closeStmts(stmts []*sql.Stmt) []error {
	var errs []error
	for _, st := range stmts {
		if st != nil {
			if err := st.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}
