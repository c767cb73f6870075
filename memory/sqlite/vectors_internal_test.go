package sqlite

import (
	"slices"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

// TestVectorHitsSkipGoneChunks: a rescored candidate whose chunk is gone
// by the time its row is read is replaced by the next candidate, and the
// hits keep the order and scores of the rescoring.
func TestVectorHitsSkipGoneChunks(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	if err := s.CreateUser(ctx, engine.User{ID: "u", Name: "U", Role: engine.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	d, err := s.WriteDocument(ctx, engine.DocumentWrite{UserID: "u", Path: "a.md", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceChunks(ctx, "u", "a.md", d.Version, []engine.Chunk{{Text: "a"}, {Text: "b"}, {Text: "c"}}); err != nil {
		t.Fatal(err)
	}
	chunks, err := s.GetChunks(ctx, "u", "a.md")
	if err != nil || len(chunks) != 3 {
		t.Fatalf("GetChunks = %+v, %v", chunks, err)
	}
	gone := chunks[2].ID + 100
	scored := []scoredChunk{{chunks[1].ID, 0.9}, {gone, 0.8}, {chunks[0].ID, 0.7}, {chunks[2].ID, 0.6}}
	hits, err := s.vectorHits(ctx, "u", scored, 2)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var scores []float64
	for i, h := range hits {
		ids = append(ids, h.Chunk.ID)
		scores = append(scores, h.Score)
		if h.Rank != i+1 || h.Method != engine.MethodVector {
			t.Errorf("hit %d: rank %d, method %q", i, h.Rank, h.Method)
		}
	}
	if !slices.Equal(ids, []int64{chunks[1].ID, chunks[0].ID}) || !slices.Equal(scores, []float64{0.9, 0.7}) {
		t.Errorf("hits = %v %v, want the two best chunks that exist", ids, scores)
	}
}
