package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/hearthbot/hearth/engine"
)

// ReplaceChunks replaces a document's chunks if it is still at version;
// see engine.ChunkStore and ReplaceChunksBatch.
func (s *Store) ReplaceChunks(ctx context.Context, userID, path string, version int64, chunks []engine.Chunk) error {
	if err := docKey("replace chunks of", userID, path); err != nil {
		return err
	}
	errs, err := s.replaceChunks(ctx, userID, []engine.Document{{Path: path, Version: version}}, [][]engine.Chunk{chunks})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		return fmt.Errorf("postgres: replace chunks of %q of %q: %w", path, userID, err)
	}
	return nil
}

// ReplaceChunksBatch replaces the chunks of several documents of a user in
// one transaction (package memory's indexer uses it when a store has it):
// docs[i] names a document by Path and Version (the other fields are
// ignored) and chunks[i] are its new chunks, each replaced as ReplaceChunks
// would. A document that cannot be replaced (its Version moved on:
// ErrConflict; it is gone: ErrNotFound; a vector does not fit the space:
// ErrDimensionMismatch) is left as it was and its error is errs[i]; the
// others are replaced. err is set, and nothing written, only when the
// transaction as a whole fails. A path may appear once.
//
// An old chunk that a new one repeats exactly (position, heading, text,
// offsets and hash: an append leaves every chunk but the last ones as they
// were) keeps its row, so neither its full-text nor its vector index
// entries are written again; only its vector is brought in line with the
// new chunk's. The others are deleted and the new ones copied in, all
// documents' in one COPY (and their vectors, staged, in another: see
// absorb.go).
func (s *Store) ReplaceChunksBatch(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) (errs []error, err error) {
	if userID == "" {
		return nil, errors.New("postgres: replace chunks: user id is empty")
	}
	if len(docs) != len(chunks) {
		return nil, fmt.Errorf("postgres: replace chunks: %d documents but %d chunk lists", len(docs), len(chunks))
	}
	seen := make(map[string]bool, len(docs))
	for _, d := range docs {
		if d.Path == "" {
			return nil, errors.New("postgres: replace chunks: a document has no path")
		}
		if seen[d.Path] {
			return nil, fmt.Errorf("postgres: replace chunks: document %q is in the batch twice", d.Path)
		}
		seen[d.Path] = true
	}
	errs, err = s.replaceChunks(ctx, userID, docs, chunks)
	if err != nil {
		return nil, fmt.Errorf("postgres: replace chunks of %d documents of %q: %w", len(docs), userID, err)
	}
	return errs, nil
}

// oldChunk is a stored chunk as replaceChunks compares it.
type oldChunk struct {
	id, doc             int64
	seq, start, end     int
	heading, text, hash string
	vector              []float32 // nil: none
}

// same reports whether c repeats the stored chunk, vector aside.
func (o oldChunk) same(c engine.Chunk) bool {
	return o.heading == c.Heading && o.text == c.Text && o.start == c.Start && o.end == c.End && o.hash == c.Hash
}

// replaceChunks is ReplaceChunksBatch without the argument checks. It
// locks the documents' rows in id order (so that concurrent batches never
// deadlock) and the embedding space's row (so that no vector of an old
// space is written after a change). The transaction makes two round trips
// besides BEGIN and COMMIT: one batch reads the documents, the space and
// the old chunks, one writes everything.
func (s *Store) replaceChunks(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	var errs []error
	vectors := 0 // vectors written (staged)
	paths := make([]string, len(docs))
	for i, d := range docs {
		paths[i] = d.Path
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		errs, vectors = make([]error, len(docs)), 0
		type docRow struct{ id, version int64 }
		found := map[string]docRow{}
		var sp engine.EmbeddingSpace
		var olds []oldChunk
		b := &pgx.Batch{}
		b.Queue(`SELECT id, path, version FROM documents
			WHERE user_id = $1 AND path = ANY($2) ORDER BY id FOR UPDATE`, userID, paths).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var r docRow
				var path string
				if err := rows.Scan(&r.id, &path, &r.version); err != nil {
					return err
				}
				found[path] = r
			}
			return rows.Err()
		})
		b.Queue(lockSpaceSQL).QueryRow(func(r pgx.Row) error { return r.Scan(&sp.Model, &sp.Dimensions) })
		b.Queue(`SELECT c.id, c.doc_id, c.seq, c.start_off, c.end_off, c.heading, c.text, c.hash, v.embedding
			FROM documents d JOIN chunks c ON c.doc_id = d.id LEFT JOIN chunk_vectors v ON v.chunk_id = c.id
			WHERE d.user_id = $1 AND d.path = ANY($2)`, userID, paths).Query(func(rows pgx.Rows) error {
			var err error
			olds, err = scanOld(rows)
			return err
		})
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		var ids, versions []int64 // the documents replaced
		docOf := map[int64]int{}  // document row id: index in docs
		for i, d := range docs {
			r, ok := found[d.Path]
			if !ok {
				errs[i] = fmt.Errorf("document %q: %w", d.Path, engine.ErrNotFound)
				continue
			}
			if r.version != d.Version {
				errs[i] = fmt.Errorf("document %q is at version %d, chunks are of %d: %w", d.Path, r.version, d.Version, engine.ErrConflict)
				continue
			}
			for j, c := range chunks[i] {
				if c.Embedding != nil && len(c.Embedding) != sp.Dimensions {
					errs[i] = fmt.Errorf("document %q: chunk %d: vector of %d dimensions, space %q has %d: %w",
						d.Path, j, len(c.Embedding), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch)
					break
				}
			}
			if errs[i] == nil {
				ids, versions = append(ids, r.id), append(versions, d.Version)
				docOf[r.id] = i
			}
		}
		if len(ids) == 0 {
			return nil
		}
		// Keep the old chunks the new ones repeat; delete the others.
		kept := make([]map[int]bool, len(docs)) // kept[i][seq]
		var drop, setIDs, clearIDs []int64
		var setVecs []pgvector.Vector
		for _, o := range olds {
			i, ok := docOf[o.doc]
			if !ok {
				continue // a document left as it was
			}
			if o.seq >= len(chunks[i]) || !o.same(chunks[i][o.seq]) {
				drop = append(drop, o.id)
				continue
			}
			if kept[i] == nil {
				kept[i] = map[int]bool{}
			}
			kept[i][o.seq] = true
			switch v := chunks[i][o.seq].Embedding; {
			case v == nil && o.vector != nil:
				clearIDs = append(clearIDs, o.id)
			case v != nil && !slices.Equal(v, o.vector):
				setIDs, setVecs = append(setIDs, o.id), append(setVecs, pgvector.NewVector(v))
			}
		}
		var fresh newChunks
		for _, id := range ids {
			i := docOf[id]
			for j, c := range chunks[i] {
				if !kept[i][j] {
					fresh.add(id, docs[i].Path, j, c)
				}
			}
		}
		b = &pgx.Batch{}
		if len(drop) > 0 {
			b.Queue(`DELETE FROM chunks WHERE id = ANY($1)`, drop)
		}
		if len(clearIDs) > 0 {
			b.Queue(`DELETE FROM chunk_vectors WHERE chunk_id = ANY($1)`, clearIDs)
			b.Queue(`INSERT INTO embed_queue (chunk_id, user_id) SELECT unnest($1::bigint[]), $2
				ON CONFLICT DO NOTHING`, clearIDs, userID)
		}
		if len(setIDs) > 0 {
			b.Queue(upsertVectorsSQL, setIDs, setVecs, userID)
			vectors += len(setIDs)
		}
		b.Queue(`UPDATE documents d SET indexed_version = u.v FROM unnest($1::bigint[], $2::bigint[]) AS u(id, v)
			WHERE d.id = u.id`, ids, versions)
		if len(fresh.doc) > 0 {
			b.Queue(insertChunksSQL, fresh.args(userID)...)
			vectors += len(fresh.vecs)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, s.poolErr(err)
	}
	s.noteVectors(ctx, vectors)
	return errs, nil
}

// scanOld reads stored chunks with their vectors.
func scanOld(rows pgx.Rows) ([]oldChunk, error) {
	var out []oldChunk
	for rows.Next() {
		var o oldChunk
		var v *pgvector.Vector
		if err := rows.Scan(&o.id, &o.doc, &o.seq, &o.start, &o.end, &o.heading, &o.text, &o.hash, &v); err != nil {
			return nil, err
		}
		if v != nil {
			o.vector = v.Slice()
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// newChunks are the chunks replaceChunks inserts, as the columns of
// insertChunksSQL; their vectors name them by (doc, seq), as do the
// entries of the chunks without one.
type newChunks struct {
	doc                 []int64
	path                []string
	seq, start, end     []int32
	heading, text, hash []string
	vecDoc, queueDoc    []int64
	vecSeq, queueSeq    []int32
	vecs                []pgvector.Vector
}

func (n *newChunks) add(doc int64, path string, seq int, c engine.Chunk) {
	n.doc, n.path, n.seq = append(n.doc, doc), append(n.path, path), append(n.seq, int32(seq))
	n.heading, n.text, n.hash = append(n.heading, c.Heading), append(n.text, c.Text), append(n.hash, c.Hash)
	n.start, n.end = append(n.start, int32(c.Start)), append(n.end, int32(c.End))
	if c.Embedding != nil {
		n.vecDoc, n.vecSeq, n.vecs = append(n.vecDoc, doc), append(n.vecSeq, int32(seq)), append(n.vecs, pgvector.NewVector(c.Embedding))
	} else {
		n.queueDoc, n.queueSeq = append(n.queueDoc, doc), append(n.queueSeq, int32(seq))
	}
}

func (n *newChunks) args(userID string) []any {
	return []any{userID, n.doc, n.path, n.seq, n.heading, n.text, n.start, n.end, n.hash,
		n.vecDoc, n.vecSeq, n.vecs, n.queueDoc, n.queueSeq}
}

// insertChunksSQL inserts new chunks (one statement: chunks, their vectors
// staged, and the others on embed_queue), the arguments newChunks.args.
const insertChunksSQL = `WITH ins AS (
		INSERT INTO chunks (doc_id, user_id, path, seq, heading, text, start_off, end_off, hash)
		SELECT u.doc_id, $1, u.path, u.seq, u.heading, u.text, u.start_off, u.end_off, u.hash
		FROM unnest($2::bigint[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::int[], $9::text[])
			AS u(doc_id, path, seq, heading, text, start_off, end_off, hash)
		RETURNING id, doc_id, path, seq),
	vec AS (
		INSERT INTO chunk_vectors (chunk_id, user_id, path, embedding)
		SELECT ins.id, $1, ins.path, v.v FROM ins
		JOIN unnest($10::bigint[], $11::int[], $12::vector[]) AS v(doc_id, seq, v) ON v.doc_id = ins.doc_id AND v.seq = ins.seq)
	INSERT INTO embed_queue (chunk_id, user_id)
	SELECT ins.id, $1 FROM ins
	JOIN unnest($13::bigint[], $14::int[]) AS q(doc_id, seq) ON q.doc_id = ins.doc_id AND q.seq = ins.seq`
