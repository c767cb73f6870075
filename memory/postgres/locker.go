package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLocked is returned by Locker.Lock when another session holds the
// lock.
var ErrLocked = errors.New("postgres: lock is held by another session")

// releaseTimeout bounds the unlock statement of a lock.
const releaseTimeout = 5 * time.Second

// Locker is a gocron.Locker (distributed job locking for several Hearth
// processes on one database) backed by PostgreSQL session-level advisory
// locks. Lock hashes its key, with the store's database and schema, to a
// 64-bit advisory lock key and takes it without waiting on a connection
// of the store's pool, which it keeps until Unlock: the lock lives exactly
// as long as that session, so a process that dies releases it.
//
// A Locker is an immutable value; With... methods return a copy.
type Locker struct {
	s       *Store
	minHold time.Duration
}

var _ gocron.Locker = (*Locker)(nil)

// Locker returns the store's distributed job locker.
func (s *Store) Locker() *Locker { return &Locker{s: s} }

// WithMinHold returns a copy of l whose locks stay held until at least d
// after they were taken, even when Unlock comes earlier (Unlock returns at
// once and the release happens in the background). gocron leaves clock
// splay between processes to the locker: a job that runs in a few
// milliseconds on one process would otherwise be run again by another
// process whose scheduler fires a moment later. Set d above the expected
// splay and below the job's interval.
func (l *Locker) WithMinHold(d time.Duration) *Locker {
	c := *l
	c.minHold = max(d, 0)
	return &c
}

// Lock takes the advisory lock of key, or fails at once with ErrLocked
// when another session holds it. Each held lock takes one connection of
// the pool until it is released.
func (l *Locker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	s := l.s
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	id := hashKey("hearth/lock", s.dbname, s.schema, key)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: lock %q: %w", key, s.poolErr(err))
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, id).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres: lock %q: %w", key, err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("postgres: lock %q: %w", key, ErrLocked)
	}
	lk := &advisoryLock{s: s, conn: conn, id: id, key: key, until: time.Now().Add(l.minHold)}
	s.locksMu.Lock()
	if s.closed.Load() { // Close ran while we took it
		s.locksMu.Unlock()
		_ = lk.release(context.Background())
		return nil, ErrClosed
	}
	s.locks[lk] = struct{}{}
	s.locksMu.Unlock()
	return lk, nil
}

// advisoryLock is one held lock and the connection whose session holds it.
type advisoryLock struct {
	s     *Store
	conn  *pgxpool.Conn
	id    int64
	key   string
	until time.Time // release no earlier than this

	mu       sync.Mutex
	released bool
	timer    *time.Timer
}

// Unlock releases the lock, at once or, under WithMinHold, when the
// minimum hold time has passed (in the background; Unlock returns at
// once). Unlocking twice is harmless.
func (lk *advisoryLock) Unlock(ctx context.Context) error {
	lk.mu.Lock()
	if lk.released || lk.timer != nil {
		lk.mu.Unlock()
		return nil
	}
	if wait := time.Until(lk.until); wait > 0 {
		lk.timer = time.AfterFunc(wait, func() {
			if err := lk.release(context.Background()); err != nil {
				lk.s.log.Warn("postgres: delayed unlock failed", "key", lk.key, "err", err)
			}
		})
		lk.mu.Unlock()
		return nil
	}
	lk.mu.Unlock()
	return lk.release(ctx)
}

// release unlocks and returns the connection, once. When the unlock
// statement fails the connection is closed instead, which ends the
// session and with it every lock it held.
func (lk *advisoryLock) release(ctx context.Context) error {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	if lk.released {
		return nil
	}
	lk.released = true
	if lk.timer != nil {
		lk.timer.Stop()
	}
	lk.s.locksMu.Lock()
	delete(lk.s.locks, lk)
	lk.s.locksMu.Unlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	var ok bool
	err := lk.conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, lk.id).Scan(&ok)
	if err == nil && !ok {
		err = errors.New("the session no longer held it")
	}
	if err != nil {
		_ = lk.conn.Conn().Close(ctx) // the pool drops a closed connection
	}
	lk.conn.Release()
	if err != nil {
		return fmt.Errorf("postgres: unlock %q: %w", lk.key, err)
	}
	return nil
}

// releaseAllLocks releases every held lock (Close).
func (s *Store) releaseAllLocks() {
	s.locksMu.Lock()
	held := make([]*advisoryLock, 0, len(s.locks))
	for lk := range s.locks {
		held = append(held, lk)
	}
	s.locksMu.Unlock()
	for _, lk := range held {
		if err := lk.release(context.Background()); err != nil {
			s.log.Warn("postgres: unlock at close failed", "key", lk.key, "err", err)
		}
	}
}
