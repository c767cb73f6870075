package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

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
// which FTS5 later merges, and appends to the write-ahead log.
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

// replacement is what one transaction does to the chunks of its
// documents, and what the in-memory vector index learns after the commit.
type replacement struct {
	userID  string
	removed []int64             // chunks gone, or whose vector went
	added   map[int64][]float32 // vectors set
	dropped int                 // chunks deleted
}

// replaceChunks is ReplaceChunksBatch without the argument checks.
//
// An old chunk that a new one repeats exactly (same position, heading,
// text, offsets and hash: an append leaves every chunk but the last ones
// as they were) keeps its row and its full-text entry; only its vector is
// brought in line. The others are deleted and the new ones inserted.
//
// The statements run in an order that keeps FTS5 from writing a segment
// per statement: FTS5 writes its pending terms whenever a statement opens a
// savepoint (any statement with RETURNING or a trigger does), so every
// such statement (deleting old chunks, whose trigger removes their
// full-text rows; inserting the new rows with RETURNING) runs before the
// first full-text insert, and the full-text rows are inserted last, as
// plain single-row INSERTs, which the commit writes as one segment.
func (s *Store) replaceChunks(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	errs := make([]error, len(docs))
	var r replacement
	var gen int64
	err := s.txThen(ctx, func(ctx context.Context) error {
		r = replacement{userID: userID, added: map[int64][]float32{}}
		sp, _, err := s.space(ctx, s.w.mem.getSpace)
		if err != nil {
			return err
		}
		// Check every document; keep or delete its old chunks. ids[i][j]
		// is the row of chunks[i][j], 0 until inserted.
		docIDs := make([]int64, len(docs))
		ids := make([][]int64, len(docs))
		for i, d := range docs {
			if errs[i], err = s.checkReplace(ctx, userID, d, chunks[i], sp, &docIDs[i]); err != nil {
				return err
			}
			if errs[i] != nil {
				continue
			}
			ids[i] = make([]int64, len(chunks[i]))
			if err := s.keepUnchanged(ctx, &r, docIDs[i], chunks[i], ids[i]); err != nil {
				return fmt.Errorf("%s: %w", d.Path, err)
			}
		}
		// Insert the new rows, then their full-text entries.
		inserted := make([][]bool, len(docs))
		n := 0
		for i := range docs {
			if errs[i] != nil {
				continue
			}
			inserted[i] = make([]bool, len(chunks[i]))
			for j, c := range chunks[i] {
				if ids[i][j] != 0 {
					continue // kept
				}
				if ids[i][j], err = s.insertChunk(ctx, &r, docIDs[i], j, c); err != nil {
					return fmt.Errorf("%s: chunk %d: %w", docs[i].Path, j, err)
				}
				inserted[i][j] = true
				n++
			}
		}
		for i := range docs {
			if errs[i] != nil {
				continue
			}
			for j, c := range chunks[i] {
				if !inserted[i][j] {
					continue
				}
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
		return s.w.mem.bumpUserGen.QueryRowContext(ctx, userID, n-r.dropped).Scan(&gen)
	}, func() {
		if gen > 0 {
			s.vec.apply(userID, gen, r.removed, r.added)
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

// oldChunk is a stored chunk as keepUnchanged compares it.
type oldChunk struct {
	id                  int64
	seq, start, end     int
	heading, text, hash string
	vector              []byte // nil: none
}

// keepUnchanged keeps the document's old chunks that chunks repeat
// exactly, setting ids[seq] to their rows and bringing their vectors in
// line with the new chunks' (set, replaced, or dropped and queued for
// embedding), and deletes the others.
func (s *Store) keepUnchanged(ctx context.Context, r *replacement, docID int64, chunks []engine.Chunk, ids []int64) error {
	olds, err := queryAll(ctx, s, s.w.mem.oldChunks, func(sc scanner) (oldChunk, error) {
		var o oldChunk
		return o, sc.Scan(&o.id, &o.seq, &o.heading, &o.text, &o.start, &o.end, &o.hash, &o.vector)
	}, docID)
	if err != nil {
		return err
	}
	var drop []int64
	for _, o := range olds {
		if o.seq >= len(chunks) || !o.repeats(chunks[o.seq]) {
			drop = append(drop, o.id)
			continue
		}
		ids[o.seq] = o.id
		if err := s.alignVector(ctx, r, o, chunks[o.seq].Embedding); err != nil {
			return err
		}
	}
	switch {
	case len(drop) == 0:
	case len(drop) == len(olds):
		_, err = s.w.mem.deleteDocChunks.ExecContext(ctx, docID)
	default:
		for _, id := range drop {
			if _, err = s.w.mem.deleteChunk.ExecContext(ctx, id); err != nil {
				break
			}
		}
	}
	if err != nil {
		return err
	}
	r.removed = append(r.removed, drop...)
	r.dropped += len(drop)
	return nil
}

// repeats reports whether c is the same chunk at the same place.
func (o oldChunk) repeats(c engine.Chunk) bool {
	return o.start == c.Start && o.end == c.End && o.hash == c.Hash && o.heading == c.Heading && o.text == c.Text
}

// alignVector gives a kept chunk the vector v (nil: none, and the chunk
// waits to be embedded).
func (s *Store) alignVector(ctx context.Context, r *replacement, o oldChunk, v []float32) error {
	switch {
	case v == nil && o.vector == nil:
		return nil
	case v == nil:
		if _, err := s.w.mem.deleteVector.ExecContext(ctx, o.id); err != nil {
			return err
		}
		_, err := s.w.mem.queueEmbed.ExecContext(ctx, o.id, r.userID)
		r.removed = append(r.removed, o.id)
		return err
	}
	enc := encodeVector(v).([]byte)
	if bytes.Equal(enc, o.vector) {
		return nil
	}
	if _, err := s.w.mem.upsertVector.ExecContext(ctx, o.id, r.userID, enc); err != nil {
		return err
	}
	r.added[o.id] = v
	if o.vector != nil {
		return nil
	}
	_, err := s.w.mem.unqueueEmbed.ExecContext(ctx, o.id)
	return err
}

// insertChunk inserts a new chunk at position seq with its vector, or
// queued for embedding, and returns its id.
func (s *Store) insertChunk(ctx context.Context, r *replacement, docID int64, seq int, c engine.Chunk) (int64, error) {
	var id int64
	if err := s.w.mem.insertChunk.QueryRowContext(ctx, docID, r.userID, seq, c.Heading, c.Text, c.Start, c.End,
		c.Hash).Scan(&id); err != nil {
		return 0, err
	}
	var err error
	if c.Embedding != nil {
		_, err = s.w.mem.insertVector.ExecContext(ctx, id, r.userID, encodeVector(c.Embedding))
		r.added[id] = c.Embedding
	} else {
		_, err = s.w.mem.queueEmbed.ExecContext(ctx, id, r.userID)
	}
	return id, err
}
