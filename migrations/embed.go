// Package migrations holds the PostgreSQL schema of Hearth as goose SQL
// migrations (NNNNN_name.sql, each with -- +goose Up and Down sections),
// embedded into the binary. memory/postgres applies them at Open under an
// advisory lock, and `hearth migrate status|up` shows and applies them.
//
// A migration, once released, is never edited: a change is a new file with
// the next number.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed *.sql
var files embed.FS

// FS returns the migration files, at the root of the returned file system.
func FS() fs.FS { return files }
