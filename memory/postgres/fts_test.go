package postgres_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// TestFullTextBounds checks the full-text cost bounds on a table large
// enough to apply them (3,000 chunks of one user, analyzed): a common word
// is left out when a rarer one remains; a word with many matches ranks the
// newest part of them; a word whose matches all lie outside that part
// still returns its hits; and hybrid search ranks the same full-text list.
func TestFullTextBounds(t *testing.T) {
	ctx := t.Context()
	u := schemaURL(t)
	s := openAt(t, u)
	if err := s.CreateUser(ctx, engine.User{ID: "u1", Name: "U1", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	const docs, perDoc = 30, 100
	for d := range docs {
		path := fmt.Sprintf("doc/%02d.md", d)
		chunks := make([]engine.Chunk, perDoc)
		for j := range chunks {
			i := d*perDoc + j
			// Every chunk has three words, so that ts_rank ties and the
			// order of equal hits is by id (oldest first).
			words := []string{"common", "pad", "pad"}
			switch {
			case i >= 5 && i < 8:
				words[1] = "rare"
			case i%2 == 1:
				words[1] = "mid"
			}
			if i < 1000 {
				words[2] = "old"
			}
			text := strings.Join(words, " ")
			chunks[j] = engine.Chunk{Text: text, End: len(text), Hash: fmt.Sprint(i)}
		}
		w, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: path, Content: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.ReplaceChunks(ctx, "u1", path, w.Version, chunks); err != nil {
			t.Fatal(err)
		}
	}
	admin(t, u, `ANALYZE chunks`)
	// docOf is the document number of the first hit (-1: no hits).
	docOf := func(hits []engine.ChunkHit) int {
		d := -1
		if len(hits) > 0 {
			_, _ = fmt.Sscanf(hits[0].Chunk.Path, "doc/%d.md", &d)
		}
		return d
	}
	search := func(q string, limit int) []engine.ChunkHit {
		t.Helper()
		hits, err := s.FullTextSearch(ctx, "u1", q, engine.SearchOptions{Limit: limit})
		if err != nil {
			t.Fatalf("FullTextSearch(%q): %v", q, err)
		}
		return hits
	}

	// "common" is in every chunk: left out, "rare" alone decides.
	if hits := search("common rare", 10); len(hits) != 3 {
		t.Errorf("common rare: %d hits, want the 3 chunks with rare", len(hits))
	} else {
		for _, h := range hits {
			if !strings.Contains(h.Chunk.Text, "rare") {
				t.Errorf("common rare: hit %q", h.Chunk.Text)
			}
		}
	}
	// "mid" matches 1,500 chunks: the newest 600 or so are ranked, so the
	// first hit (of equal scores, the oldest ranked) is not the oldest
	// match (document 0) but one of the newest 40% of the documents.
	mid := search("mid", 10)
	if len(mid) != 10 || docOf(mid) < 17 {
		t.Errorf("mid: %d hits, first in document %d; want 10 from document 17 on", len(mid), docOf(mid))
	}
	// Only common words: ranked over the newest fifth.
	if hits := search("common", 10); len(hits) != 10 || docOf(hits) < 23 {
		t.Errorf("common: %d hits, first in document %d; want 10 from document 23 on", len(hits), docOf(hits))
	}
	// "old" matches 1,000 chunks, all in the oldest third: the newest part
	// holds none of them, and every match is ranked instead.
	old := search("old", 10)
	if len(old) != 10 || docOf(old) != 0 {
		t.Errorf("old: %d hits, first in document %d; want 10 from document 0", len(old), docOf(old))
	}
	// Hybrid search without a vector ranks exactly the full-text list.
	for _, q := range []string{"mid", "old"} {
		want := search(q, 10)
		hs, err := s.HybridSearch(ctx, "u1", q, nil, engine.HybridOptions{SearchOptions: engine.SearchOptions{Limit: 10}, K: 60, Candidates: 10})
		if err != nil {
			t.Fatalf("HybridSearch(%q): %v", q, err)
		}
		if len(hs) != len(want) {
			t.Fatalf("HybridSearch(%q): %d hits, FullTextSearch %d", q, len(hs), len(want))
		}
		for i := range hs {
			if hs[i].Chunk.ID != want[i].Chunk.ID {
				t.Errorf("HybridSearch(%q) hit %d = chunk %d, FullTextSearch has %d", q, i, hs[i].Chunk.ID, want[i].Chunk.ID)
			}
		}
	}
}
