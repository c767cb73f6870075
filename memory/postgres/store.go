// Package postgres is Hearth's production store: every engine.Store method on
// a PostgreSQL server (with pgvector for the memory tables), through a pgx/v5
// connection pool. Several Hearth processes may share one database.
//
// # Design
//
// Open parses the URL, applies the embedded migrations (package
// github.com/hearthbot/hearth/migrations) with goose under a session-level
// advisory lock, so that processes starting together migrate once, and
// opens the pool. Every object is created in, and every query resolves
// against, the connection's search_path: one database can hold several
// Hearth schemas (the tests give each store its own).
//
// Each call is one statement on the pool, or one transaction where it
// writes several rows (CreateSession, CompleteTurn). Concurrency is left to
// PostgreSQL, with these choices:
//   - SaveInbound inserts with ON CONFLICT DO NOTHING on (channel,
//     message_id): of any number of concurrent saves of one message, in
//     one process or several, exactly one inserts and the others get the
//     stored record;
//   - ResolvePairing is one conditional UPDATE: of concurrent resolutions
//     of a code exactly one succeeds, the others get engine.ErrNotFound;
//   - CreateSession locks the user's row, so concurrent creations for one
//     user are serialised and every one succeeds, the last one active;
//   - CompleteTurn advances sessions.last_seq under the session's row lock
//     and writes history, inbox status and outbox in one transaction.
//
// Times are timestamptz, truncated to the microsecond on the way in and
// returned in UTC.
//
// # Semantics beyond engine's doc comments
//
// The same as memory/sqlite's (memory/storetest pins them down): zero
// CreatedAt/UpdatedAt/Time fields are filled with Options.Now; an empty
// inbox status means pending on save and done on CompleteTurn; history
// entries and outbound messages without InboundID (SessionID) take the
// turn's inbound message (and its session); references to missing users,
// sessions or inbound messages fail with engine.ErrNotFound and write
// nothing; negative limits are errors; Close waits for calls in flight and
// every call after it fails with ErrClosed.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hearthbot/hearth/engine"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("postgres: store is closed")

// DefaultMaxConns is the pool size when neither Options.MaxConns nor the
// URL's pool_max_conns sets it.
const DefaultMaxConns = 16

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Logger receives migration and pool messages; nil discards them.
	Logger *slog.Logger
	// MaxConns bounds the pool (default: the URL's pool_max_conns, else
	// DefaultMaxConns). Each held Locker lock takes one connection.
	MaxConns int32
	// Now is the clock used for zero timestamps (default time.Now).
	Now func() time.Time
	// VectorIndex is the kind of the memory's vector index:
	// VectorIndexHNSW (the default: the better recall) or
	// VectorIndexIVFFlat (rebuilt as the vectors double; cheaper to keep
	// current, poorer recall on hard data); see vecindex.go. Processes
	// sharing a database must agree: the store converts the index to its
	// kind at Open.
	VectorIndex string
	// NoAbsorber turns off the store's absorber, the goroutine that moves
	// staged vectors into the vector index (absorb.go). Searches find
	// staged vectors either way, more slowly as they pile up; another
	// process's absorber, or AbsorbVectors, moves them.
	NoAbsorber bool
}

// Store is the PostgreSQL engine.Store. It is safe for concurrent use, by
// several goroutines and by several processes on one database.
type Store struct {
	pool   *pgxpool.Pool
	log    *slog.Logger
	now    func() time.Time
	schema string // current_schema() of the pool's connections
	dbname string

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	locksMu sync.Mutex
	locks   map[*advisoryLock]struct{} // held Locker locks, released by Close

	stats   statsCache // the chunks table's statistics, for full-text planning
	vec     vecWatch   // vectors written since the vector index was checked
	vecKind vecKind    // the kind of vector index the store keeps
	absorb  *absorber  // moves staged vectors into the index; nil with NoAbsorber
}

var _ engine.Store = (*Store)(nil)

// Schema is the schema the store's tables live in.
func (s *Store) Schema() string { return s.schema }

// Pool is the store's connection pool, for packages that add tables of
// their own through migrations (the scheduler's routines, for example).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close stops the absorber (a batch in flight is rolled back), releases
// the locks the store's Locker holds, waits for the calls in flight to
// return their connections, and closes the pool. Every later call fails
// with ErrClosed. Calling Close again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stopAbsorber()
		s.releaseAllLocks()
		s.pool.Close() // blocks until every acquired connection is back
		s.log.Debug("postgres store closed", "schema", s.schema)
	})
	return s.closeErr
}

// check fails when the store is closed or ctx is done.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// tx runs fn in a read-committed transaction, committing when fn returns
// nil and rolling back otherwise.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// stamp returns t truncated to the microsecond, or the store's clock when
// t is zero.
func (s *Store) stamp(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return ts(t)
}

// poolErr turns the pool's error after Close into ErrClosed.
func (s *Store) poolErr(err error) error {
	if err != nil && s.closed.Load() && !errors.Is(err, ErrClosed) {
		return errors.Join(ErrClosed, err)
	}
	return err
}
