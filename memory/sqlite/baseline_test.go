package sqlite

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"
)

var updateBaseline = flag.Bool("update", false, "rewrite schema.sql from the migrations")

// migratedDB returns a database file brought up to date by replaying
// every migration, the way an existing file is upgraded.
func migratedDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "migrated.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

// ftsTables lists the FTS5 tables of db.
func ftsTables(ctx context.Context, t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// dumpSchema writes db's schema as the baseline script: every object's
// CREATE statement in the order SQLite keeps them (objects SQLite makes by
// itself left out: sqlite_sequence, automatic indexes, FTS5 shadow
// tables), then the FTS5 settings the migrations stored.
func dumpSchema(t *testing.T, db *sql.DB, version int64) string {
	t.Helper()
	ctx := t.Context()
	fts := ftsTables(ctx, t, db)
	shadow := func(name string) bool {
		for _, f := range fts {
			for _, sfx := range []string{"_data", "_idx", "_docsize", "_config", "_content"} {
				if name == f+sfx {
					return true
				}
			}
		}
		return false
	}
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var tables []string
	fmt.Fprintf(&b, "-- version: %d\n", version)
	b.WriteString("-- The schema every migration in migrations/ produces, for new databases\n")
	b.WriteString("-- (baseline.go). Generated: go test ./memory/sqlite -run TestSchemaBaseline -update\n")
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			t.Fatal(err)
		}
		if name == "sqlite_sequence" || shadow(name) {
			continue
		}
		fmt.Fprintf(&b, "\n%s;\n", q)
		if strings.HasPrefix(q, "CREATE TABLE") && name != "goose_db_version" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	// Rows the migrations inserted (such as the one embedding space).
	for _, tbl := range tables {
		for _, values := range tableRows(t, db, tbl) {
			fmt.Fprintf(&b, "\nINSERT INTO %s VALUES (%s);\n", tbl, values)
		}
	}
	for _, f := range fts {
		cfg, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT k, quote(v) FROM %q WHERE k <> 'version' ORDER BY k`, f+"_config"))
		if err != nil {
			t.Fatal(err)
		}
		for cfg.Next() {
			var k, v string
			if err := cfg.Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "\nINSERT INTO %s (%s, rank) VALUES ('%s', %s);\n", f, f, k, v)
		}
		cfg.Close()
	}
	return b.String()
}

// tableRows returns every row of table tbl as a list of SQL literals.
func tableRows(t *testing.T, db *sql.DB, tbl string) []string {
	t.Helper()
	ctx := t.Context()
	cols, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT name FROM pragma_table_info(%s) ORDER BY cid`, quoteString(tbl)))
	if err != nil {
		t.Fatal(err)
	}
	var quoted []string
	for cols.Next() {
		var c string
		if err := cols.Scan(&c); err != nil {
			t.Fatal(err)
		}
		quoted = append(quoted, fmt.Sprintf("quote(%q)", c))
	}
	cols.Close()
	rows, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %q ORDER BY 1`, strings.Join(quoted, " || ', ' || "), tbl))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// quoteString is s as an SQL string literal.
func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// describe is what must be equal between two databases for them to be
// the same schema: the catalogue (without page numbers), every FTS5
// setting and the migration versions recorded.
func describe(t *testing.T, db *sql.DB) string {
	t.Helper()
	ctx := t.Context()
	var b strings.Builder
	lines := func(q string) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
	}
	lines(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name`)
	for _, f := range ftsTables(ctx, t, db) {
		lines(fmt.Sprintf(`SELECT k, v FROM %q ORDER BY k`, f+"_config"))
	}
	lines(`SELECT version_id, is_applied FROM goose_db_version ORDER BY version_id`)
	tables, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		fmt.Fprintln(&b, n, tableRows(t, db, n))
	}
	return b.String()
}

// TestSchemaBaseline checks that schema.sql is what the migrations
// produce, and that a new file opened through it has exactly the schema
// of a file upgraded migration by migration.
func TestSchemaBaseline(t *testing.T) {
	migrated := migratedDB(t)
	var version int64
	if err := migrated.QueryRowContext(t.Context(), `SELECT max(version_id) FROM goose_db_version`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	dump := dumpSchema(t, migrated, version)
	if *updateBaseline {
		if err := os.WriteFile("schema.sql", []byte(dump), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("schema.sql rewritten")
	}
	if dump != schemaBaseline {
		t.Fatalf("schema.sql is not what the migrations produce (version %d); run: go test ./memory/sqlite -run TestSchemaBaseline -update", version)
	}
	fresh := openTest(t)
	if got, want := describe(t, fresh.rdb), describe(t, migrated); got != want {
		t.Fatalf("a new file's schema differs from a migrated one's:\nnew:\n%s\nmigrated:\n%s", got, want)
	}
	// Opening it again applies nothing and keeps it.
	path := fresh.Path()
	if err := fresh.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got, want := describe(t, again.rdb), describe(t, migrated); got != want {
		t.Fatalf("the schema changed on the second open:\n%s", got)
	}
}

func TestBaselineVersion(t *testing.T) {
	v, err := baselineVersion()
	if err != nil || v < 6 {
		t.Fatalf("baseline version %d, %v", v, err)
	}
}
