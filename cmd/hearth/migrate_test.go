package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/internal/fakellm"
)

// pgSchemaURL creates an empty schema on the test PostgreSQL server
// (HEARTH_TEST_POSTGRES_URL, started by scripts/pg-test.sh), dropped when
// the test ends, and returns a URL that works in it.
func pgSchemaURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("HEARTH_TEST_POSTGRES_URL")
	if base == "" {
		t.Fatal("HEARTH_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/pg-test.sh env)\"` from the repository root first")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cli_" + hex.EncodeToString(b[:])
	pgExec(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { pgExec(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

func pgExec(t *testing.T, u, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func pgCount(t *testing.T, u, table string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateWithoutPostgres(t *testing.T) {
	r := hearth(t, hearthEnv(t, ""), "", "migrate", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "database.url is not set") {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = hearth(t, hearthEnv(t, ""), "", "migrate", "sideways")
	if r.code != 2 || !strings.Contains(r.stderr, "unknown migrate command sideways") {
		t.Fatalf("exit %d stderr %q", r.code, r.stderr)
	}
}

// TestMigrateAndRunOnPostgres: status shows pending migrations, up applies
// them, and Hearth then answers a message with everything stored in
// PostgreSQL.
func TestMigrateAndRunOnPostgres(t *testing.T) {
	u := pgSchemaURL(t)
	llm := fakellm.NewOpenAI(t)
	env := hearthEnv(t, llm.BaseURL(), "HEARTH_DATABASE__URL="+u)

	r := hearth(t, env, "", "migrate", "status")
	if r.code != 0 || !strings.Contains(r.stdout, "00001_core.sql") || !strings.Contains(r.stdout, "pending") {
		t.Fatalf("status before: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hearth-test") {
		t.Errorf("the output shows the database password:\n%s%s", r.stdout, r.stderr)
	}
	r = hearth(t, env, "", "migrate", "up")
	if r.code != 0 || !strings.Contains(r.stdout, "applied 00001 00001_core.sql") {
		t.Fatalf("up: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = hearth(t, env, "", "migrate", "up")
	if r.code != 0 || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("second up: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = hearth(t, env, "", "migrate")
	if r.code != 0 || strings.Contains(r.stdout, "pending\n") || !strings.Contains(r.stdout, "up to date") {
		t.Fatalf("status after: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	r = hearth(t, env, "", "run", "-m", "hi from postgres")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "echo: hi from postgres" {
		t.Fatalf("run: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if n := pgCount(t, u, "inbox"); n != 1 {
		t.Errorf("inbox has %d rows after one message, want 1", n)
	}
	if n := pgCount(t, u, "history"); n < 2 {
		t.Errorf("history has %d rows after one turn, want at least 2", n)
	}
}

func TestBadDatabaseURLDoesNotLeakThePassword(t *testing.T) {
	env := hearthEnv(t, "", "HEARTH_DATABASE__URL=postgres://hearth:hunter2-secret@127.0.0.1:1/nowhere?connect_timeout=2")
	r := hearth(t, env, "", "migrate", "status")
	if r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1") {
		t.Fatalf("exit %d stderr %q, want a failure naming the server", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "hunter2-secret") {
		t.Errorf("the password leaked:\n%s%s", r.stdout, r.stderr)
	}
}
