package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/hearthbot/hearth/engine"
)

// GetChunks returns a document's chunks in order, with embeddings.
func (s *Store) GetChunks(ctx context.Context, userID, path string) ([]engine.Chunk, error) {
	if err := docKey("get chunks of", userID, path); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s, s.r.mem.getChunks, scanChunkVector, userID, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chunks of %q of %q: %w", path, userID, err)
	}
	return out, nil
}

// ChunksToEmbed lists up to limit chunks of a user without an embedding.
func (s *Store) ChunksToEmbed(ctx context.Context, userID string, limit int) ([]engine.Chunk, error) {
	if userID == "" || limit <= 0 {
		return nil, fmt.Errorf("sqlite: chunks to embed: need a user id and a positive limit, got %q/%d", userID, limit)
	}
	out, err := queryAll(ctx, s, s.r.mem.chunksToEmbed, scanChunk, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chunks to embed of %q: %w", userID, err)
	}
	return out, nil
}

// SetEmbeddings stores vectors of a user's chunks, all or none.
func (s *Store) SetEmbeddings(ctx context.Context, userID string, embs []engine.ChunkEmbedding) error {
	if userID == "" {
		return errors.New("sqlite: set embeddings: user id is empty")
	}
	if len(embs) == 0 {
		return nil
	}
	set := map[int64][]float32{}
	var gen int64
	err := s.txThen(ctx, func(ctx context.Context) error {
		sp, _, err := s.space(ctx, s.w.mem.getSpace)
		if err != nil {
			return err
		}
		for _, e := range embs {
			if sp.Dimensions == 0 || len(e.Vector) != sp.Dimensions {
				return fmt.Errorf("chunk %d: vector of %d dimensions, space %q has %d: %w",
					e.ChunkID, len(e.Vector), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch)
			}
		}
		for _, e := range embs {
			res, err := s.w.mem.setEmbedding.ExecContext(ctx, e.ChunkID, userID, encodeVector(e.Vector))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // not the user's chunk, or gone
			}
			if _, err := s.w.mem.unqueueEmbed.ExecContext(ctx, e.ChunkID); err != nil {
				return err
			}
			set[e.ChunkID] = e.Vector
		}
		return s.w.mem.bumpUserGen.QueryRowContext(ctx, userID, 0).Scan(&gen)
	}, func() { s.vec.apply(userID, gen, nil, set) })
	if err != nil {
		return fmt.Errorf("sqlite: set embeddings of %q: %w", userID, err)
	}
	return nil
}

// EmbeddingSpace returns the space of the stored vectors.
func (s *Store) EmbeddingSpace(ctx context.Context) (engine.EmbeddingSpace, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.EmbeddingSpace{}, err
	}
	sp, _, err := s.space(ctx, s.r.mem.getSpace)
	if err != nil {
		return sp, fmt.Errorf("sqlite: embedding space: %w", err)
	}
	return sp, nil
}

// SetEmbeddingSpace records the space of the vectors, dropping every
// vector when it changes.
func (s *Store) SetEmbeddingSpace(ctx context.Context, sp engine.EmbeddingSpace) (bool, error) {
	if sp.Dimensions < 0 || (sp.Model == "") != (sp.Dimensions == 0) {
		return false, fmt.Errorf("sqlite: set embedding space: need a model and positive dimensions (or neither), got %q/%d",
			sp.Model, sp.Dimensions)
	}
	changed := false
	err := s.txThen(ctx, func(ctx context.Context) error {
		cur, _, err := s.space(ctx, s.w.mem.getSpace)
		if err != nil || cur == sp {
			return err
		}
		var gen int64
		if err := s.w.mem.setSpace.QueryRowContext(ctx, sp.Model, sp.Dimensions).Scan(&gen); err != nil {
			return err
		}
		if _, err := s.w.mem.clearEmbeddings.ExecContext(ctx); err != nil {
			return err
		}
		if _, err := s.w.mem.queueAllEmbeds.ExecContext(ctx); err != nil {
			return err
		}
		changed = true
		return nil
	}, func() {
		if changed {
			s.vec.reset()
		}
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: set embedding space %q/%d: %w", sp.Model, sp.Dimensions, err)
	}
	return changed, nil
}

// MemoryStats counts documents and chunks of a user, or of everyone when
// userID is "".
func (s *Store) MemoryStats(ctx context.Context, userID string) (engine.MemoryStats, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return engine.MemoryStats{}, err
	}
	var row *sql.Row
	if userID == "" {
		row = s.r.mem.statsAll.QueryRowContext(ctx)
	} else {
		row = s.r.mem.statsUser.QueryRowContext(ctx, userID)
	}
	var st engine.MemoryStats
	if err := row.Scan(&st.Documents, &st.DocumentsToIndex, &st.Versions, &st.Chunks, &st.ChunksEmbedded, &st.Bytes); err != nil {
		return st, fmt.Errorf("sqlite: memory stats: %w", err)
	}
	return st, nil
}

// CachedEmbeddings returns cached vectors of sp by content hash.
func (s *Store) CachedEmbeddings(ctx context.Context, sp engine.EmbeddingSpace, hashes []string) (map[string][]float32, error) {
	out := map[string][]float32{}
	if len(hashes) == 0 {
		return out, nil
	}
	ids, err := json.Marshal(hashes)
	if err != nil {
		return nil, err
	}
	ctx, err = s.readCtx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.mem.getCache.QueryContext(ctx, sp.Model, sp.Dimensions, string(ids))
	if err != nil {
		return nil, fmt.Errorf("sqlite: cached embeddings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var blob []byte
		if err := rows.Scan(&h, &blob); err != nil {
			return nil, fmt.Errorf("sqlite: cached embeddings: %w", err)
		}
		if v := decodeVector(blob); len(v) == sp.Dimensions {
			out[h] = v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: cached embeddings: %w", err)
	}
	return out, nil
}

// CacheEmbeddings stores vectors of sp by content hash.
func (s *Store) CacheEmbeddings(ctx context.Context, sp engine.EmbeddingSpace, vectors map[string][]float32) error {
	if sp.Model == "" || sp.Dimensions <= 0 {
		return fmt.Errorf("sqlite: cache embeddings: need a model and positive dimensions, got %q/%d", sp.Model, sp.Dimensions)
	}
	for h, v := range vectors {
		if len(v) != sp.Dimensions {
			return fmt.Errorf("sqlite: cache embeddings: %q: vector of %d dimensions, want %d: %w",
				h, len(v), sp.Dimensions, engine.ErrDimensionMismatch)
		}
	}
	if len(vectors) == 0 {
		return nil
	}
	now := micros(s.now())
	err := s.tx(ctx, func(ctx context.Context) error {
		for h, v := range vectors {
			if _, err := s.w.mem.putCache.ExecContext(ctx, sp.Model, sp.Dimensions, h, encodeVector(v), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: cache embeddings: %w", err)
	}
	return nil
}

// space reads the embedding space and its generation with st (the
// writer's or the readers' statement).
func (s *Store) space(ctx context.Context, st *sql.Stmt) (engine.EmbeddingSpace, int64, error) {
	var sp engine.EmbeddingSpace
	var gen int64
	err := st.QueryRowContext(ctx).Scan(&sp.Model, &sp.Dimensions, &gen)
	return sp, gen, err
}

// encodeVector stores v as little-endian float32 values; nil stays NULL.
func encodeVector(v []float32) any {
	if v == nil {
		return nil
	}
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func decodeVector(b []byte) []float32 {
	if len(b) == 0 || len(b)%4 != 0 {
		return nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func scanChunk(r scanner) (engine.Chunk, error) {
	var c engine.Chunk
	var updated int64
	if err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated); err != nil {
		return engine.Chunk{}, err
	}
	c.UpdatedAt = fromMicros(updated)
	return c, nil
}

func scanChunkVector(r scanner) (engine.Chunk, error) {
	var c engine.Chunk
	var updated int64
	var blob []byte
	if err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated, &blob); err != nil {
		return engine.Chunk{}, err
	}
	c.UpdatedAt = fromMicros(updated)
	c.Embedding = decodeVector(blob)
	return c, nil
}
