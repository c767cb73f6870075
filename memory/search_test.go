package memory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func TestSearchFullTextOnlyWithoutEmbedder(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	env.write(t, "u1", "notes/family.md", "# Family\nMy sister's name is Ana. She lives in Porto.")
	env.write(t, "u1", "notes/work.md", "# Work\nThe quarterly report is due Friday.")
	env.write(t, "u2", "notes/family.md", "# Family\nMy brother is called Ana too, oddly.")
	env.index(t, "u1")
	env.index(t, "u2")
	res, err := env.m.Search(ctx, "u1", "what is my sister called?", SearchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 1 || res.Hits[0].Chunk.Path != "notes/family.md" || res.Hits[0].Methods() != "fts" || res.Vector {
		t.Fatalf("Search = %+v", res)
	}
	if !strings.Contains(res.Note, "no embedding provider") {
		t.Errorf("Note = %q, want it to say why there are no vectors", res.Note)
	}
	if res.Hits[0].Chunk.UserID != "u1" || strings.Contains(res.Hits[0].Chunk.Text, "brother") {
		t.Errorf("u1's search returned %+v", res.Hits[0].Chunk)
	}
	st, err := env.m.Status(ctx)
	if err != nil || st.Vector || !strings.Contains(st.Note, "set embeddings.model") {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if st.Stats.Documents != 3 || st.Stats.Chunks != 3 || st.Stats.DocumentsToIndex != 0 {
		t.Errorf("Stats = %+v", st.Stats)
	}
	if _, err := env.m.Search(ctx, "u1", "x", SearchOptions{Folder: "../up"}); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("Search with a bad folder = %v", err)
	}
}

func TestHybridSearchWithEmbedder(t *testing.T) {
	ctx := context.Background()
	emb := newTestEmbedder(64)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	env.write(t, "u1", "notes/family.md", "# Family\nMy sister's name is Ana. She lives in Porto.")
	env.write(t, "u1", "notes/cats.md", "# Cats\nThe cat sleeps on the sofa all day.")
	env.write(t, "u1", "notes/tax.md", "# Taxes\nFile the tax return before May.")
	env.index(t, "u1")
	st, _ := env.m.Status(ctx)
	if !st.Vector || st.Space != (engine.EmbeddingSpace{Model: "test-embed", Dimensions: 64}) || st.Stats.ChunksEmbedded != 3 {
		t.Fatalf("Status = %+v", st)
	}
	res, err := env.m.Search(ctx, "u1", "sister Ana", SearchOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Vector || res.Note != "" || len(res.Hits) == 0 || res.Hits[0].Chunk.Path != "notes/family.md" || res.Hits[0].Methods() != "fts+vector" {
		t.Fatalf("Search = %+v", res)
	}
	// A re-index of unchanged text embeds nothing (cache by content hash).
	calls, texts := emb.counts()
	env.write(t, "u1", "notes/family.md", "# Family\nMy sister's name is Ana. She lives in Porto.\n\n# Pets\nA dog called Rex.")
	env.write(t, "u1", "copy.md", "# Cats\nThe cat sleeps on the sofa all day.")
	env.index(t, "u1")
	calls2, texts2 := emb.counts()
	if calls2 != calls+1 || texts2 != texts+1 {
		t.Errorf("re-index embedded %d texts in %d calls, want 1 in 1 (the rest from the cache)", texts2-texts, calls2-calls)
	}
}

func TestEmbedderDownDegradesAndRecovers(t *testing.T) {
	ctx := context.Background()
	emb := newTestEmbedder(32)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	env.index(t, "u1") // settles the space
	emb.set(func(e *testEmbedder) { e.err = errDown })
	env.write(t, "u1", "notes/a.md", "zebra crossing near the school")
	if err := env.m.IndexNow(ctx, "u1"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("IndexNow with the embedder down = %v", err)
	}
	st, _ := env.m.Status(ctx)
	if !strings.Contains(st.IndexError, "connection refused") || st.Stats.Chunks != 1 || st.Stats.ChunksEmbedded != 0 {
		t.Errorf("Status = %+v, want the error, the chunk indexed for full text, no vector", st)
	}
	res, err := env.m.Search(ctx, "u1", "zebra", SearchOptions{})
	if err != nil || len(res.Hits) != 1 || res.Vector || !strings.Contains(res.Note, "connection refused") {
		t.Fatalf("Search with the embedder down = %+v, %v", res, err)
	}
	emb.set(func(e *testEmbedder) { e.err = nil })
	env.index(t, "u1")
	st, _ = env.m.Status(ctx)
	if st.IndexError != "" || st.Stats.ChunksEmbedded != 1 {
		t.Errorf("after recovery: %+v", st)
	}
}

func TestWrongDimensionCorruptsNothing(t *testing.T) {
	ctx := context.Background()
	emb := newTestEmbedder(32)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	env.write(t, "u1", "a.md", "first note about zebras")
	env.index(t, "u1")
	emb.set(func(e *testEmbedder) { e.wrong = 48 })
	env.write(t, "u1", "b.md", "second note about lions")
	err := env.m.IndexNow(ctx, "u1")
	if !errors.Is(err, engine.ErrDimensionMismatch) || !strings.Contains(err.Error(), "48 dimensions") {
		t.Fatalf("IndexNow with a wrong dimension = %v", err)
	}
	st, _ := env.m.Status(ctx)
	if st.Stats.ChunksEmbedded != 1 || st.StoredSpace.Dimensions != 32 {
		t.Errorf("Status = %+v: want the old vector kept, space still 32", st)
	}
	cached, _ := env.store.CachedEmbeddings(ctx, st.Space, []string{chunkHash("second note about lions")})
	if len(cached) != 0 {
		t.Error("a wrong-size vector reached the cache")
	}
}

func TestModelChangeReembeds(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/hearth.db"
	emb := newTestEmbedder(32)
	env := newEnvAt(t, path, Options{NoSeed: true, Embedder: emb})
	env.write(t, "u1", "a.md", "notes about zebras")
	env.index(t, "u1")
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}
	emb2 := newTestEmbedder(16)
	emb2.model = "other-model"
	env2 := newEnvAt(t, path, Options{NoSeed: true, Embedder: emb2})
	env2.index(t, "u1")
	st, _ := env2.m.Status(ctx)
	if st.StoredSpace != (engine.EmbeddingSpace{Model: "other-model", Dimensions: 16}) || st.Stats.ChunksEmbedded != 1 {
		t.Fatalf("after a model change: %+v", st)
	}
	if _, texts := emb2.counts(); texts != 1 {
		t.Errorf("the new model embedded %d texts, want 1", texts)
	}
	res, err := env2.m.Search(ctx, "u1", "zebras", SearchOptions{})
	if err != nil || !res.Vector || len(res.Hits) != 1 {
		t.Errorf("Search after re-embedding = %+v, %v", res, err)
	}
}

func TestRecencyWeighsDailyNotes(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	env.write(t, "u1", "daily/2026-01-10.md", "meeting with the plumber about the boiler")
	env.write(t, "u1", "daily/2026-11-23.md", "meeting with the plumber about the boiler")
	env.index(t, "u1")
	res, err := env.m.Search(ctx, "u1", "plumber boiler", SearchOptions{})
	if err != nil || len(res.Hits) != 2 {
		t.Fatalf("Search = %+v, %v", res, err)
	}
	if res.Hits[0].Chunk.Path != "daily/2026-11-23.md" || res.Hits[0].Score <= res.Hits[1].Score {
		t.Errorf("recent note not first: %v", paths(res.Hits))
	}
	off := newEnv(t, Options{NoSeed: true, RecencyWeight: -1})
	off.write(t, "u1", "daily/2026-01-10.md", "meeting with the plumber about the boiler")
	off.write(t, "u1", "daily/2026-11-23.md", "meeting with the plumber about the boiler")
	off.index(t, "u1")
	res, _ = off.m.Search(ctx, "u1", "plumber boiler", SearchOptions{})
	// Equal text ranks equal by full text; the fused order then keeps the
	// store's tie order (older chunk first): the old note leads.
	if res.Hits[0].Chunk.Path != "daily/2026-01-10.md" {
		t.Errorf("with recency off: %v, want the store's order", paths(res.Hits))
	}
}

// TestBackgroundIndexingNeverBlocksWrites: with the embedder stuck, writes
// return at once and full-text search finds them once chunked.
func TestBackgroundIndexingNeverBlocksWrites(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	emb := newTestEmbedder(16)
	block := make(chan struct{})
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	env.index(t, "u1") // settle the space before blocking
	emb.set(func(e *testEmbedder) { e.block = block })
	env.m.Start(ctx)
	t.Cleanup(func() { cancel(); close(block); env.m.Wait() })
	for i := range 20 {
		done := make(chan error, 1)
		go func() {
			_, err := env.m.Write(ctx, "u1", fmt.Sprintf("notes/%d.md", i), fmt.Sprintf("walrus number %d", i))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a write waited for the indexer")
		}
	}
	// Chunks are stored before embedding, so full text finds them while
	// the embedder is still stuck.
	eventually(t, "background chunking", func() bool {
		st, err := env.store.MemoryStats(ctx, "u1")
		return err == nil && st.DocumentsToIndex == 0 && st.Chunks == 20
	})
	hits, err := env.store.FullTextSearch(ctx, "u1", "walrus", engine.SearchOptions{Limit: 50})
	if err != nil || len(hits) != 20 {
		t.Fatalf("FullTextSearch = %d hits, %v", len(hits), err)
	}
}

func TestStartResumesPendingWork(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	emb := newTestEmbedder(16)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	// Written before Start (a previous run died before indexing).
	env.write(t, "u2", "notes/x.md", "left over from a crash")
	env.m.Start(ctx)
	eventually(t, "resumed indexing", func() bool {
		st, err := env.store.MemoryStats(ctx, "u2")
		return err == nil && st.ChunksEmbedded == 1
	})
	cancel()
	env.m.Wait()
}
