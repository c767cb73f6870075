package sqlite_test

import (
	"errors"
	"fmt"
	"path/filepath"
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
