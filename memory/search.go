package memory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// SearchOptions narrow a search.
type SearchOptions struct {
	// Limit is the most hits (default 10).
	Limit int
	// Folder keeps only documents under it ("notes", "daily/").
	Folder string
	// Skip, when set, drops hits of the paths it accepts (private files in
	// group conversations, files already in the prompt).
	Skip func(path string) bool
}

// SearchResult is a ranked list of hits and how it was made.
type SearchResult struct {
	Hits []Fused `json:"hits"`
	// Vector reports that vector search took part.
	Vector bool `json:"vector"`
	// Note says why vector search did not take part, when it did not.
	Note string `json:"note,omitempty"`
}

// Search ranks the user's chunks against query: full-text and (with an
// embedder) vector search fused with Reciprocal Rank Fusion, daily notes
// weighted by recency. Without vectors it ranks by full text alone and
// says why in Note.
func (m *Memory) Search(ctx context.Context, userID, query string, o SearchOptions) (SearchResult, error) {
	if userID == "" {
		return SearchResult{}, errors.New("memory: search: no user")
	}
	if o.Limit <= 0 {
		o.Limit = 10
	}
	prefix, err := CleanFolder(o.Folder)
	if err != nil {
		return SearchResult{}, err
	}
	cands := max(m.o.Candidates, 2*o.Limit)
	so := engine.SearchOptions{Limit: cands, PathPrefix: prefix}
	var res SearchResult
	var fused []Fused
	if hs, ok := m.store.(engine.HybridSearcher); ok {
		vector, note := m.queryVector(ctx, query)
		res.Note = note
		if vector != nil {
			hits, err := hs.HybridSearch(ctx, userID, query, vector, engine.HybridOptions{SearchOptions: so, K: m.o.RRFK, Candidates: cands})
			if err != nil {
				return SearchResult{}, fmt.Errorf("memory: search: %w", err)
			}
			res.Vector = true
			for _, h := range hits {
				fused = append(fused, Fused{ChunkHit: h})
			}
		} else {
			fts, err := m.store.FullTextSearch(ctx, userID, query, so)
			if err != nil {
				return SearchResult{}, fmt.Errorf("memory: search: %w", err)
			}
			fused = Fuse(m.o.RRFK, 0, fts, nil)
		}
	} else {
		// Full text runs while the query is embedded and searched by
		// vector: the latency is the slower of the two, not their sum.
		type ftsResult struct {
			hits []engine.ChunkHit
			err  error
		}
		ftsDone := make(chan ftsResult, 1)
		go func() {
			hits, err := m.store.FullTextSearch(ctx, userID, query, so)
			ftsDone <- ftsResult{hits, err}
		}()
		vector, note := m.queryVector(ctx, query)
		res.Note = note
		var vec []engine.ChunkHit
		if vector != nil {
			var err error
			vec, err = m.store.VectorSearch(ctx, userID, vector, so)
			if err != nil {
				m.log.Warn("memory: vector search failed; full-text ranking only", "err", err)
				res.Note = "vector search failed (" + err.Error() + "); full-text ranking only"
				vec = nil
			} else {
				res.Vector = true
			}
		}
		fts := <-ftsDone
		if fts.err != nil {
			return SearchResult{}, fmt.Errorf("memory: search: %w", fts.err)
		}
		fused = Fuse(m.o.RRFK, 0, fts.hits, vec)
	}
	fused = m.weighRecency(fused)
	out := fused[:0]
	for _, f := range fused {
		if o.Skip != nil && o.Skip(f.Chunk.Path) {
			continue
		}
		out = append(out, f)
		if len(out) == o.Limit {
			break
		}
	}
	for i := range out {
		out[i].Rank = i + 1
	}
	res.Hits = out
	return res, nil
}

// queryVector embeds the query, or says why there is no vector.
func (m *Memory) queryVector(ctx context.Context, query string) ([]float32, string) {
	if m.o.Embedder == nil {
		return nil, "no embedding provider configured (set embeddings.model); full-text ranking only"
	}
	sp := m.idx.vectorSpace()
	if sp.Dimensions == 0 {
		m.idx.mu.Lock()
		why := m.idx.spaceErr
		m.idx.mu.Unlock()
		if why != nil {
			return nil, "embedding provider unavailable (" + why.Error() + "); full-text ranking only"
		}
		return nil, "embedding provider not ready yet; full-text ranking only"
	}
	if strings.TrimSpace(query) == "" {
		return nil, ""
	}
	vs, err := m.o.Embedder.Embed(ctx, []string{query})
	if err != nil || len(vs) != 1 || len(vs[0]) != sp.Dimensions {
		if err == nil {
			err = fmt.Errorf("the embedder answered no vector of %d dimensions", sp.Dimensions)
		}
		m.log.Warn("memory: embedding the query failed; full-text ranking only", "err", err)
		return nil, "embedding the query failed (" + err.Error() + "); full-text ranking only"
	}
	return vs[0], ""
}

// dailyDate parses the date of a daily note path ("daily/2026-11-24.md").
func dailyDate(path string) (time.Time, bool) {
	name, ok := strings.CutPrefix(path, "daily/")
	if !ok {
		return time.Time{}, false
	}
	name, ok = strings.CutSuffix(name, ".md")
	if !ok {
		return time.Time{}, false
	}
	d, err := time.Parse(time.DateOnly, name)
	return d, err == nil
}

// weighRecency multiplies the scores of daily notes by their recency
// factor and re-sorts (stably, so equal scores keep the fused order).
func (m *Memory) weighRecency(fused []Fused) []Fused {
	w := m.o.RecencyWeight
	if w <= 0 || len(fused) == 0 {
		return fused
	}
	now := m.o.Now()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	changed := false
	for i := range fused {
		d, ok := dailyDate(fused[i].Chunk.Path)
		if !ok {
			continue
		}
		age := max(today.Sub(d), 0)
		factor := (1 - w) + w*math.Pow(0.5, float64(age)/float64(m.o.RecencyHalfLife))
		fused[i].Score *= factor
		changed = true
	}
	if changed {
		slices.SortStableFunc(fused, func(a, b Fused) int {
			switch {
			case a.Score > b.Score:
				return -1
			case a.Score < b.Score:
				return 1
			}
			return 0
		})
	}
	return fused
}
