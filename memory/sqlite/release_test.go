package sqlite

import (
	"errors"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func TestReleaseMemoryClosesIdleReadersAndKeepsWorking(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	u := engine.User{ID: "u1", Name: "Ana", Role: engine.RoleMember, CreatedAt: time.Now().UTC()}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Open several readers at once, then let them go idle in the pool.
	var held []interface{ Close() error }
	for range 3 {
		c, err := s.rdb.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	for _, c := range held {
		_ = c.Close()
	}
	if _, err := s.GetUser(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if idle := s.rdb.Stats().Idle; idle < 3 {
		t.Fatalf("%d idle readers before release, want at least 3", idle)
	}
	if err := s.ReleaseMemory(ctx); err != nil {
		t.Fatal(err)
	}
	if idle := s.rdb.Stats().Idle; idle != 0 {
		t.Fatalf("%d idle readers after release", idle)
	}
	if max := s.rdb.Stats().MaxOpenConnections; max != DefaultReaders {
		t.Fatalf("reader pool limit %d after release, want %d", max, DefaultReaders)
	}
	// Reads and writes go on as before.
	if got, err := s.GetUser(ctx, "u1"); err != nil || got.Name != "Ana" {
		t.Fatalf("read after release: %+v %v", got, err)
	}
	if err := s.CreateUser(ctx, engine.User{ID: "u2", Name: "Bo", Role: engine.RoleMember, CreatedAt: time.Now().UTC()}); err != nil {
		t.Fatalf("write after release: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.ReleaseMemory(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("release on a closed store: %v, want ErrClosed", err)
	}
}
