package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// indexState reads the vector index's recorded size and lists and
// whether it exists.
func indexState(t *testing.T, u string) (vectors int64, lists int, exists bool) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT index_vectors, index_lists, to_regclass('chunks_embedding_ivf') IS NOT NULL
		FROM embedding_space`).Scan(&vectors, &lists, &exists); err != nil {
		t.Fatal(err)
	}
	return vectors, lists, exists
}

// writeVectors writes docs documents of 100 chunks with random vectors of
// dims dimensions, named from the first, and returns the vectors by path.
func writeVectors(t *testing.T, s *postgres.Store, first, docs, dims int) map[string][]float32 {
	t.Helper()
	ctx := t.Context()
	r := rand.New(rand.NewPCG(uint64(first), uint64(dims)))
	out := map[string][]float32{}
	for d := first; d < first+docs; d++ {
		path := fmt.Sprintf("v/%04d.md", d)
		chunks := make([]engine.Chunk, 100)
		for i := range chunks {
			v := make([]float32, dims)
			for j := range v {
				v[j] = float32(r.NormFloat64())
			}
			chunks[i] = engine.Chunk{Text: "chunk", End: 5, Hash: fmt.Sprint(i), Embedding: v}
		}
		out[path] = chunks[0].Embedding
		w, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: path, Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceChunks(ctx, "u1", path, w.Version, chunks); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestVectorIndexLifecycle: no index below 2,000 vectors; built when the
// writes reach them; rebuilt with more lists when they double; searches
// find stored vectors through it; dropped with the space, so that vectors
// of another dimension can be written; dropped when few vectors remain.
func TestVectorIndexLifecycle(t *testing.T) {
	ctx := t.Context()
	u := schemaURL(t)
	s := openAt(t, u)
	if err := s.CreateUser(ctx, engine.User{ID: "u1", Name: "U1", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m8", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	vecs := writeVectors(t, s, 0, 19, 8)
	if n, _, exists := indexState(t, u); exists || n != 0 {
		t.Fatalf("1,900 vectors: index %v over %d, want none", exists, n)
	}
	for path, v := range writeVectors(t, s, 19, 2, 8) {
		vecs[path] = v
	}
	n, lists, exists := indexState(t, u)
	if !exists || n != 2100 && n != 2000 || lists != 44 {
		t.Fatalf("2,100 vectors: index %v over %d in %d lists, want one over 2,000 in 44", exists, n, lists)
	}
	for path, v := range vecs {
		hits, err := s.VectorSearch(ctx, "u1", v, engine.SearchOptions{Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) != 3 || hits[0].Chunk.Path != path || hits[0].Chunk.Seq != 0 || hits[0].Score < 0.9999 {
			t.Fatalf("search for the vector of %s: %+v", path, hits)
		}
	}
	// Doubled: rebuilt by the write that reaches it, with more lists.
	writeVectors(t, s, 21, 20, 8)
	if n, lists, exists := indexState(t, u); !exists || n < 4000 || lists != 63 {
		t.Fatalf("4,100 vectors: index %v over %d in %d lists, want one over 4,000+ in 63", exists, n, lists)
	}
	// Another process sharing the database builds nothing more, and two
	// checks at once both succeed.
	other := openAt(t, u)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, st := range []*postgres.Store{s, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = st.MaintainVectorIndex(ctx)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("MaintainVectorIndex: %v", err)
		}
	}
	// Few vectors left: no index.
	for d := 0; d < 30; d++ {
		if err := s.DeleteDocument(ctx, "u1", fmt.Sprintf("v/%04d.md", d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MaintainVectorIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, exists := indexState(t, u); exists || n != 0 {
		t.Fatalf("1,100 vectors: index %v over %d, want none", exists, n)
	}
	// A new space drops the index with the vectors: vectors of the new
	// dimension are written and searched.
	writeVectors(t, s, 100, 20, 8)
	if _, _, exists := indexState(t, u); !exists {
		t.Fatal("3,100 vectors: no index")
	}
	if _, err := s.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m4", Dimensions: 4}); err != nil {
		t.Fatal(err)
	}
	if n, _, exists := indexState(t, u); exists || n != 0 {
		t.Fatalf("after a change of space: index %v over %d, want none", exists, n)
	}
	four := writeVectors(t, s, 200, 1, 4)
	hits, err := s.VectorSearch(ctx, "u1", four["v/0200.md"], engine.SearchOptions{Limit: 1})
	if err != nil || len(hits) != 1 || hits[0].Chunk.Path != "v/0200.md" {
		t.Fatalf("search in the new space: %+v, %v", hits, err)
	}
}
