package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
	"github.com/hearthbot/hearth/memory/storetest"
)

// harness opens each store on its own file in a test directory.
type harness struct{}

func (harness) MakeStore(ctx context.Context, t *testing.T) (engine.Store, error) {
	return open(ctx, t, filepath.Join(t.TempDir(), "hearth.db"))
}

func (harness) Reopen(ctx context.Context, t *testing.T, s engine.Store) (engine.Store, error) {
	if err := s.Close(); err != nil {
		return nil, err
	}
	return open(ctx, t, s.(*sqlite.Store).Path())
}

func open(ctx context.Context, t *testing.T, path string) (*sqlite.Store, error) {
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err == nil {
		t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

func TestConformance(t *testing.T) {
	storetest.RunConformanceTests(t, harness{})
}
