package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "hearth.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConnectionSettings checks the pragmas of the writer and of every
// reader connection.
func TestConnectionSettings(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	writer := map[string]string{
		"journal_mode": "wal", "synchronous": "1", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "0",
	}
	for name, want := range writer {
		var got string
		if err := s.wconn.QueryRowContext(ctx, "PRAGMA "+name).Scan(&got); err != nil || got != want {
			t.Errorf("writer %s = %q, %v; want %q", name, got, err, want)
		}
	}
	// Hold every reader at once so that each connection is checked.
	conns := make([]interface{ Close() error }, 0, DefaultReaders)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range DefaultReaders {
		c, err := s.rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var q, fk string
		if err := c.QueryRowContext(ctx, "PRAGMA query_only").Scan(&q); err != nil || q != "1" {
			t.Errorf("reader query_only = %q, %v", q, err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != "1" {
			t.Errorf("reader foreign_keys = %q, %v", fk, err)
		}
		if _, err := c.ExecContext(ctx, "DELETE FROM users"); err == nil {
			t.Error("a reader connection could write")
		}
	}
}

// TestFTS5Available: the memory issue's full-text search needs FTS5 in the
// driver's build of SQLite.
func TestFTS5Available(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	for _, q := range []string{
		`CREATE VIRTUAL TABLE temp.probe USING fts5(body)`,
		`INSERT INTO temp.probe (body) VALUES ('the quick brown fox'), ('lazy dogs sleep')`,
	} {
		if _, err := s.wconn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var body string
	if err := s.wconn.QueryRowContext(ctx, `SELECT body FROM temp.probe WHERE probe MATCH 'dog*'`).Scan(&body); err != nil || body != "lazy dogs sleep" {
		t.Errorf("fts5 match = %q, %v", body, err)
	}
}

// TestWriterWaitHonoursContext: a write waiting for the writer connection
// gives up when its context ends, and writes nothing.
func TestWriterWaitHonoursContext(t *testing.T) {
	s := openTest(t)
	if err := s.acquire(t.Context()); err != nil { // an endless write in progress
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		errc <- s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner})
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("CreateUser waiting for the writer: %v, want context.Canceled", err)
	}
	s.release()
	if _, err := s.GetUser(t.Context(), "u"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("GetUser after the cancelled write: %v, want ErrNotFound", err)
	}
}

// TestCloseWaitsForTransaction closes the store while a transaction is
// half-way: Close waits, the transaction commits whole.
func TestCloseWaitsForTransaction(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inTx, proceed := make(chan struct{}), make(chan struct{})
	txErr, closeErr := make(chan error, 1), make(chan error, 1)
	go func() {
		txErr <- s.tx(ctx, func(ctx context.Context) error {
			if _, err := s.w.createUser.ExecContext(ctx, "a", "A", "owner", "", 0); err != nil {
				return err
			}
			close(inTx)
			<-proceed
			_, err := s.w.createUser.ExecContext(ctx, "b", "B", "member", "", 0)
			return err
		})
	}()
	<-inTx
	go func() { closeErr <- s.Close() }()
	close(proceed)
	if err := <-txErr; err != nil {
		t.Fatalf("transaction during Close: %v", err)
	}
	if err := <-closeErr; err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	users, err := s2.ListUsers(ctx)
	if err != nil || len(users) != 2 {
		t.Errorf("users after Close and reopen = %+v, %v; want a and b", users, err)
	}
}
