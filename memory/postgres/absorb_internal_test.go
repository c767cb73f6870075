package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
)

// internalSchema creates an empty schema on the test server, dropped when
// the test ends, and returns a URL that works in it and an admin
// connection to it.
func internalSchema(t *testing.T) (string, *pgx.Conn) {
	t.Helper()
	base := os.Getenv("HEARTH_TEST_POSTGRES_URL")
	if base == "" {
		t.Fatal("HEARTH_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/pg-test.sh env)\"` first")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		_ = conn.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	if _, err := conn.Exec(ctx, `SET search_path = `+schema+`, public`); err != nil {
		t.Fatal(err)
	}
	return u.String(), conn
}

// stageVectors writes docs documents of 100 chunks of user u1 with
// 8-dimension vectors.
func stageVectors(t *testing.T, s *Store, docs int) {
	t.Helper()
	ctx := t.Context()
	for d := range docs {
		path := fmt.Sprintf("v/%04d.md", d)
		w, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: path, Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		chunks := make([]engine.Chunk, 100)
		for i := range chunks {
			v := make([]float32, 8)
			for j := range v {
				v[j] = float32((d*100+i)%(j+3)) - 1
			}
			v[0] += float32(d*100 + i)
			chunks[i] = engine.Chunk{Text: "x", End: 1, Hash: fmt.Sprint(i), Embedding: v}
		}
		if err := s.ReplaceChunks(ctx, "u1", path, w.Version, chunks); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCloseStopsAbsorber: Close returns only once the absorber has
// stopped, even when its batch is waiting on a lock (the batch is
// cancelled and rolled back: nothing is lost, the vectors stay staged).
func TestCloseStopsAbsorber(t *testing.T) {
	ctx := t.Context()
	u, admin := internalSchema(t)
	quiet, err := Open(ctx, u, Options{NoAbsorber: true})
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if quiet.absorb != nil {
		t.Fatal("NoAbsorber store has an absorber")
	}
	if err := quiet.CreateUser(ctx, engine.User{ID: "u1", Name: "U1", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := quiet.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m8", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	stageVectors(t, quiet, 25) // index built at 2,000; the rest staged
	before, err := quiet.StagedVectors(ctx, "")
	if err != nil || before == 0 {
		t.Fatalf("staged: %d, %v", before, err)
	}

	// Hold the table against the absorber's UPDATE.
	tx, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `LOCK TABLE chunk_vectors IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, Options{})
	if err != nil {
		t.Fatal(err)
	}
	WaitFor(t, "the absorber to start its batch", 10*time.Millisecond, 30*time.Second, func() bool {
		var waiting bool
		if err := quiet.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE query LIKE 'UPDATE chunk_vectors SET indexed = true%' AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		return waiting
	})
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not return while the absorber waited on a lock")
	}
	select {
	case <-s.absorb.done:
	default:
		t.Fatal("the absorber is still running after Close")
	}
	if _, err := s.StagedVectors(ctx, ""); err == nil {
		t.Error("StagedVectors after Close succeeded")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if after, err := quiet.StagedVectors(ctx, ""); err != nil || after != before {
		t.Fatalf("staged after the cancelled batch: %d, %v; want %d", after, err, before)
	}
}
