package sqlite_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// TestReplaceChunksBatch: the documents that can take their chunks do,
// in one call; each one that cannot (stale version, gone, wrong vector
// size) is left as it was and says why.
func TestReplaceChunksBatch(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m", Dimensions: 2}); err != nil {
		t.Fatal(err)
	}
	write := func(path, content string) engine.Document {
		t.Helper()
		d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: path, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ok1, ok2 := write("ok1.md", "first"), write("ok2.md", "second")
	stale := write("stale.md", "old")
	if err := st.ReplaceChunks(ctx, "u", "stale.md", stale.Version, []engine.Chunk{{Text: "kept stale text", Hash: "s"}}); err != nil {
		t.Fatal(err)
	}
	write("stale.md", "new") // version 2: chunks of version 1 are refused
	wrongDim := write("dim.md", "dims")

	docs := []engine.Document{ok1, stale, {Path: "gone.md", Version: 1}, wrongDim, ok2}
	chunks := [][]engine.Chunk{
		{{Text: "walrus one", Hash: "a"}, {Text: "walrus two", Hash: "b", Embedding: []float32{1, 0}}},
		{{Text: "stale walrus", Hash: "c"}},
		{{Text: "gone walrus", Hash: "d"}},
		{{Text: "dimension walrus", Hash: "e", Embedding: []float32{1, 0, 0}}},
		{{Text: "walrus three", Hash: "f"}},
	}
	errs, err := st.ReplaceChunksBatch(ctx, "u", docs, chunks)
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
		got, err := st.GetChunks(ctx, "u", path)
		if err != nil || len(got) != n {
			t.Errorf("%s: %d chunks (%v), want %d", path, len(got), err, n)
		}
	}
	if got, _ := st.GetChunks(ctx, "u", "stale.md"); len(got) != 1 || got[0].Text != "kept stale text" {
		t.Errorf("stale.md chunks = %+v, want the old one kept", got)
	}
	hits, err := st.FullTextSearch(ctx, "u", "walrus", engine.SearchOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 {
		t.Errorf("walrus hits = %d, want the 3 stored chunks: %+v", len(hits), hits)
	}
	toEmbed, err := st.ChunksToEmbed(ctx, "u", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(toEmbed) != 3 { // walrus one, walrus three, and the stale chunk
		t.Errorf("chunks to embed = %+v, want 3", toEmbed)
	}
	stats, err := st.MemoryStats(ctx, "u")
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
	} {
		if _, err := st.ReplaceChunksBatch(ctx, bad.user, bad.docs, bad.chunks); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

// TestReplaceChunksBatchLarge replaces the chunks of many documents twice
// (the second time every old chunk goes) and checks what search sees.
func TestReplaceChunksBatchLarge(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	for round, word := range []string{"first", "second"} {
		var docs []engine.Document
		var chunks [][]engine.Chunk
		for i := range 40 {
			d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: fmt.Sprintf("d%02d.md", i),
				Content: fmt.Sprint(word, i)})
			if err != nil {
				t.Fatal(err)
			}
			docs = append(docs, d)
			var cs []engine.Chunk
			for j := range 5 {
				cs = append(cs, engine.Chunk{Text: fmt.Sprintf("%s round %d doc%d part%d", word, round, i, j), Hash: "h"})
			}
			chunks = append(chunks, cs)
		}
		errs, err := st.ReplaceChunksBatch(ctx, "u", docs, chunks)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range errs {
			if e != nil {
				t.Fatalf("round %d, %s: %v", round, docs[i].Path, e)
			}
		}
	}
	for word, want := range map[string]int{"first": 0, "second": 200, "doc7": 5, "part3": 40} {
		hits, err := st.FullTextSearch(ctx, "u", word, engine.SearchOptions{Limit: 500})
		if err != nil || len(hits) != want {
			t.Errorf("search %q: %d hits (%v), want %d", word, len(hits), err, want)
		}
	}
	stats, err := st.MemoryStats(ctx, "u")
	if err != nil || stats.Chunks != 200 || stats.DocumentsToIndex != 0 {
		t.Errorf("stats = %+v, %v; want 200 chunks, nothing to index", stats, err)
	}
}

// TestReplaceKeepsRepeatedChunks: re-chunking a document keeps the rows
// of the chunks it repeats exactly (an append changes only the last
// ones), with their vectors brought in line with the new chunks', and
// replaces the rest; search sees exactly the new chunks.
func TestReplaceKeepsRepeatedChunks(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "m", Dimensions: 2}); err != nil {
		t.Fatal(err)
	}
	replace := func(content string, chunks ...engine.Chunk) []engine.Chunk {
		t.Helper()
		d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: "daily.md", Content: content})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceChunks(ctx, "u", "daily.md", d.Version, chunks); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetChunks(ctx, "u", "daily.md")
		if err != nil || len(got) != len(chunks) {
			t.Fatalf("GetChunks = %+v, %v; want %d chunks", got, err, len(chunks))
		}
		return got
	}
	x, y := []float32{1, 0}, []float32{0, 1}
	a := engine.Chunk{Heading: "Mon", Text: "alpha walrus", Start: 0, End: 12, Hash: "a", Embedding: x}
	b := engine.Chunk{Heading: "Mon", Text: "beta otter", Start: 13, End: 23, Hash: "b"}
	c := engine.Chunk{Heading: "Mon", Text: "gamma heron", Start: 24, End: 35, Hash: "c", Embedding: y}
	d := engine.Chunk{Heading: "Mon", Text: "delta stoat", Start: 36, End: 47, Hash: "d", Embedding: x}
	first := replace("v1", a, b, c, d)

	b2 := b
	b2.Embedding = y // now embedded
	c2 := c
	c2.Text, c2.Hash = "gamma heron and a crane", "c2" // changed
	d2 := d
	d2.Embedding = nil // the new chunk has no vector: it must wait for one
	e := engine.Chunk{Heading: "Tue", Text: "epsilon puffin", Start: 48, End: 62, Hash: "e"}
	second := replace("v2", a, b2, c2, d2, e)

	for i, kept := range []bool{true, true, false, true} { // a, b, c, d
		if (second[i].ID == first[i].ID) != kept {
			t.Errorf("chunk %d: id %d before, %d after; want the row kept: %v", i, first[i].ID, second[i].ID, kept)
		}
	}
	if !slices.Equal(second[1].Embedding, y) || second[3].Embedding != nil || !slices.Equal(second[0].Embedding, x) {
		t.Errorf("vectors after replace: %v %v %v", second[0].Embedding, second[1].Embedding, second[3].Embedding)
	}
	for word, want := range map[string]int{"walrus": 1, "otter": 1, "heron": 1, "crane": 1, "stoat": 1, "puffin": 1} {
		hits, err := st.FullTextSearch(ctx, "u", word, engine.SearchOptions{Limit: 5})
		if err != nil || len(hits) != want {
			t.Errorf("search %q: %+v, %v; want %d hit", word, hits, err, want)
		}
	}
	todo, err := st.ChunksToEmbed(ctx, "u", 10)
	if err != nil {
		t.Fatal(err)
	}
	var todoIDs []int64
	for _, c := range todo {
		todoIDs = append(todoIDs, c.ID)
	}
	if want := []int64{second[3].ID, second[4].ID}; !slices.Equal(todoIDs, want) {
		t.Errorf("chunks to embed = %v, want %v (the stoat that lost its vector, the new puffin)", todoIDs, want)
	}
	hits, err := st.VectorSearch(ctx, "u", x, engine.SearchOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var vecIDs []int64
	for _, h := range hits {
		vecIDs = append(vecIDs, h.Chunk.ID)
	}
	slices.Sort(vecIDs)
	want := []int64{second[0].ID, second[1].ID, second[2].ID}
	slices.Sort(want)
	if !slices.Equal(vecIDs, want) {
		t.Errorf("vector hits = %v, want the embedded chunks %v", vecIDs, want)
	}
	stats, err := st.MemoryStats(ctx, "u")
	if err != nil || stats.Chunks != 5 || stats.ChunksEmbedded != 3 {
		t.Errorf("stats = %+v, %v; want 5 chunks, 3 embedded", stats, err)
	}
}
