package postgres_test

import (
	"database/sql"
	"maps"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

// vectorsByChunk reads query's (id, vector as text) rows.
func vectorsByChunk(t *testing.T, db *sql.DB, query string) map[int64]string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var v string
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func countOf(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestUpgradeFromVersion5: a database of version 5 (vectors in
// chunks.embedding under version 5's IVFFlat index, some chunks without)
// comes out of a default store's Open with every vector in chunk_vectors
// under an HNSW index, the chunks without one queued for embedding; the
// Down migration puts every vector back in chunks.embedding, and the
// database migrates up again.
func TestUpgradeFromVersion5(t *testing.T) {
	ctx := t.Context()
	u := schemaURL(t)
	db, p := gooseAt(t, u)
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO users (id, name, role, created_at) VALUES ('u1', 'U1', 'owner', now())`,
		`INSERT INTO documents (user_id, path, content, size, version, indexed_version, created_at, updated_at)
			VALUES ('u1', 'a.md', 'x', 1, 1, 1, now(), now())`,
		`UPDATE embedding_space SET model = 'm8', dims = 8`,
		`INSERT INTO chunks (doc_id, user_id, path, seq, text, start_off, end_off, hash, embedding)
			SELECT (SELECT id FROM documents), 'u1', 'a.md', g, 'walrus', 0, 6, 'h',
				CASE WHEN g <= 2500 THEN (SELECT array_agg(random() - 0.5) FROM generate_series(1, 8) WHERE g > 0)::vector END
			FROM generate_series(1, 2550) g`,
		// What version 5's store built.
		`CREATE INDEX chunks_embedding_ivf ON chunks USING ivfflat ((embedding::halfvec(8)) halfvec_cosine_ops)
			WITH (lists = 50) WHERE embedding IS NOT NULL`,
		`UPDATE embedding_space SET index_vectors = 2500, index_lists = 50`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	want := vectorsByChunk(t, db, `SELECT id, embedding::text FROM chunks WHERE embedding IS NOT NULL`)
	if len(want) != 2500 {
		t.Fatalf("%d vectors written, want 2,500", len(want))
	}

	up := func(t *testing.T) {
		t.Helper()
		s, err := postgres.Open(ctx, u, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		v := readVecIndex(t, u)
		if v.vectors != 2500 || len(v.methods) != 1 || v.methods["chunk_vectors_hnsw"] != "hnsw" {
			t.Fatalf("after Open: %+v, want one HNSW index over 2,500", v)
		}
		if n := countOf(t, db, `SELECT count(*) FROM pg_class WHERE relname LIKE 'chunks_embedding%'
			AND relnamespace = current_schema()::regnamespace`); n != 0 {
			t.Fatalf("%d of version 5's vector indexes left", n)
		}
		if n := countOf(t, db, `SELECT count(*) FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'chunks' AND column_name = 'embedding'`); n != 0 {
			t.Fatal("chunks.embedding is still there")
		}
		got := vectorsByChunk(t, db, `SELECT chunk_id, embedding::text FROM chunk_vectors`)
		if !maps.Equal(got, want) {
			t.Fatalf("chunk_vectors holds %d vectors, not the %d of chunks.embedding", len(got), len(want))
		}
		if n := staged(t, s, ""); n != 0 {
			t.Fatalf("%d vectors staged after the build", n)
		}
		todo, err := s.ChunksToEmbed(ctx, "u1", 100)
		if err != nil || len(todo) != 50 || todo[0].Seq != 2501 {
			t.Fatalf("ChunksToEmbed: %d chunks, %v; want the 50 without a vector", len(todo), err)
		}
		chunks, err := s.GetChunks(ctx, "u1", "a.md")
		if err != nil || len(chunks) != 2550 {
			t.Fatalf("GetChunks: %d, %v", len(chunks), err)
		}
		q := chunks[7]
		hits, err := s.VectorSearch(ctx, "u1", q.Embedding, engine.SearchOptions{Limit: 3})
		if err != nil || len(hits) != 3 || hits[0].Chunk.ID != q.ID {
			t.Fatalf("search for chunk %d: %+v, %v", q.ID, hits, err)
		}
	}
	up(t)

	if _, err := p.DownTo(ctx, 5); err != nil {
		t.Fatalf("down to version 5: %v", err)
	}
	if got := vectorsByChunk(t, db, `SELECT id, embedding::text FROM chunks WHERE embedding IS NOT NULL`); !maps.Equal(got, want) {
		t.Fatalf("after Down: chunks.embedding holds %d vectors, not the %d written", len(got), len(want))
	}
	if n := countOf(t, db, `SELECT count(*) FROM pg_class WHERE relname IN ('chunk_vectors', 'embed_queue', 'chunks_to_embed', 'chunks_embedded')
		AND relnamespace = current_schema()::regnamespace`); n != 2 {
		t.Fatalf("after Down: %d of chunks_to_embed and chunks_embedded (and none of the new tables), want 2", n)
	}
	if n := countOf(t, db, `SELECT index_vectors FROM embedding_space`); n != 0 {
		t.Fatalf("after Down: index_vectors %d, want 0 (version 5's store builds its index)", n)
	}
	up(t)
}
