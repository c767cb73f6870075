package postgres_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// stagedSetup opens a store without an absorber on a new schema, with user
// u1, an 8-dimension space and an HNSW index over 2,100 absorbed vectors,
// and returns it with its URL and every vector written, by chunk id.
func stagedSetup(t *testing.T) (*postgres.Store, string, map[int64][]float32) {
	t.Helper()
	ctx := t.Context()
	u := schemaURL(t)
	s := openKind(t, u, "", true)
	if err := s.CreateUser(ctx, engine.User{ID: "u1", Name: "U1", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m8", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	writeVectors(t, s, 0, 21, 8)
	if _, err := s.AbsorbVectors(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if v := readVecIndex(t, u); v.methods["chunk_vectors_hnsw"] != "hnsw" {
		t.Fatalf("no HNSW index over 2,100 vectors: %+v", v)
	}
	return s, u, userVectors(t, s, "u1")
}

// userVectors reads every vector of a user's documents, by chunk id.
func userVectors(t *testing.T, s *postgres.Store, user string) map[int64][]float32 {
	t.Helper()
	docs, err := s.ListDocuments(t.Context(), user, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]float32{}
	for _, d := range docs {
		chunks, err := s.GetChunks(t.Context(), user, d.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			if c.Embedding != nil {
				out[c.ID] = c.Embedding
			}
		}
	}
	return out
}

// staged counts the staged vectors of user ("" for all), failing the test
// on error.
func staged(t *testing.T, s *postgres.Store, user string) int64 {
	t.Helper()
	n, err := s.StagedVectors(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cosineDist(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return 1 - d/math.Sqrt(na*nb)
}

// checkStagedExact fails unless the hits of a search for q among all
// (every vector of the user, by chunk id) hold every staged vector closer
// to q than the last hit: the staged part of a search is exact.
func checkStagedExact(t *testing.T, q []float32, hits []engine.ChunkHit, all map[int64][]float32, isStaged map[int64]bool) {
	t.Helper()
	got := map[int64]bool{}
	for _, h := range hits {
		if got[h.Chunk.ID] {
			t.Fatalf("chunk %d found twice: %+v", h.Chunk.ID, hits)
		}
		got[h.Chunk.ID] = true
	}
	last := 1 - hits[len(hits)-1].Score
	for id := range isStaged {
		if d := cosineDist(all[id], q); d < last-1e-6 && !got[id] {
			t.Fatalf("staged chunk %d at distance %.6f is missing; the last hit is at %.6f", id, d, last)
		}
	}
}

// TestStagedVectors: vectors written after the index exists are staged,
// counted per user, and found by vector and hybrid searches before they
// are absorbed, exactly (none that belongs in the top hits is missing);
// absorbing them empties the backlog and the searches still find them.
func TestStagedVectors(t *testing.T) {
	ctx := t.Context()
	s, _, _ := stagedSetup(t)
	if n := staged(t, s, ""); n != 0 {
		t.Fatalf("backlog after absorbing: %d", n)
	}
	// 300 vectors staged by ReplaceChunks, 100 by SetEmbeddings, and 100
	// of another user.
	writeVectors(t, s, 100, 3, 8)
	d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "later.md", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	text := make([]engine.Chunk, 100)
	for i := range text {
		text[i] = engine.Chunk{Text: "later walrus", End: 12, Hash: fmt.Sprint(i)}
	}
	if err := s.ReplaceChunks(ctx, "u1", "later.md", d.Version, text); err != nil {
		t.Fatal(err)
	}
	todo, err := s.ChunksToEmbed(ctx, "u1", 200)
	if err != nil || len(todo) != 100 {
		t.Fatalf("ChunksToEmbed: %d, %v", len(todo), err)
	}
	r := rand.New(rand.NewPCG(7, 7))
	embs := make([]engine.ChunkEmbedding, len(todo))
	for i, c := range todo {
		v := make([]float32, 8)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		embs[i] = engine.ChunkEmbedding{ChunkID: c.ID, Vector: v}
	}
	if err := s.SetEmbeddings(ctx, "u1", embs); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, engine.User{ID: "u2", Name: "U2", Role: engine.RoleMember}); err != nil {
		t.Fatal(err)
	}
	w, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u2", Path: "other.md", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceChunks(ctx, "u2", "other.md", w.Version, []engine.Chunk{{Text: "t", End: 1, Hash: "h", Embedding: embs[0].Vector}}); err != nil {
		t.Fatal(err)
	}
	if n1, all := staged(t, s, "u1"), staged(t, s, ""); n1 != 400 || all != 401 {
		t.Fatalf("staged: u1 %d, all %d; want 400 and 401", n1, all)
	}
	if todo, err := s.ChunksToEmbed(ctx, "u1", 10); err != nil || len(todo) != 0 {
		t.Fatalf("ChunksToEmbed after SetEmbeddings: %d, %v", len(todo), err)
	}
	if st, err := s.MemoryStats(ctx, "u1"); err != nil || st.ChunksEmbedded != 2500 {
		t.Fatalf("MemoryStats: %+v, %v; want 2,500 embedded", st, err)
	}

	all := userVectors(t, s, "u1")
	isStaged := map[int64]bool{}
	for id := range all {
		if id > maxID(t, all, 2100) {
			isStaged[id] = true
		}
	}
	if len(isStaged) != 400 {
		t.Fatalf("%d staged vectors by id, want 400", len(isStaged))
	}
	search := func(t *testing.T) {
		t.Helper()
		for id := range isStaged {
			q := all[id]
			hits, err := s.VectorSearch(ctx, "u1", q, engine.SearchOptions{Limit: 10})
			if err != nil || len(hits) != 10 || hits[0].Chunk.ID != id || hits[0].Score < 0.9999 {
				t.Fatalf("search for staged chunk %d: %+v, %v", id, hits, err)
			}
			checkStagedExact(t, q, hits, all, isStaged)
			// No chunk has the word: the vector ranking decides.
			hy, err := s.HybridSearch(ctx, "u1", "zebra", q, engine.HybridOptions{
				SearchOptions: engine.SearchOptions{Limit: 5}, K: 60, Candidates: 20})
			if err != nil || len(hy) == 0 || hy[0].Chunk.ID != id {
				t.Fatalf("hybrid search for staged chunk %d: %+v, %v", id, hy, err)
			}
		}
		// Another user's staged vector is not u1's.
		hits, err := s.VectorSearch(ctx, "u2", embs[0].Vector, engine.SearchOptions{Limit: 5})
		if err != nil || len(hits) != 1 || hits[0].Chunk.Path != "other.md" {
			t.Fatalf("u2's search: %+v, %v", hits, err)
		}
	}
	t.Run("staged", search)
	n, err := s.AbsorbVectors(ctx, 0)
	if err != nil || n != 401 {
		t.Fatalf("AbsorbVectors: %d, %v; want 401", n, err)
	}
	if all := staged(t, s, ""); all != 0 {
		t.Fatalf("backlog after absorbing: %d", all)
	}
	t.Run("absorbed", search)
}

// maxID is the largest of the first n chunk ids of all, in id order.
func maxID(t *testing.T, all map[int64][]float32, n int) int64 {
	t.Helper()
	ids := make([]int64, 0, len(all))
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if len(ids) < n {
		t.Fatalf("%d vectors, want at least %d", len(ids), n)
	}
	return ids[n-1]
}

// TestAbsorbersShareWork: two stores on one database (two pools, as two
// processes) absorbing the same backlog at once absorb every staged vector
// exactly once between them; AbsorbVectors stops at its bound.
func TestAbsorbersShareWork(t *testing.T) {
	ctx := t.Context()
	s, u, _ := stagedSetup(t)
	writeVectors(t, s, 100, 40, 8) // 4,000 staged
	if n, err := s.AbsorbVectors(ctx, 300); err != nil || n != 300 {
		t.Fatalf("AbsorbVectors(300): %d, %v", n, err)
	}
	other := openKind(t, u, "", true)
	counts := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, st := range []*postgres.Store{s, other} {
		wg.Go(func() { counts[i], errs[i] = st.AbsorbVectors(ctx, 0) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if counts[0]+counts[1] != 3700 {
		t.Fatalf("absorbed %d + %d, want 3,700 in all", counts[0], counts[1])
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Logf("one store absorbed everything (%v): the other started late", counts)
	}
	if n := staged(t, s, ""); n != 0 {
		t.Fatalf("backlog: %d", n)
	}
}

// TestAbsorberInBackground: stores with their absorbers on (two, as two
// processes) empty a backlog by themselves, woken by their writes, and
// pick up what a store without one staged.
func TestAbsorberInBackground(t *testing.T) {
	_, u, _ := stagedSetup(t)
	a, b := openAt(t, u), openAt(t, u)
	writeVectors(t, a, 100, 10, 8)
	writeVectors(t, b, 200, 10, 8)
	quiet := openKind(t, u, "", true)
	writeVectors(t, quiet, 300, 5, 8)
	postgres.WaitFor(t, "the backlog to be absorbed", 20*time.Millisecond, 30*time.Second, func() bool {
		return staged(t, quiet, "") == 0
	})
}

// TestSearchDuringAbsorption: while two absorbers move 2,000 staged
// vectors into the index, searches find every probed vector exactly once
// (first, at similarity 1) and no chunk twice.
func TestSearchDuringAbsorption(t *testing.T) {
	ctx := t.Context()
	s, u, _ := stagedSetup(t)
	writeVectors(t, s, 100, 20, 8)
	all := userVectors(t, s, "u1")
	cut := maxID(t, all, 2100)
	var probes []int64
	for id := range all {
		if id > cut {
			probes = append(probes, id)
		}
	}
	slices.Sort(probes)
	other := openKind(t, u, "", true)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var absorbed [2]int
	var errs [2]error
	for i, st := range []*postgres.Store{s, other} {
		wg.Go(func() { absorbed[i], errs[i] = st.AbsorbVectors(ctx, 0) })
	}
	go func() { wg.Wait(); close(done) }()
	searches := 0
	for i := 0; ; i++ {
		select {
		case <-done:
		default:
			id := probes[i%len(probes)]
			hits, err := s.VectorSearch(ctx, "u1", all[id], engine.SearchOptions{Limit: 20})
			if err != nil || len(hits) != 20 || hits[0].Chunk.ID != id || hits[0].Score < 0.9999 {
				t.Fatalf("search %d for chunk %d: %+v, %v", i, id, hits, err)
			}
			seen := map[int64]bool{}
			for _, h := range hits {
				if seen[h.Chunk.ID] {
					t.Fatalf("search %d: chunk %d found twice", i, h.Chunk.ID)
				}
				seen[h.Chunk.ID] = true
			}
			searches++
			continue
		}
		break
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if absorbed[0]+absorbed[1] != 2000 || staged(t, s, "") != 0 {
		t.Fatalf("absorbed %v, want 2,000 in all and no backlog", absorbed)
	}
	if searches == 0 {
		t.Fatal("no search ran during the absorption")
	}
	t.Logf("%d searches during absorption", searches)
}
