package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hearthbot/hearth/engine"
)

// ts truncates t to PostgreSQL's microsecond precision, so that what the
// store returns equals what it stored.
func ts(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := ts(t)
	return &v
}

// fromNull reads a nullable timestamptz: NULL is the zero time.
func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// nullString stores "" as NULL (optional foreign keys).
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nullID stores 0 as NULL (optional foreign keys).
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// jsonOrNull encodes v, or NULL when empty reports true.
func jsonOrNull(v any, empty bool) ([]byte, error) {
	if empty {
		return nil, nil
	}
	return json.Marshal(v)
}

// fromJSON decodes a nullable JSON column into dst; NULL leaves dst alone.
func fromJSON(src []byte, dst any) error {
	if len(src) == 0 {
		return nil
	}
	return json.Unmarshal(src, dst)
}

// PostgreSQL error codes the store maps.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUniqueViolation(err error) bool { return pgCode(err) == codeUniqueViolation }

// missingRef turns a foreign key violation into engine.ErrNotFound naming
// the missing row (from the server's detail, which names the key and its
// value), and returns other errors unchanged.
func missingRef(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != codeForeignKeyViolation {
		return err
	}
	what := pe.Detail
	if what == "" {
		what = pe.ConstraintName
	}
	return fmt.Errorf("%s: %w", what, engine.ErrNotFound)
}

// noRows maps pgx.ErrNoRows to engine.ErrNotFound.
func noRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.ErrNotFound
	}
	return err
}

// limitArg maps the interface's "0 means all" to SQL's LIMIT NULL.
func limitArg(n int) *int64 {
	if n <= 0 {
		return nil
	}
	v := int64(n)
	return &v
}
