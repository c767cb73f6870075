package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
	"github.com/hearthbot/hearth/memory/storetest"
)

// baseURL is the test server's URL. The tests never skip without it: CI
// must show that they really ran against PostgreSQL.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("HEARTH_TEST_POSTGRES_URL")
	if u == "" {
		t.Fatal("HEARTH_TEST_POSTGRES_URL is not set: run `eval \"$(scripts/pg-test.sh env)\"` from the repository " +
			"root first (it installs and starts the test PostgreSQL server); scripts/test.sh does it for you")
	}
	return u
}

// schemaURL creates an empty schema on the test server, dropped when the
// test ends, and returns a URL whose connections work in it (with public
// after it on the search_path, where the vector extension lives).
func schemaURL(t testing.TB) string {
	t.Helper()
	base := baseURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	admin(t, base, `CREATE SCHEMA `+schema)
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA `+schema+` CASCADE`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("HEARTH_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema+",public")
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs one statement on its own connection.
func admin(t testing.TB, u, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatalf("connect to the test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// openAt opens a store on u, closed when the test ends.
func openAt(t testing.TB, u string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), u, postgres.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// harness gives each store its own schema and reopens stores on theirs.
type harness struct {
	mu   sync.Mutex
	urls map[engine.Store]string
}

func newHarness() *harness { return &harness{urls: map[engine.Store]string{}} }

func (h *harness) MakeStore(ctx context.Context, t *testing.T) (engine.Store, error) {
	return h.open(ctx, t, schemaURL(t))
}

func (h *harness) Reopen(ctx context.Context, t *testing.T, s engine.Store) (engine.Store, error) {
	if err := s.Close(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	u := h.urls[s]
	h.mu.Unlock()
	return h.open(ctx, t, u)
}

func (h *harness) open(ctx context.Context, t *testing.T, u string) (engine.Store, error) {
	s, err := postgres.Open(ctx, u, postgres.Options{})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = s.Close() })
	h.mu.Lock()
	h.urls[s] = u
	h.mu.Unlock()
	return s, nil
}

func TestConformance(t *testing.T) {
	baseURL(t)
	storetest.RunConformanceTests(t, newHarness())
}
