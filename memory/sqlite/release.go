package sqlite

import (
	"context"
	"fmt"
)

// ReleaseMemory gives back memory the store holds only for speed, for a
// process that has gone idle: the idle read connections are closed (each
// holds its own page cache and parsed schema; they are reopened on
// demand) and the writer connection's page cache is shrunk. Nothing
// stored is affected.
func (s *Store) ReleaseMemory(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	n := s.rdb.Stats().MaxOpenConnections
	s.rdb.SetMaxIdleConns(0) // closes the idle ones
	s.rdb.SetMaxIdleConns(n)
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.wsem }()
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA shrink_memory"); err != nil {
		return fmt.Errorf("sqlite: shrink memory: %w", err)
	}
	return nil
}
