package memory

import (
	"cmp"
	"math"
	"slices"

	"github.com/hearthbot/hearth/engine"
)

// DefaultRRFK is the Reciprocal Rank Fusion constant used when none is
// configured (memory.rrf_k).
const DefaultRRFK = 60

// Fused is a hit of the fusion with the ranks it had in each list (0:
// absent from that list).
type Fused struct {
	engine.ChunkHit
	FullTextRank int `json:"fts_rank,omitempty"`
	VectorRank   int `json:"vector_rank,omitempty"`
}

// Methods names the lists that found the hit: "fts", "vector",
// "fts+vector", or "hybrid" when a store fused the lists itself.
func (f Fused) Methods() string {
	switch {
	case f.FullTextRank > 0 && f.VectorRank > 0:
		return "fts+vector"
	case f.FullTextRank > 0:
		return engine.MethodFullText
	case f.VectorRank > 0:
		return engine.MethodVector
	}
	return f.Method
}

// Fuse merges a full-text and a vector ranking with Reciprocal Rank
// Fusion: each chunk scores the sum over the lists it appears in of
// 1/(k + rank), rank 1-based. The result is ordered by score, ties broken
// by the better full-text rank, then the better vector rank (absence
// ranks last), then chunk id; at most limit hits (limit <= 0: all) with
// Method engine.MethodHybrid and Rank their position. This is the exact
// contract of engine.HybridSearcher. k <= 0 takes DefaultRRFK.
func Fuse(k, limit int, fts, vec []engine.ChunkHit) []Fused {
	if k <= 0 {
		k = DefaultRRFK
	}
	byID := map[int64]*Fused{}
	var order []*Fused
	add := func(h engine.ChunkHit, rank int, isFTS bool) {
		f := byID[h.Chunk.ID]
		if f == nil {
			f = &Fused{ChunkHit: h}
			f.Chunk.Embedding = nil
			byID[h.Chunk.ID] = f
			order = append(order, f)
		}
		if isFTS {
			f.FullTextRank = rank
		} else {
			f.VectorRank = rank
		}
	}
	for i, h := range fts {
		add(h, i+1, true)
	}
	for i, h := range vec {
		add(h, i+1, false)
	}
	for _, f := range order {
		f.Score = 0
		if f.FullTextRank > 0 {
			f.Score += 1 / float64(k+f.FullTextRank)
		}
		if f.VectorRank > 0 {
			f.Score += 1 / float64(k+f.VectorRank)
		}
	}
	last := func(r int) int {
		if r == 0 {
			return math.MaxInt
		}
		return r
	}
	slices.SortFunc(order, func(a, b *Fused) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		case last(a.FullTextRank) != last(b.FullTextRank):
			return cmp.Compare(last(a.FullTextRank), last(b.FullTextRank))
		case last(a.VectorRank) != last(b.VectorRank):
			return cmp.Compare(last(a.VectorRank), last(b.VectorRank))
		}
		return cmp.Compare(a.Chunk.ID, b.Chunk.ID)
	})
	if limit > 0 && len(order) > limit {
		order = order[:limit]
	}
	out := make([]Fused, len(order))
	for i, f := range order {
		out[i] = *f
		out[i].Rank = i + 1
		out[i].Method = engine.MethodHybrid
	}
	return out
}
