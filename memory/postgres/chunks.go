package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/hearthbot/hearth/engine"
)

// chunkCols are a chunk's columns, with its document's UpdatedAt (alias
// d); scanChunk reads them.
const chunkCols = `c.id, c.user_id, c.path, c.seq, c.heading, c.text, c.start_off, c.end_off, c.hash, d.updated_at`

// maxIndexedDims is the largest dimension pgvector indexes for the
// halfvec type; a larger space is searched exactly, without an index.
const maxIndexedDims = 4000

// lockSpace reads the embedding space, holding its row against a
// concurrent SetEmbeddingSpace until the transaction ends, so that no
// vector of an old space is written after the change.
func lockSpace(ctx context.Context, tx pgx.Tx) (engine.EmbeddingSpace, error) {
	var sp engine.EmbeddingSpace
	err := tx.QueryRow(ctx, lockSpaceSQL).Scan(&sp.Model, &sp.Dimensions)
	return sp, err
}

// lockSpaceSQL reads the space for lockSpace.
const lockSpaceSQL = `SELECT model, dims FROM embedding_space WHERE id = 1 FOR SHARE`

// GetChunks returns a document's chunks in order, with embeddings.
func (s *Store) GetChunks(ctx context.Context, userID, path string) ([]engine.Chunk, error) {
	if err := docKey("get chunks of", userID, path); err != nil {
		return nil, err
	}
	out, err := queryAll(ctx, s, scanChunkVector, `SELECT `+chunkCols+`, v.embedding
		FROM documents d JOIN chunks c ON c.doc_id = d.id LEFT JOIN chunk_vectors v ON v.chunk_id = c.id
		WHERE d.user_id = $1 AND d.path = $2 ORDER BY c.seq`, userID, path)
	if err != nil {
		return nil, fmt.Errorf("postgres: chunks of %q of %q: %w", path, userID, err)
	}
	return out, nil
}

// ChunksToEmbed lists up to limit chunks of a user without an embedding,
// in id order (from embed_queue).
func (s *Store) ChunksToEmbed(ctx context.Context, userID string, limit int) ([]engine.Chunk, error) {
	if userID == "" || limit <= 0 {
		return nil, fmt.Errorf("postgres: chunks to embed: need a user id and a positive limit, got %q/%d", userID, limit)
	}
	out, err := queryAll(ctx, s, scanChunk, `SELECT `+chunkCols+` FROM embed_queue q
		JOIN chunks c ON c.id = q.chunk_id JOIN documents d ON d.id = c.doc_id
		WHERE q.user_id = $1 ORDER BY q.chunk_id LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: chunks to embed of %q: %w", userID, err)
	}
	return out, nil
}

// SetEmbeddings stores vectors of a user's chunks, all or none, in one
// statement; ids of other users' or deleted chunks are skipped. The
// vectors are staged: searchable at once, in the vector index once the
// absorber has moved them (absorb.go).
func (s *Store) SetEmbeddings(ctx context.Context, userID string, embs []engine.ChunkEmbedding) error {
	if userID == "" {
		return errors.New("postgres: set embeddings: user id is empty")
	}
	if len(embs) == 0 {
		return nil
	}
	ids := make([]int64, len(embs))
	vecs := make([]pgvector.Vector, len(embs))
	for i, e := range embs {
		ids[i], vecs[i] = e.ChunkID, pgvector.NewVector(e.Vector)
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		sp, err := lockSpace(ctx, tx)
		if err != nil {
			return err
		}
		for _, e := range embs {
			if sp.Dimensions == 0 || len(e.Vector) != sp.Dimensions {
				return fmt.Errorf("chunk %d: vector of %d dimensions, space %q has %d: %w",
					e.ChunkID, len(e.Vector), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch)
			}
		}
		_, err = tx.Exec(ctx, upsertVectorsSQL, ids, vecs, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: set embeddings of %q: %w", userID, s.poolErr(err))
	}
	s.noteVectors(ctx, len(embs))
	return nil
}

// upsertVectorsSQL stores vectors ($2) of a user's ($3) chunks ($1),
// staged (see absorb.go), and takes the chunks off embed_queue; ids of
// other users' or deleted chunks are skipped. A vector equal to the stored
// one leaves its row (and its place in the index) as it is.
const upsertVectorsSQL = `WITH u AS (SELECT c.id, c.user_id, c.path, u.v
		FROM unnest($1::bigint[], $2::vector[]) AS u(id, v) JOIN chunks c ON c.id = u.id
		WHERE c.user_id = $3),
	ins AS (INSERT INTO chunk_vectors AS cv (chunk_id, user_id, path, embedding)
		SELECT id, user_id, path, v FROM u
		ON CONFLICT (chunk_id) DO UPDATE SET embedding = excluded.embedding, indexed = false
		WHERE cv.embedding <> excluded.embedding)
	DELETE FROM embed_queue q USING u WHERE q.chunk_id = u.id`

// EmbeddingSpace returns the space of the stored vectors.
func (s *Store) EmbeddingSpace(ctx context.Context) (engine.EmbeddingSpace, error) {
	if err := s.check(ctx); err != nil {
		return engine.EmbeddingSpace{}, err
	}
	var sp engine.EmbeddingSpace
	if err := s.pool.QueryRow(ctx, `SELECT model, dims FROM embedding_space WHERE id = 1`).Scan(&sp.Model, &sp.Dimensions); err != nil {
		return sp, fmt.Errorf("postgres: embedding space: %w", s.poolErr(err))
	}
	return sp, nil
}

// SetEmbeddingSpace records the space of the vectors. When it changes, the
// same transaction drops every vector and the vector index (whose lists
// were learnt from the old vectors, and whose dimension may no longer
// fit); the index is built again when the new space has enough vectors
// (vecindex.go).
func (s *Store) SetEmbeddingSpace(ctx context.Context, sp engine.EmbeddingSpace) (bool, error) {
	if sp.Dimensions < 0 || (sp.Model == "") != (sp.Dimensions == 0) {
		return false, fmt.Errorf("postgres: set embedding space: need a model and positive dimensions (or neither), got %q/%d",
			sp.Model, sp.Dimensions)
	}
	changed := false
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var cur engine.EmbeddingSpace
		if err := tx.QueryRow(ctx, `SELECT model, dims FROM embedding_space WHERE id = 1 FOR UPDATE`).
			Scan(&cur.Model, &cur.Dimensions); err != nil {
			return err
		}
		if cur == sp {
			return nil
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE embedding_space SET model = $1, dims = $2, index_vectors = 0, index_lists = 0 WHERE id = 1`,
			sp.Model, sp.Dimensions)
		for _, name := range vecIndexNames {
			b.Queue(`DROP INDEX IF EXISTS ` + name)
			b.Queue(`DROP INDEX IF EXISTS ` + name + `_new`)
		}
		b.Queue(`DELETE FROM chunk_vectors`)
		b.Queue(`INSERT INTO embed_queue (chunk_id, user_id) SELECT id, user_id FROM chunks ON CONFLICT DO NOTHING`)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("postgres: set embedding space %q/%d: %w", sp.Model, sp.Dimensions, s.poolErr(err))
	}
	if changed {
		s.log.Info("postgres: embedding space changed; vectors dropped for re-embedding",
			"model", sp.Model, "dimensions", sp.Dimensions)
	}
	return changed, nil
}

// MemoryStats counts documents and chunks of a user, or of everyone when
// userID is "".
func (s *Store) MemoryStats(ctx context.Context, userID string) (engine.MemoryStats, error) {
	if err := s.check(ctx); err != nil {
		return engine.MemoryStats{}, err
	}
	var st engine.MemoryStats
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM documents WHERE $1 = '' OR user_id = $1),
		(SELECT count(*) FROM documents WHERE ($1 = '' OR user_id = $1) AND indexed_version <> version),
		(SELECT count(*) FROM document_versions v JOIN documents d ON d.id = v.doc_id WHERE $1 = '' OR d.user_id = $1),
		(SELECT count(*) FROM chunks WHERE $1 = '' OR user_id = $1),
		(SELECT count(*) FROM chunk_vectors WHERE $1 = '' OR user_id = $1),
		(SELECT COALESCE(sum(size), 0) FROM documents WHERE $1 = '' OR user_id = $1)`, userID).
		Scan(&st.Documents, &st.DocumentsToIndex, &st.Versions, &st.Chunks, &st.ChunksEmbedded, &st.Bytes)
	if err != nil {
		return st, fmt.Errorf("postgres: memory stats: %w", s.poolErr(err))
	}
	return st, nil
}

// CachedEmbeddings returns cached vectors of sp by content hash.
func (s *Store) CachedEmbeddings(ctx context.Context, sp engine.EmbeddingSpace, hashes []string) (map[string][]float32, error) {
	out := map[string][]float32{}
	if len(hashes) == 0 {
		return out, nil
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT hash, vector FROM embedding_cache
		WHERE model = $1 AND dims = $2 AND hash = ANY($3)`, sp.Model, sp.Dimensions, hashes)
	if err != nil {
		return nil, fmt.Errorf("postgres: cached embeddings: %w", s.poolErr(err))
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var v pgvector.Vector
		if err := rows.Scan(&h, &v); err != nil {
			return nil, fmt.Errorf("postgres: cached embeddings: %w", err)
		}
		if vec := v.Slice(); len(vec) == sp.Dimensions {
			out[h] = vec
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: cached embeddings: %w", s.poolErr(err))
	}
	return out, nil
}

// CacheEmbeddings stores vectors of sp by content hash, in one statement.
func (s *Store) CacheEmbeddings(ctx context.Context, sp engine.EmbeddingSpace, vectors map[string][]float32) error {
	if sp.Model == "" || sp.Dimensions <= 0 {
		return fmt.Errorf("postgres: cache embeddings: need a model and positive dimensions, got %q/%d", sp.Model, sp.Dimensions)
	}
	hashes := make([]string, 0, len(vectors))
	vecs := make([]pgvector.Vector, 0, len(vectors))
	for h, v := range vectors {
		if len(v) != sp.Dimensions {
			return fmt.Errorf("postgres: cache embeddings: %q: vector of %d dimensions, want %d: %w",
				h, len(v), sp.Dimensions, engine.ErrDimensionMismatch)
		}
		hashes = append(hashes, h)
		vecs = append(vecs, pgvector.NewVector(v))
	}
	if len(vectors) == 0 {
		return nil
	}
	if err := s.check(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO embedding_cache (model, dims, hash, vector, created_at)
		SELECT $1, $2, u.hash, u.v, $5 FROM unnest($3::text[], $4::vector[]) AS u(hash, v)
		ON CONFLICT (model, dims, hash) DO UPDATE SET vector = excluded.vector, created_at = excluded.created_at`,
		sp.Model, sp.Dimensions, hashes, vecs, ts(s.now()))
	if err != nil {
		return fmt.Errorf("postgres: cache embeddings: %w", s.poolErr(err))
	}
	return nil
}

func scanChunk(r pgx.Row) (engine.Chunk, error) {
	var c engine.Chunk
	var updated time.Time
	if err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated); err != nil {
		return engine.Chunk{}, err
	}
	c.UpdatedAt = updated.UTC()
	return c, nil
}

func scanChunkVector(r pgx.Row) (engine.Chunk, error) {
	var c engine.Chunk
	var updated time.Time
	var emb *pgvector.Vector
	if err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated, &emb); err != nil {
		return engine.Chunk{}, err
	}
	c.UpdatedAt = updated.UTC()
	if emb != nil {
		c.Embedding = emb.Slice()
	}
	return c, nil
}
