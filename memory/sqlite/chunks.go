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

// ReplaceChunks replaces a document's chunks if it is still at version;
// see engine.ChunkStore.
func (s *Store) ReplaceChunks(ctx context.Context, userID, path string, version int64, chunks []engine.Chunk) error {
	if err := docKey("replace chunks of", userID, path); err != nil {
		return err
	}
	errs, err := s.replaceChunks(ctx, userID, []engine.Document{{Path: path, Version: version}}, [][]engine.Chunk{chunks})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return fmt.Errorf("sqlite: replace chunks of %q of %q: %w", path, userID, err)
	}
	return nil
}

// ReplaceChunksBatch replaces the chunks of several documents of a user in
// one transaction: docs[i] names a document by Path and Version (the other
// fields are ignored) and chunks[i] are its new chunks, each replaced as
// ReplaceChunks would. A document that cannot be replaced (its Version
// moved on: ErrConflict; it is gone: ErrNotFound; a vector does not fit
// the space: ErrDimensionMismatch) is left as it was and its error is
// errs[i]; the others are replaced. err is set, and nothing written, only
// when the transaction as a whole fails.
//
// One transaction for many documents is what makes indexing fast: every
// commit writes the full-text index's pending terms as a new segment,
// which FTS5 later merges, and syncs the write-ahead log.
func (s *Store) ReplaceChunksBatch(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) (errs []error, err error) {
	if userID == "" {
		return nil, errors.New("sqlite: replace chunks: user id is empty")
	}
	if len(docs) != len(chunks) {
		return nil, fmt.Errorf("sqlite: replace chunks: %d documents but %d chunk lists", len(docs), len(chunks))
	}
	for _, d := range docs {
		if d.Path == "" {
			return nil, errors.New("sqlite: replace chunks: a document has no path")
		}
	}
	errs, err = s.replaceChunks(ctx, userID, docs, chunks)
	if err != nil {
		return nil, fmt.Errorf("sqlite: replace chunks of %d documents of %q: %w", len(docs), userID, err)
	}
	return errs, nil
}

// replaceChunks is ReplaceChunksBatch without the argument checks.
//
// The statements run in an order that keeps FTS5 from writing a segment
// per statement: FTS5 writes its pending terms whenever a statement opens a
// savepoint (any statement with RETURNING or a trigger does), so every
// such statement (deleting the old chunks, whose trigger removes their
// full-text rows; inserting the new rows with RETURNING) runs before the
// first full-text insert, and the full-text rows are inserted last, as
// plain single-row INSERTs, which the commit writes as one segment.
func (s *Store) replaceChunks(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	errs := make([]error, len(docs))
	var removed []int64
	added := map[int64][]float32{}
	var gen int64
	err := s.txThen(ctx, func(ctx context.Context) error {
		sp, _, err := s.space(ctx, s.w.mem.getSpace)
		if err != nil {
			return err
		}
		// Check every document and delete its old chunks.
		docIDs := make([]int64, len(docs))
		for i, d := range docs {
			if errs[i], err = s.checkReplace(ctx, userID, d, chunks[i], sp, &docIDs[i]); err != nil {
				return err
			}
			if errs[i] != nil {
				continue
			}
			old, err := s.chunkIDs(ctx, docIDs[i])
			if err != nil {
				return err
			}
			if len(old) > 0 {
				if _, err := s.w.mem.deleteDocChunks.ExecContext(ctx, docIDs[i]); err != nil {
					return err
				}
				removed = append(removed, old...)
			}
		}
		// Insert the new rows, then their full-text entries.
		ids := make([][]int64, len(docs))
		delta := -len(removed)
		for i := range docs {
			if errs[i] != nil {
				continue
			}
			ids[i] = make([]int64, len(chunks[i]))
			for j, c := range chunks[i] {
				id := &ids[i][j]
				if err := s.w.mem.insertChunk.QueryRowContext(ctx, docIDs[i], userID, j, c.Heading, c.Text, c.Start, c.End,
					c.Hash).Scan(id); err != nil {
					return fmt.Errorf("%s: chunk %d: %w", docs[i].Path, j, err)
				}
				if c.Embedding != nil {
					_, err = s.w.mem.insertVector.ExecContext(ctx, *id, userID, encodeVector(c.Embedding))
					added[*id] = c.Embedding
				} else {
					_, err = s.w.mem.queueEmbed.ExecContext(ctx, *id, userID)
				}
				if err != nil {
					return fmt.Errorf("%s: chunk %d: %w", docs[i].Path, j, err)
				}
			}
			delta += len(chunks[i])
		}
		for i := range docs {
			if errs[i] != nil {
				continue
			}
			for j, c := range chunks[i] {
				if _, err := s.w.mem.insertFTS.ExecContext(ctx, ids[i][j], userID, c.Heading, c.Text); err != nil {
					return fmt.Errorf("%s: chunk %d: full-text index: %w", docs[i].Path, j, err)
				}
			}
		}
		replaced := false
		for i, d := range docs {
			if errs[i] != nil {
				continue
			}
			replaced = true
			if _, err := s.w.mem.setIndexed.ExecContext(ctx, d.Version, docIDs[i]); err != nil {
				return err
			}
		}
		if !replaced {
			return nil
		}
		return s.w.mem.bumpUserGen.QueryRowContext(ctx, userID, delta).Scan(&gen)
	}, func() {
		if gen > 0 {
			s.vec.apply(userID, gen, removed, added)
		}
	})
	return errs, err
}

// checkReplace checks inside the transaction whether a document may take
// new chunks: refused says why not (it is missing, at another version, or
// a vector does not fit sp), err is a failure of the store. It sets *id to
// the document's row id.
func (s *Store) checkReplace(ctx context.Context, userID string, d engine.Document, chunks []engine.Chunk,
	sp engine.EmbeddingSpace, id *int64) (refused, err error) {
	cur, err := scanDocument(s.w.mem.docForWrite.QueryRowContext(ctx, userID, d.Path), id)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("document %q: %w", d.Path, engine.ErrNotFound), nil
	}
	if err != nil {
		return nil, err
	}
	if cur.Version != d.Version {
		return fmt.Errorf("document %q is at version %d, chunks are of %d: %w",
			d.Path, cur.Version, d.Version, engine.ErrConflict), nil
	}
	for i, c := range chunks {
		if c.Embedding != nil && len(c.Embedding) != sp.Dimensions {
			return fmt.Errorf("document %q: chunk %d: vector of %d dimensions, space %q has %d: %w",
				d.Path, i, len(c.Embedding), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch), nil
		}
	}
	return nil, nil
}

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
