package postgres_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/postgres"
)

func replaceSetup(t *testing.T) *postgres.Store {
	t.Helper()
	s := openAt(t, schemaURL(t))
	if err := s.CreateUser(t.Context(), engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetEmbeddingSpace(t.Context(), engine.EmbeddingSpace{Model: "m", Dimensions: 2}); err != nil {
		t.Fatal(err)
	}
	return s
}

func writeDoc(t *testing.T, s *postgres.Store, path, content string) engine.Document {
	t.Helper()
	d, err := s.WriteDocument(t.Context(), engine.DocumentWrite{UserID: "u", Path: path, Content: content})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestReplaceChunksBatch: the documents that can take their chunks do,
// in one call; each one that cannot (stale version, gone, wrong vector
// size) is left as it was and says why; bad arguments write nothing.
func TestReplaceChunksBatch(t *testing.T) {
	ctx := t.Context()
	s := replaceSetup(t)
	ok1, ok2 := writeDoc(t, s, "ok1.md", "first"), writeDoc(t, s, "ok2.md", "second")
	stale := writeDoc(t, s, "stale.md", "old")
	if err := s.ReplaceChunks(ctx, "u", "stale.md", stale.Version, []engine.Chunk{{Text: "kept stale text", Hash: "s"}}); err != nil {
		t.Fatal(err)
	}
	writeDoc(t, s, "stale.md", "new") // version 2: chunks of version 1 are refused
	wrongDim := writeDoc(t, s, "dim.md", "dims")

	docs := []engine.Document{ok1, stale, {Path: "gone.md", Version: 1}, wrongDim, ok2}
	chunks := [][]engine.Chunk{
		{{Text: "walrus one", Hash: "a"}, {Text: "walrus two", Hash: "b", Embedding: []float32{1, 0}}},
		{{Text: "stale walrus", Hash: "c"}},
		{{Text: "gone walrus", Hash: "d"}},
		{{Text: "dimension walrus", Hash: "e", Embedding: []float32{1, 0, 0}}},
		{{Text: "walrus three", Hash: "f"}},
	}
	errs, err := s.ReplaceChunksBatch(ctx, "u", docs, chunks)
	if err != nil {
		t.Fatal(err)
	}
	want := []error{nil, engine.ErrConflict, engine.ErrNotFound, engine.ErrDimensionMismatch, nil}
	if len(errs) != len(want) {
		t.Fatalf("errs = %v, want %d entries", errs, len(want))
	}
	for i, w := range want {
		if (w == nil) != (errs[i] == nil) || (w != nil && !errors.Is(errs[i], w)) {
			t.Errorf("%s: err %v, want %v", docs[i].Path, errs[i], w)
		}
	}
	for path, n := range map[string]int{"ok1.md": 2, "ok2.md": 1, "dim.md": 0} {
		got, err := s.GetChunks(ctx, "u", path)
		if err != nil || len(got) != n {
			t.Errorf("%s: %d chunks (%v), want %d", path, len(got), err, n)
		}
	}
	if got, _ := s.GetChunks(ctx, "u", "stale.md"); len(got) != 1 || got[0].Text != "kept stale text" {
		t.Errorf("stale.md chunks = %+v, want the old one kept", got)
	}
	stats, err := s.MemoryStats(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	if stats.Chunks != 4 || stats.ChunksEmbedded != 1 || stats.DocumentsToIndex != 2 {
		t.Errorf("stats = %+v, want 4 chunks, 1 embedded, 2 documents to index (stale, dim)", stats)
	}
	for _, bad := range []struct {
		name   string
		user   string
		docs   []engine.Document
		chunks [][]engine.Chunk
	}{
		{"no user", "", []engine.Document{ok1}, [][]engine.Chunk{nil}},
		{"lengths differ", "u", []engine.Document{ok1}, nil},
		{"no path", "u", []engine.Document{{Version: 1}}, [][]engine.Chunk{nil}},
		{"a path twice", "u", []engine.Document{ok1, ok1}, [][]engine.Chunk{{{Text: "x"}}, {{Text: "y"}}}},
	} {
		if _, err := s.ReplaceChunksBatch(ctx, bad.user, bad.docs, bad.chunks); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
	if got, _ := s.GetChunks(ctx, "u", "ok1.md"); len(got) != 2 || got[0].Text != "walrus one" {
		t.Errorf("ok1.md after the refused calls: %+v", got)
	}
}

// TestReplaceChunksKeepsUnchanged: chunks that a new version repeats keep
// their rows (ids), with their vectors brought in line; the others are
// replaced, and the document ends exactly as given.
func TestReplaceChunksKeepsUnchanged(t *testing.T) {
	ctx := t.Context()
	s := replaceSetup(t)
	d := writeDoc(t, s, "daily.md", "v1")
	first := []engine.Chunk{
		{Text: "morning", Hash: "a", End: 7, Embedding: []float32{1, 0}},
		{Text: "noon", Hash: "b", Start: 8, End: 12, Embedding: []float32{0, 1}},
		{Text: "evening", Hash: "c", Start: 13, End: 20, Embedding: []float32{1, 1}},
		{Text: "night", Hash: "d", Start: 21, End: 26},
	}
	if err := s.ReplaceChunks(ctx, "u", "daily.md", d.Version, first); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetChunks(ctx, "u", "daily.md")
	if err != nil {
		t.Fatal(err)
	}
	d = writeDoc(t, s, "daily.md", "v2")
	second := []engine.Chunk{
		first[0], // unchanged, same vector: kept as is
		{Text: "noon", Hash: "b", Start: 8, End: 12, Embedding: []float32{0.5, 1}},       // new vector
		{Text: "evening", Hash: "c", Start: 13, End: 20},                                 // vector gone
		{Text: "night, late", Hash: "e", Start: 21, End: 32, Embedding: []float32{0, 2}}, // changed
		{Text: "dawn", Hash: "f", Start: 33, End: 37},                                    // new
	}
	if err := s.ReplaceChunks(ctx, "u", "daily.md", d.Version, second); err != nil {
		t.Fatal(err)
	}
	after, err := s.GetChunks(ctx, "u", "daily.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(second) {
		t.Fatalf("%d chunks, want %d", len(after), len(second))
	}
	for i, c := range after {
		w := second[i]
		if c.Seq != i || c.Text != w.Text || c.Hash != w.Hash || c.Start != w.Start || c.End != w.End || !slices.Equal(c.Embedding, w.Embedding) {
			t.Errorf("chunk %d = %+v, want %+v", i, c, w)
		}
		if kept := i < 3; i < len(before) && (c.ID == before[i].ID) != kept {
			t.Errorf("chunk %d: id %d (was %d), want kept %v", i, c.ID, before[i].ID, kept)
		}
	}
	todo, err := s.ChunksToEmbed(ctx, "u", 10)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range todo {
		texts = append(texts, c.Text)
	}
	if !slices.Equal(texts, []string{"evening", "dawn"}) {
		t.Errorf("chunks to embed = %v, want evening and dawn", texts)
	}
	hits, err := s.VectorSearch(ctx, "u", []float32{0.5, 1}, engine.SearchOptions{Limit: 1})
	if err != nil || len(hits) != 1 || hits[0].Chunk.Text != "noon" || hits[0].Score < 0.9999 {
		t.Errorf("vector search for noon's new vector: %+v, %v", hits, err)
	}
	hits, err = s.FullTextSearch(ctx, "u", "night late dawn morning", engine.SearchOptions{Limit: 10})
	if err != nil || len(hits) != 3 {
		t.Errorf("full text after the change: %d hits, %v; want morning, night late, dawn", len(hits), err)
	}
}
