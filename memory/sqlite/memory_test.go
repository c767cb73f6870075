package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// TestFullTextSearchLargeWorkspace covers what only a large workspace
// (2,000 chunks and more) does: common words are left out when a rarer
// one remains, a query of common words only returns the newest matches,
// and another user crowding the index changes none of it.
func TestFullTextSearchLargeWorkspace(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	for _, u := range []string{"u1", "u2"} {
		if err := st.CreateUser(ctx, engine.User{ID: u, Name: u, Role: engine.RoleMember}); err != nil {
			t.Fatal(err)
		}
	}
	write := func(user, path string, chunks []engine.Chunk) {
		t.Helper()
		d, err := st.WriteDocument(ctx, engine.DocumentWrite{UserID: user, Path: path, Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceChunks(ctx, user, path, d.Version, chunks); err != nil {
			t.Fatal(err)
		}
	}
	// u1: 2,500 chunks that all say "common words"; one says "walrus" too.
	for doc := range 50 {
		var chunks []engine.Chunk
		for i := range 50 {
			text := fmt.Sprintf("common words in chunk %d of document %d", i, doc)
			if doc == 10 && i == 7 {
				text += " walrus"
			}
			chunks = append(chunks, engine.Chunk{Text: text, Hash: "h"})
		}
		write("u1", fmt.Sprintf("d%02d.md", doc), chunks)
	}
	// u2: more "common words" and walruses, all newer than u1's.
	var other []engine.Chunk
	for i := range 300 {
		other = append(other, engine.Chunk{Text: "walrus walrus common words of another user", Hash: fmt.Sprint(i)})
	}
	write("u2", "other.md", other)

	// The rare word decides, the common ones are not allowed to drown it.
	hits, err := st.FullTextSearch(ctx, "u1", "common walrus words", engine.SearchOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || !strings.Contains(hits[0].Chunk.Text, "walrus") || hits[0].Chunk.UserID != "u1" {
		t.Fatalf("common + rare: %+v, want u1's walrus chunk only", hits)
	}
	// Common words only: the newest matches, newest first, Score 0.
	hits, err = st.FullTextSearch(ctx, "u1", "common words", engine.SearchOptions{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 || hits[0].Chunk.Path != "d49.md" || hits[0].Chunk.Seq != 49 || hits[1].Chunk.Seq != 48 || hits[0].Score != 0 {
		t.Fatalf("common only: %+v, want d49.md chunks 49, 48, 47", hits)
	}
	for i, h := range hits {
		if h.Rank != i+1 || h.Chunk.UserID != "u1" || h.Method != engine.MethodFullText {
			t.Errorf("hit %d: %+v", i, h)
		}
	}
	// u2's common words are its own too.
	hits, err = st.FullTextSearch(ctx, "u2", "common words", engine.SearchOptions{Limit: 400})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 300 {
		t.Errorf("u2 common only: %d hits, want its 300", len(hits))
	}
	for _, h := range hits {
		if h.Chunk.UserID != "u2" {
			t.Fatalf("u2's search returned a chunk of %s", h.Chunk.UserID)
		}
	}
}
