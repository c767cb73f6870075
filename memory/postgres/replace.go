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
// space is written after a change).
func (s *Store) replaceChunks(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	var errs []error
	vectors := 0 // vectors written to the index
	err := s.tx(ctx, func(tx pgx.Tx) error {
		errs, vectors = make([]error, len(docs)), 0
		paths := make([]string, len(docs))
		for i, d := range docs {
			paths[i] = d.Path
		}
		type docRow struct{ id, version int64 }
		found := map[string]docRow{}
		rows, err := tx.Query(ctx, `SELECT id, path, version FROM documents
			WHERE user_id = $1 AND path = ANY($2) ORDER BY id FOR UPDATE`, userID, paths)
		if err != nil {
			return err
		}
		for rows.Next() {
			var r docRow
			var path string
			if err := rows.Scan(&r.id, &path, &r.version); err != nil {
				rows.Close()
				return err
			}
			found[path] = r
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		sp, err := lockSpace(ctx, tx)
		if err != nil {
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
		olds, err := queryOld(ctx, tx, ids)
		if err != nil {
			return err
		}
		// Keep the old chunks the new ones repeat; delete the others.
		kept := make([]map[int]bool, len(docs)) // kept[i][seq]
		var drop, setIDs, clearIDs []int64
		var setVecs []pgvector.Vector
		for _, o := range olds {
			i := docOf[o.doc]
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
		fresh := 0 // new chunks, not kept
		for _, id := range ids {
			i := docOf[id]
			fresh += len(chunks[i]) - len(kept[i])
		}
		// The new chunks' ids, drawn before the COPY so that their vectors
		// and queue entries can name them.
		var newIDs []int64
		b := &pgx.Batch{}
		if fresh > 0 {
			b.Queue(`SELECT nextval(pg_get_serial_sequence('chunks', 'id')) FROM generate_series(1, $1)`, fresh).
				Query(func(rows pgx.Rows) error {
					var err error
					newIDs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
					return err
				})
		}
		if len(drop) > 0 {
			b.Queue(`DELETE FROM chunks WHERE id = ANY($1)`, drop)
		}
		if len(clearIDs) > 0 {
			b.Queue(`DELETE FROM chunk_vectors WHERE chunk_id = ANY($1)`, clearIDs)
			b.Queue(`INSERT INTO embed_queue (chunk_id, user_id) SELECT unnest($1::bigint[]), $2
				ON CONFLICT DO NOTHING`, clearIDs, userID)
		}
		b.Queue(`UPDATE documents d SET indexed_version = u.v FROM unnest($1::bigint[], $2::bigint[]) AS u(id, v)
			WHERE d.id = u.id`, ids, versions)
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		if len(newIDs) != fresh {
			return fmt.Errorf("drew %d chunk ids for %d chunks", len(newIDs), fresh)
		}
		if len(setIDs) > 0 {
			if err := upsertVectors(ctx, tx, userID, setIDs, setVecs); err != nil {
				return err
			}
			vectors += len(setIDs)
		}
		chunkRows := make([][]any, 0, fresh)
		var vectorRows, queueRows [][]any
		for _, id := range ids {
			i := docOf[id]
			for j, c := range chunks[i] {
				if kept[i][j] {
					continue
				}
				cid := newIDs[len(chunkRows)]
				chunkRows = append(chunkRows, []any{cid, id, userID, docs[i].Path, j, c.Heading, c.Text, c.Start, c.End, c.Hash})
				if c.Embedding != nil {
					vectorRows = append(vectorRows, []any{cid, userID, docs[i].Path, pgvector.NewVector(c.Embedding)})
				} else {
					queueRows = append(queueRows, []any{cid, userID})
				}
			}
		}
		vectors += len(vectorRows)
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"chunks", []string{"id", "doc_id", "user_id", "path", "seq", "heading", "text", "start_off", "end_off", "hash"}, chunkRows},
			{"chunk_vectors", []string{"chunk_id", "user_id", "path", "embedding"}, vectorRows},
			{"embed_queue", []string{"chunk_id", "user_id"}, queueRows},
		} {
			if len(c.rows) == 0 {
				continue
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.poolErr(err)
	}
	s.noteVectors(ctx, vectors)
	return errs, nil
}

// queryOld reads the stored chunks of the documents ids, with vectors.
func queryOld(ctx context.Context, tx pgx.Tx, ids []int64) ([]oldChunk, error) {
	rows, err := tx.Query(ctx, `SELECT c.id, c.doc_id, c.seq, c.start_off, c.end_off, c.heading, c.text, c.hash, v.embedding
		FROM chunks c LEFT JOIN chunk_vectors v ON v.chunk_id = c.id WHERE c.doc_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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
