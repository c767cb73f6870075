package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// schemaBaseline is the schema every migration together produces, as one
// script of CREATE statements (see schema.sql and TestSchemaBaseline,
// which regenerates it with -update). A new, empty database gets it in one
// transaction instead of replaying each migration: the migrations' ALTER
// TABLE steps make SQLite re-read the whole schema each time, which cost
// a first start about 10 ms. Migrations newer than the baseline, if any,
// are applied after it as usual.
//
//go:embed schema.sql
var schemaBaseline string

// baselineVersion is the migration version schema.sql stands for, read
// from its first line ("-- version: N").
func baselineVersion() (int64, error) {
	first, _, _ := strings.Cut(schemaBaseline, "\n")
	v, ok := strings.CutPrefix(first, "-- version: ")
	if !ok {
		return 0, fmt.Errorf("schema.sql: first line %q is not \"-- version: N\"", first)
	}
	return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
}

// applyBaseline creates the baseline schema in db when it holds no schema
// at all, and records every migration up to the baseline's version as
// applied. It reports whether it did.
func applyBaseline(ctx context.Context, db *sql.DB) (bool, error) {
	version, err := baselineVersion()
	if err != nil {
		return false, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	var objects int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&objects); err != nil {
		return false, err
	}
	if objects > 0 {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, schemaBaseline); err != nil {
		return false, fmt.Errorf("baseline schema: %w", err)
	}
	for v := int64(0); v <= version; v++ {
		if _, err := tx.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (?, 1)`, v); err != nil {
			return false, fmt.Errorf("baseline schema: record version %d: %w", v, err)
		}
	}
	return true, tx.Commit()
}
