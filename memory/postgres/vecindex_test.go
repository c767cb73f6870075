package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
	"github.com/hearthbot/hearth/migrations"
)

// vecIndex is the state of a schema's vector index: the size and lists
// recorded in embedding_space and the vector indexes on chunk_vectors by
// name.
type vecIndex struct {
	vectors int64
	lists   int
	methods map[string]string // index name: access method
	oids    map[string]uint32
}

func readVecIndex(t *testing.T, u string) vecIndex {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	v := vecIndex{methods: map[string]string{}, oids: map[string]uint32{}}
	if err := conn.QueryRow(ctx, `SELECT index_vectors, index_lists FROM embedding_space`).Scan(&v.vectors, &v.lists); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT c.relname, am.amname, c.oid FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = 'chunk_vectors'::regclass AND am.amname IN ('ivfflat', 'hnsw')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, method string
		var oid uint32
		if err := rows.Scan(&name, &method, &oid); err != nil {
			t.Fatal(err)
		}
		v.methods[name], v.oids[name] = method, oid
	}
	return v
}

// indexState reads the vector index's recorded size and lists and
// whether the IVFFlat index exists (and no other).
func indexState(t *testing.T, u string) (vectors int64, lists int, exists bool) {
	t.Helper()
	v := readVecIndex(t, u)
	if len(v.methods) > 1 {
		t.Fatalf("several vector indexes: %v", v.methods)
	}
	return v.vectors, v.lists, v.methods["chunk_vectors_ivf"] == "ivfflat"
}

// openKind opens a store on u with the vector index kind, without an
// absorber when noAbsorber is set, closed when the test ends.
func openKind(t *testing.T, u, kind string, noAbsorber bool) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), u, postgres.Options{VectorIndex: kind, NoAbsorber: noAbsorber})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
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

// TestVectorIndexLifecycle (IVFFlat): no index below 2,000 vectors; built
// when the writes reach them; rebuilt with more lists when they double;
// searches find stored vectors through it; dropped with the space, so that
// vectors of another dimension can be written; dropped when few vectors
// remain.
func TestVectorIndexLifecycle(t *testing.T) {
	ctx := t.Context()
	u := schemaURL(t)
	s := openKind(t, u, postgres.VectorIndexIVFFlat, false)
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
	other := openKind(t, u, postgres.VectorIndexIVFFlat, false)
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

// TestVectorIndexHNSW: a default store builds an HNSW index at 2,000
// vectors, over every vector staged so far, and keeps it as they grow (no
// rebuild: the absorber inserts the new ones); a store opened on the same
// database for IVFFlat converts it, and a default one converts it back.
func TestVectorIndexHNSW(t *testing.T) {
	ctx := t.Context()
	u := schemaURL(t)
	s := openKind(t, u, "", true)
	if err := s.CreateUser(ctx, engine.User{ID: "u1", Name: "U1", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m8", Dimensions: 8}); err != nil {
		t.Fatal(err)
	}
	vecs := writeVectors(t, s, 0, 21, 8)
	v := readVecIndex(t, u)
	if len(v.methods) != 1 || v.methods["chunk_vectors_hnsw"] != "hnsw" || v.vectors < 2000 || v.lists != 0 {
		t.Fatalf("2,100 vectors: %+v, want one HNSW index over 2,000+", v)
	}
	if n, err := s.StagedVectors(ctx, ""); err != nil || n != 2100-v.vectors {
		t.Fatalf("staged after the build over %d: %d, %v; want the %d written since", v.vectors, n, err, 2100-v.vectors)
	}
	for path, vec := range vecs {
		hits, err := s.VectorSearch(ctx, "u1", vec, engine.SearchOptions{Limit: 1})
		if err != nil || len(hits) != 1 || hits[0].Chunk.Path != path {
			t.Fatalf("search for the vector of %s: %+v, %v", path, hits, err)
		}
	}
	writeVectors(t, s, 21, 25, 8)
	if n, err := s.AbsorbVectors(ctx, 0); err != nil || n != 4600-int(v.vectors) {
		t.Fatalf("AbsorbVectors: %d, %v; want the %d staged", n, err, 4600-v.vectors)
	}
	if after := readVecIndex(t, u); after.oids["chunk_vectors_hnsw"] != v.oids["chunk_vectors_hnsw"] {
		t.Fatalf("4,600 vectors: the HNSW index was rebuilt (%v, was %v)", after.oids, v.oids)
	}
	s.Close()
	openKind(t, u, postgres.VectorIndexIVFFlat, true).Close()
	if n, lists, exists := indexState(t, u); !exists || n != 4600 || lists != 67 {
		t.Fatalf("opened for IVFFlat: index %v over %d in %d lists, want one over 4,600 in 67", exists, n, lists)
	}
	openAt(t, u)
	if v := readVecIndex(t, u); len(v.methods) != 1 || v.methods["chunk_vectors_hnsw"] != "hnsw" || v.vectors != 4600 {
		t.Fatalf("opened for HNSW again: %+v, want one HNSW index over 4,600", v)
	}
}

// TestVectorIndexUpgrade: a database of version 4 (HNSW index on
// chunks.embedding, created with the space) gets its vectors moved to
// chunk_vectors and an HNSW index over them from a default store, or an
// IVFFlat one from a store configured so.
func TestVectorIndexUpgrade(t *testing.T) {
	for _, kind := range []string{"", postgres.VectorIndexIVFFlat} {
		t.Run("kind="+kind, func(t *testing.T) {
			ctx := t.Context()
			u := schemaURL(t)
			db, p := gooseAt(t, u)
			if _, err := p.UpTo(ctx, 4); err != nil {
				t.Fatal(err)
			}
			// What version 4's store left: the space, its HNSW index, vectors.
			for _, q := range []string{
				`INSERT INTO users (id, name, role, created_at) VALUES ('u1', 'U1', 'owner', now())`,
				`INSERT INTO documents (user_id, path, content, size, version, indexed_version, created_at, updated_at)
					VALUES ('u1', 'a.md', 'x', 1, 1, 1, now(), now())`,
				`UPDATE embedding_space SET model = 'm8', dims = 8`,
				`CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw ((embedding::halfvec(8)) halfvec_cosine_ops)
					WITH (m = 16, ef_construction = 48) WHERE embedding IS NOT NULL`,
				`INSERT INTO chunks (doc_id, user_id, path, seq, text, start_off, end_off, hash, embedding)
					SELECT (SELECT id FROM documents), 'u1', 'a.md', g, 'x', 0, 1, 'h',
						(SELECT array_agg(random() - 0.5) FROM generate_series(1, 8) WHERE g > 0)::vector
					FROM generate_series(1, 2500) g`,
			} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			openKind(t, u, kind, true).Close()
			v := readVecIndex(t, u)
			name, method := "chunk_vectors_hnsw", "hnsw"
			if kind == postgres.VectorIndexIVFFlat {
				name, method = "chunk_vectors_ivf", "ivfflat"
			}
			if v.vectors != 2500 || len(v.methods) != 1 || v.methods[name] != method {
				t.Fatalf("after migrating: %+v, want one %s index over 2,500", v, method)
			}
			var old int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_class WHERE relname LIKE 'chunks_embedding%'
				AND relnamespace = current_schema()::regnamespace`).Scan(&old); err != nil || old != 0 {
				t.Fatalf("version 4's index left: %d, %v", old, err)
			}
		})
	}
	if _, err := postgres.Open(t.Context(), schemaURL(t), postgres.Options{VectorIndex: "annoy"}); err == nil {
		t.Error("Open with an unknown vector index succeeded")
	}
}

// gooseAt opens u with database/sql and a goose provider of Hearth's
// migrations, closed when the test ends.
func gooseAt(t *testing.T, u string) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}
