package memory

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// fixedNow is Tuesday 2026-11-24 10:00 UTC.
var fixedNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

// testEmbedder is an in-process engine.Embedder with the fake server's
// deterministic vectors; it can be made to fail, block or answer a wrong
// dimension.
type testEmbedder struct {
	mu    sync.Mutex
	model string
	dims  int
	err   error
	wrong int           // answer vectors of this size instead
	block chan struct{} // when set, Embed waits for it to close
	// failAfter, when positive, makes every call after the first
	// failAfter fail with errDown.
	failAfter int
	calls     int
	texts     int
}

func newTestEmbedder(dims int) *testEmbedder { return &testEmbedder{model: "test-embed", dims: dims} }

func (e *testEmbedder) Model() string { e.mu.Lock(); defer e.mu.Unlock(); return e.model }
func (e *testEmbedder) Dimensions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dims
}

func (e *testEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	block, err, dims := e.block, e.err, e.dims
	if e.wrong > 0 {
		dims = e.wrong
	}
	e.calls++
	if e.failAfter > 0 && e.calls > e.failAfter {
		err = errDown
	} else {
		e.texts += len(texts)
	}
	e.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = fakellm.Vector(t, dims)
	}
	return out, nil
}

func (e *testEmbedder) set(fn func(e *testEmbedder)) {
	e.mu.Lock()
	fn(e)
	e.mu.Unlock()
}

func (e *testEmbedder) counts() (calls, texts int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls, e.texts
}

var errDown = errors.New("connection refused")

// testEnv is a Memory on a fresh sqlite store with users u1 (Berlin) and
// u2 (Tokyo).
type testEnv struct {
	m     *Memory
	store *sqlite.Store
	u1    engine.User
	u2    engine.User
}

func newEnv(t *testing.T, o Options) *testEnv {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "hearth.db"), o)
}

func newEnvAt(t *testing.T, path string, o Options) *testEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	env := &testEnv{store: st,
		u1: engine.User{ID: "u1", Name: "Ada", Role: engine.RoleOwner, Timezone: "Europe/Berlin"},
		u2: engine.User{ID: "u2", Name: "Bo", Role: engine.RoleMember, Timezone: "Asia/Tokyo"}}
	for _, u := range []engine.User{env.u1, env.u2} {
		if err := st.CreateUser(ctx, u); err != nil && !errors.Is(err, engine.ErrConflict) {
			t.Fatal(err)
		}
	}
	o.Store = st
	o.Users = st
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	env.m = m
	return env
}

func (env *testEnv) write(t *testing.T, user, path, content string) engine.Document {
	t.Helper()
	d, err := env.m.Write(context.Background(), user, path, content)
	if err != nil {
		t.Fatalf("Write %s: %v", path, err)
	}
	return d
}

func (env *testEnv) index(t *testing.T, user string) {
	t.Helper()
	if err := env.m.IndexNow(context.Background(), user); err != nil {
		t.Fatalf("IndexNow %s: %v", user, err)
	}
}

func paths(hits []Fused) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Chunk.Path
	}
	return out
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C // polling with a deadline
	}
}
