package sqlite

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/vecindex"
)

// Vector search keeps, per user, an in-memory quantized index
// (memory/vecindex) of the user's vectors, loaded on the first search and
// kept current:
//
//   - every write that changes a user's vectors bumps the user's row in
//     vector_generations inside its transaction, and a change of space
//     bumps embedding_space.generation;
//   - after the commit, still holding the writer, this process applies the
//     change to the cached index when the index was at the previous
//     generation (so in-process writes never force a reload);
//   - a search reads both generations (one indexed lookup) and reloads the
//     index when they differ from the cached ones: another process (a CLI
//     import next to the server) changed the vectors.
//
// The index returns rescoreCandidates(limit) candidates; their exact
// float32 vectors are read back from the database (chunk_vectors, by
// primary key) and rescored, so Score is the exact cosine similarity and
// the approximation only decides which chunks are looked at. The chunks'
// rows are read for the hits returned only.

// maxCachedVectors bounds the vectors held in memory over all users
// (about 450 bytes each at 384 dimensions); the least recently searched
// users are dropped first.
const maxCachedVectors = 400_000

// rescoreCandidates is how many candidates of the index are rescored
// exactly for a search returning limit hits.
func rescoreCandidates(limit int) int { return max(2*limit, 48) }

type vectorCache struct {
	mu    sync.Mutex
	users map[string]*userVectors
	tick  uint64 // recency clock for eviction
}

type userVectors struct {
	mu       sync.RWMutex
	idx      *vecindex.Index // nil until loaded or after a failed load
	gen      int64           // the user's vector generation idx reflects
	spaceGen int64           // the space generation idx reflects
	used     uint64
}

// entry returns the user's cache entry, creating an empty one.
func (c *vectorCache) entry(userID string) *userVectors {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users = map[string]*userVectors{}
	}
	c.tick++
	e := c.users[userID]
	if e == nil {
		e = &userVectors{gen: -1}
		c.users[userID] = e
	}
	e.used = c.tick
	return e
}

// apply brings the user's cached index from generation gen-1 to gen, or
// drops it when it was at another generation.
func (c *vectorCache) apply(userID string, gen int64, remove []int64, set map[int64][]float32) {
	c.mu.Lock()
	e := c.users[userID]
	c.mu.Unlock()
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.idx == nil || e.gen != gen-1 {
		e.idx, e.gen = nil, -1
		return
	}
	for _, id := range remove {
		e.idx.Remove(id)
	}
	for id, v := range set {
		if err := e.idx.Set(id, v); err != nil {
			e.idx, e.gen = nil, -1 // cannot happen: the store checked dimensions
			return
		}
	}
	e.gen = gen
}

// reset drops every cached index (the space changed).
func (c *vectorCache) reset() {
	c.mu.Lock()
	c.users = nil
	c.mu.Unlock()
}

// evict drops least recently used indexes until the cached vectors fit.
func (c *vectorCache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	type sized struct {
		id   string
		n    int
		used uint64
	}
	var all []sized
	total := 0
	for id, e := range c.users {
		e.mu.RLock()
		n := 0
		if e.idx != nil {
			n = e.idx.Len()
		}
		e.mu.RUnlock()
		total += n
		all = append(all, sized{id, n, e.used})
	}
	if total <= maxCachedVectors {
		return
	}
	slices.SortFunc(all, func(a, b sized) int { return cmp.Compare(a.used, b.used) })
	for _, u := range all[:len(all)-1] { // never the most recent one
		if total <= maxCachedVectors {
			return
		}
		delete(c.users, u.id)
		total -= u.n
	}
}

// VectorSearch ranks a user's embedded chunks by cosine similarity.
func (s *Store) VectorSearch(ctx context.Context, userID string, vector []float32, opts engine.SearchOptions) ([]engine.ChunkHit, error) {
	if userID == "" || opts.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: vector search: need a user id and a positive limit, got %q/%d", userID, opts.Limit)
	}
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	var sp engine.EmbeddingSpace
	var spaceGen, gen int64
	if err := s.r.mem.generations.QueryRowContext(rctx, userID).Scan(&sp.Model, &sp.Dimensions, &spaceGen, &gen); err != nil {
		return nil, fmt.Errorf("sqlite: vector search: %w", err)
	}
	if len(vector) != sp.Dimensions || sp.Dimensions == 0 {
		return nil, fmt.Errorf("sqlite: vector search: query of %d dimensions, space %q has %d: %w",
			len(vector), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch)
	}
	var keep func(int64) bool
	if opts.PathPrefix != "" {
		ids, err := s.idsUnder(rctx, userID, opts.PathPrefix)
		if err != nil {
			return nil, fmt.Errorf("sqlite: vector search: %w", err)
		}
		keep = func(id int64) bool { _, ok := ids[id]; return ok }
	}
	e := s.vec.entry(userID)
	cands, err := s.searchIndex(rctx, e, userID, sp, spaceGen, gen, vector, rescoreCandidates(opts.Limit), keep)
	if err != nil {
		return nil, fmt.Errorf("sqlite: vector search: %w", err)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	scored, err := s.rescore(rctx, userID, cands, vector)
	if err != nil {
		return nil, fmt.Errorf("sqlite: vector search: %w", err)
	}
	hits, err := s.vectorHits(ctx, userID, scored, opts.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: vector search: %w", err)
	}
	return hits, nil
}

// current reports whether the cached index reflects at least the
// generations read by a search (a write of this process may have moved it
// ahead since; generations only grow).
func (e *userVectors) current(sp engine.EmbeddingSpace, spaceGen, gen int64) bool {
	return e.idx != nil && e.gen >= gen && e.spaceGen == spaceGen && e.idx.Dims() == sp.Dimensions
}

// searchIndex searches the user's cached index, (re)loading it first when
// it is missing or behind the generations read by the caller.
func (s *Store) searchIndex(ctx context.Context, e *userVectors, userID string, sp engine.EmbeddingSpace,
	spaceGen, gen int64, q []float32, n int, keep func(int64) bool) ([]vecindex.Candidate, error) {
	e.mu.RLock()
	if e.current(sp, spaceGen, gen) {
		defer e.mu.RUnlock()
		return e.idx.Search(q, n, keep)
	}
	e.mu.RUnlock()

	e.mu.Lock()
	loaded := false
	if !e.current(sp, spaceGen, gen) {
		if err := s.loadIndex(ctx, e, userID, sp.Dimensions); err != nil {
			e.idx, e.gen = nil, -1
			e.mu.Unlock()
			return nil, err
		}
		loaded = true
	}
	cands, err := e.idx.Search(q, n, keep)
	e.mu.Unlock()
	if loaded {
		s.vec.evict() // takes the entries' locks: only after releasing ours
	}
	return cands, err
}

// loadIndex reads every vector of the user into a new index. Generations
// are read before and after; when a write landed in between, the load is
// repeated (at most three times, after which the index is kept but marked
// stale so that the next search reloads it).
func (s *Store) loadIndex(ctx context.Context, e *userVectors, userID string, dims int) error {
	for attempt := 0; ; attempt++ {
		var sp engine.EmbeddingSpace
		var spaceGen, gen int64
		if err := s.r.mem.generations.QueryRowContext(ctx, userID).Scan(&sp.Model, &sp.Dimensions, &spaceGen, &gen); err != nil {
			return err
		}
		if sp.Dimensions != dims {
			return fmt.Errorf("the embedding space changed during the search: %w", engine.ErrDimensionMismatch)
		}
		idx, err := vecindex.New(dims, 0)
		if err != nil {
			return err
		}
		rows, err := s.r.mem.loadVectors.QueryContext(ctx, userID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var blob []byte
			if err := rows.Scan(&id, &blob); err != nil {
				rows.Close()
				return err
			}
			if v := decodeVector(blob); len(v) == dims {
				if err := idx.Set(id, v); err != nil {
					rows.Close()
					return err
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var after engine.EmbeddingSpace
		var spaceGen2, gen2 int64
		if err := s.r.mem.generations.QueryRowContext(ctx, userID).Scan(&after.Model, &after.Dimensions, &spaceGen2, &gen2); err != nil {
			return err
		}
		e.idx, e.spaceGen, e.gen = idx, spaceGen, gen
		if spaceGen2 == spaceGen && gen2 == gen {
			return nil
		}
		if attempt == 2 {
			e.gen = -1 // stale: reload next time
			return nil
		}
	}
}

// idsUnder returns the ids of a user's chunks under a path prefix.
func (s *Store) idsUnder(ctx context.Context, userID, prefix string) (map[int64]struct{}, error) {
	rows, err := s.r.mem.idsUnder.QueryContext(ctx, userID, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[int64]struct{}{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = struct{}{}
	}
	return ids, rows.Err()
}

// rescore reads the exact vectors of the candidates (those still the
// user's) and orders them by cosine similarity to q, best first, ties by
// id.
func (s *Store) rescore(ctx context.Context, userID string, cands []vecindex.Candidate, q []float32) ([]scoredChunk, error) {
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.ID
	}
	idJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s, s.r.mem.vectorsByID, func(r scanner) (scoredChunk, error) {
		var c scoredChunk
		var blob []byte
		if err := r.Scan(&c.id, &blob); err != nil {
			return c, err
		}
		if v := decodeVector(blob); len(v) == len(q) {
			c.score = vecindex.Cosine(v, q)
		} else {
			c.id = 0 // another space's: dropped below
		}
		return c, nil
	}, string(idJSON), userID)
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(c scoredChunk) bool { return c.id == 0 })
	slices.SortFunc(out, func(a, b scoredChunk) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return out, nil
}

// scoredChunk is a chunk id with its exact cosine similarity.
type scoredChunk struct {
	id    int64
	score float64
}

// vectorHits reads the chunks of the best limit scored candidates, in
// order. The chunk rows are read only for the hits returned, not for
// every candidate rescored; a chunk deleted since its vector was read is
// replaced by the next candidate.
func (s *Store) vectorHits(ctx context.Context, userID string, scored []scoredChunk, limit int) ([]engine.ChunkHit, error) {
	hits := make([]engine.ChunkHit, 0, min(limit, len(scored)))
	for len(hits) < limit && len(scored) > 0 {
		next := scored[:min(limit-len(hits), len(scored))]
		scored = scored[len(next):]
		ids := make([]int64, len(next))
		for i, c := range next {
			ids[i] = c.id
		}
		byID, err := s.chunksOf(ctx, userID, ids)
		if err != nil {
			return nil, err
		}
		for _, c := range next {
			if ch, ok := byID[c.id]; ok {
				hits = append(hits, engine.ChunkHit{Chunk: ch, Score: c.score, Method: engine.MethodVector, Rank: len(hits) + 1})
			}
		}
	}
	return hits, nil
}
