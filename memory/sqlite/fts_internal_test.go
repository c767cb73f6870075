package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/hearthbot/hearth/engine"
)

// ftsSegments counts the segments of the full-text index (FTS5 keeps
// the segment id in the high bits of a %_data row id, above 37 bits of
// page number and flags; rows of segment 0 hold the structure).
func ftsSegments(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.wconn.QueryRowContext(t.Context(),
		`SELECT count(DISTINCT id >> 37) FROM chunks_fts_data WHERE id >> 37 > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOneSegmentPerTransaction: replacing the chunks of many documents in
// one call writes one full-text segment, not one per chunk or document
// (FTS5 writes its pending terms at every statement savepoint; the store
// orders its statements so that none comes after the full-text inserts).
func TestOneSegmentPerTransaction(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m", Dimensions: 2}); err != nil {
		t.Fatal(err)
	}
	// No merging, so that the segments count the writes.
	for _, q := range []string{
		`INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 0)`,
		`INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('crisismerge', 1000)`,
	} {
		if _, err := s.wconn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var docs []engine.Document
	var chunks [][]engine.Chunk
	for i := range 12 {
		d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: fmt.Sprintf("d%d.md", i), Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
		var cs []engine.Chunk
		for j := range 4 {
			c := engine.Chunk{Heading: "H", Text: fmt.Sprintf("text of chunk %d of document %d", j, i), Hash: "h"}
			if j%2 == 0 {
				c.Embedding = []float32{1, 0}
			}
			cs = append(cs, c)
		}
		chunks = append(chunks, cs)
	}
	if _, err := s.ReplaceChunksBatch(ctx, "u", docs, chunks); err != nil {
		t.Fatal(err)
	}
	if n := ftsSegments(t, s); n != 1 {
		t.Errorf("48 chunks of 12 documents in one call wrote %d full-text segments, want 1", n)
	}
	if err := s.ReplaceChunks(ctx, "u", "d0.md", docs[0].Version, chunks[0]); err != nil {
		t.Fatal(err)
	}
	// Replacing deletes (a segment of tombstones) and inserts (one more).
	if n := ftsSegments(t, s); n > 3 {
		t.Errorf("replacing one document's 4 chunks: %d segments in all, want at most 3", n)
	}
}

// TestMigrationKeepsMemory fills a file at schema version 4 (vectors in
// the chunks' rows, the full-text index fed by a trigger, the embedding
// cache keyed in place), opens it with this build and checks that every
// document, chunk, vector, cache entry and full-text entry survived.
func TestMigrationKeepsMemory(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hearth.db")
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	vec := func(v ...float32) []byte { return encodeVector(v).([]byte) }
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, name, role, created_at) VALUES ('u', 'U', 'owner', 0)`, nil},
		{`INSERT INTO documents (id, user_id, path, content, size, version, indexed_version, created_at, updated_at)
			VALUES (1, 'u', 'trip.md', 'Lisbon walrus. Packing list.', 28, 1, 1, 0, 0)`, nil},
		{`INSERT INTO chunks (id, doc_id, user_id, seq, heading, text, start_off, end_off, hash, embedding)
			VALUES (1, 1, 'u', 0, 'Trip', 'Lisbon walrus.', 0, 14, 'h1', ?)`, []any{vec(1, 0)}},
		{`INSERT INTO chunks (id, doc_id, user_id, seq, heading, text, start_off, end_off, hash, embedding)
			VALUES (2, 1, 'u', 1, 'Trip', 'Packing list.', 15, 28, 'h2', NULL)`, nil},
		{`UPDATE embedding_space SET model = 'm', dims = 2, generation = 1`, nil},
		{`INSERT INTO vector_generations (user_id, generation, chunks) VALUES ('u', 1, 2)`, nil},
		{`INSERT INTO embedding_cache (model, dims, hash, vector, created_at) VALUES ('m', 2, 'h1', ?, 0)`, []any{vec(1, 0)}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open migrating from version 4: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	got, err := s.GetChunks(ctx, "u", "trip.md")
	if err != nil || len(got) != 2 {
		t.Fatalf("chunks after migration = %+v, %v", got, err)
	}
	if !slices.Equal(got[0].Embedding, []float32{1, 0}) || got[1].Embedding != nil || got[1].Text != "Packing list." {
		t.Errorf("chunks after migration = %+v", got)
	}
	hits, err := s.FullTextSearch(ctx, "u", "walrus", engine.SearchOptions{Limit: 5})
	if err != nil || len(hits) != 1 || hits[0].Chunk.ID != 1 {
		t.Errorf("full-text search after migration = %+v, %v", hits, err)
	}
	vhits, err := s.VectorSearch(ctx, "u", []float32{1, 0}, engine.SearchOptions{Limit: 5})
	if err != nil || len(vhits) != 1 || vhits[0].Chunk.ID != 1 {
		t.Errorf("vector search after migration = %+v, %v", vhits, err)
	}
	todo, err := s.ChunksToEmbed(ctx, "u", 5)
	if err != nil || len(todo) != 1 || todo[0].ID != 2 {
		t.Errorf("chunks to embed after migration = %+v, %v", todo, err)
	}
	cached, err := s.CachedEmbeddings(ctx, engine.EmbeddingSpace{Model: "m", Dimensions: 2}, []string{"h1", "h2"})
	if err != nil || len(cached) != 1 || !slices.Equal(cached["h1"], []float32{1, 0}) {
		t.Errorf("cache after migration = %v, %v", cached, err)
	}
	stats, err := s.MemoryStats(ctx, "u")
	if err != nil || stats.Chunks != 2 || stats.ChunksEmbedded != 1 || stats.Documents != 1 {
		t.Errorf("stats after migration = %+v, %v", stats, err)
	}
	// New chunks are indexed by the store's code now that the trigger is
	// gone; the old ones' full-text rows still go with them.
	if err := s.ReplaceChunks(ctx, "u", "trip.md", 1, []engine.Chunk{{Text: "a narwhal", Hash: "h3"}}); err != nil {
		t.Fatal(err)
	}
	for word, want := range map[string]int{"walrus": 0, "narwhal": 1} {
		hits, err := s.FullTextSearch(ctx, "u", word, engine.SearchOptions{Limit: 5})
		if err != nil || len(hits) != want {
			t.Errorf("search %q after re-indexing: %+v, %v; want %d hits", word, hits, err, want)
		}
	}
	got, err = s.GetChunks(ctx, "u", "trip.md")
	if err != nil || len(got) != 1 {
		t.Fatalf("chunks after re-indexing = %+v, %v", got, err)
	}
	var vectors, queued int
	if err := s.wconn.QueryRowContext(context.Background(),
		`SELECT (SELECT count(*) FROM chunk_vectors), (SELECT count(*) FROM chunks_to_embed WHERE chunk_id <> ?)`,
		got[0].ID).Scan(&vectors, &queued); err != nil {
		t.Fatal(err)
	}
	if vectors != 0 || queued != 0 {
		t.Errorf("%d vector rows and %d queue rows of deleted chunks remain", vectors, queued)
	}
}

// TestRepeatedChunksNotReindexed: replacing a document's chunks with the
// same chunks writes nothing to the full-text index.
func TestRepeatedChunksNotReindexed(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wconn.ExecContext(ctx, `INSERT INTO chunks_fts (chunks_fts, rank) VALUES ('automerge', 0)`); err != nil {
		t.Fatal(err)
	}
	d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: "a.md", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	chunks := []engine.Chunk{{Text: "one two", End: 7, Hash: "1"}, {Text: "three four", Start: 8, End: 18, Hash: "2"}}
	if err := s.ReplaceChunks(ctx, "u", "a.md", d.Version, chunks); err != nil {
		t.Fatal(err)
	}
	before := ftsSegments(t, s)
	if d, err = s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: "a.md", Content: "y"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceChunks(ctx, "u", "a.md", d.Version, chunks); err != nil {
		t.Fatal(err)
	}
	if after := ftsSegments(t, s); after != before {
		t.Errorf("re-chunking with the same chunks wrote to the full-text index: %d segments, then %d", before, after)
	}
}
