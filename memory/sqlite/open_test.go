package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	path := filepath.Join(root, "home", "data", "hearth.db")
	s, err := open(ctx, t, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if got := s.Path(); got != path {
		t.Errorf("Path() = %q, want %q", got, path)
	}
	for _, dir := range []string{filepath.Join(root, "home"), filepath.Dir(path)} {
		if m := mode(t, dir); m != 0o700 {
			t.Errorf("directory %s mode = %v, want 0700", dir, m)
		}
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if m := mode(t, f); m != 0o600 {
			t.Errorf("%s mode = %v, want 0600", filepath.Base(f), m)
		}
	}
}

func TestOpenNarrowsExistingFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hearth.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // regardless of umask
		t.Fatal(err)
	}
	if _, err := open(t.Context(), t, path); err != nil {
		t.Fatal(err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode after Open = %v, want 0600", m)
	}
}

func TestOpenRejectsBadPaths(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "notes.txt")
	content := []byte("these are my notes, not a database\n")
	if err := os.WriteFile(notDB, content, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, path, want string }{
		{"empty", "", "empty path"},
		{"query characters", filepath.Join(dir, "a?mode=ro"), "must not contain"},
		{"a directory", dir, "is a directory"},
		{"under a file", filepath.Join(notDB, "hearth.db"), "not a directory"},
		{"not a database", notDB, "not a database"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sqlite.Open(t.Context(), tc.path, sqlite.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if got, err := os.ReadFile(notDB); err != nil || string(got) != string(content) {
		t.Errorf("a rejected file was changed: %q, %v", got, err)
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(dir, "x.db"), sqlite.Options{Readers: -1}); err == nil {
		t.Error("Open with negative Readers succeeded")
	}
}

// TestSchema checks the tables after Open and that reopening applies no
// migration twice.
func TestSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	for range 2 {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	want := []string{"api_tokens", "audit", "chunk_vectors", "chunks", "chunks_fts", "chunks_fts_config", "chunks_fts_data",
		"chunks_fts_docsize", "chunks_fts_idx", "chunks_to_embed", "document_versions", "documents", "embedding_cache", "embedding_space",
		"goose_db_version", "heartbeats", "history", "identities", "inbox", "job_runs", "outbox", "pairing_requests",
		"routines", "secrets", "sessions", "users", "vector_generations"}
	if !slices.Equal(tables, want) {
		t.Errorf("tables = %v, want %v", tables, want)
	}
	var applied, maxVersion int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*), MAX(version_id) FROM goose_db_version WHERE version_id > 0`).Scan(&applied, &maxVersion); err != nil {
		t.Fatal(err)
	}
	if applied != maxVersion {
		t.Errorf("%d migrations recorded up to version %d after two opens: some ran twice", applied, maxVersion)
	}
	var mode string
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

// TestTimePrecision: times keep microseconds and come back in UTC.
func TestTimePrecision(t *testing.T) {
	ctx := t.Context()
	s, err := harness{}.MakeStore(ctx, t)
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 3, 29, 1, 59, 59, 123_456_789, time.FixedZone("X", -7*3600))
	m, _, err := s.SaveInbound(ctx, engine.StoredInbound{
		Inbound: engine.Inbound{Channel: "repl", MessageID: "1", ReceivedAt: received},
		Status:  engine.InboxHeld, CreatedAt: received,
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetInbound(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := received.Truncate(time.Microsecond).UTC()
	for _, g := range []time.Time{m.CreatedAt, m.Inbound.ReceivedAt, got.CreatedAt, got.Inbound.ReceivedAt} {
		if !g.Equal(want) || g.Location() != time.UTC {
			t.Errorf("time = %v (%v), want %v in UTC", g, g.Location(), want)
		}
	}
}

// TestCancelledContext: a cancelled call fails with the context's error
// and writes nothing.
func TestCancelledContext(t *testing.T) {
	s, err := harness{}.MakeStore(t.Context(), t)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("CreateUser with a cancelled context: %v", err)
	}
	if _, err := s.GetUser(ctx, "u"); !errors.Is(err, context.Canceled) {
		t.Errorf("GetUser with a cancelled context: %v", err)
	}
	if _, err := s.ListUsers(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ListUsers with a cancelled context: %v", err)
	}
	if _, err := s.GetUser(t.Context(), "u"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("the cancelled CreateUser wrote: GetUser = %v", err)
	}
}

// TestRefusesNewerSchema: a file migrated by a newer Hearth is not opened
// by an older one.
func TestRefusesNewerSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, 1)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("error %q does not say the schema is newer", err)
	}
}
