package memory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/chunk"
)

// chunkBatcher is a store that replaces the chunks of several documents in
// one transaction (memory/sqlite.Store.ReplaceChunksBatch): docs[i] names
// a document by Path and Version, chunks[i] are its new chunks, and
// errs[i] says why a document was left alone (ErrConflict, ErrNotFound,
// ErrDimensionMismatch) while the others were replaced. Indexing uses it
// when the store has it: a commit per document costs more than the
// document's chunks (a full-text segment, a log sync).
type chunkBatcher interface {
	ReplaceChunksBatch(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) (errs []error, err error)
}

// Bounds of one pass of the chunking loop: documents asked for at once,
// and the content chunked before it is stored (a batch of large documents
// is stored in several transactions). A batch holds the store's writer
// while it is stored, so its size also bounds how long a reply's writes
// may wait behind indexing: 1 MiB of text is some 30 ms of work, about
// what one document of the largest size took alone.
const (
	docsPerPass   = 32
	maxBatchBytes = 1 << 20
)

// maxPasses bounds the re-reads of a user's changed documents in one
// chunkUser call (a document rewritten faster than it is indexed).
const maxPasses = 20

// indexUser chunks the user's changed documents and embeds what lacks a
// vector.
func (x *indexer) indexUser(ctx context.Context, userID string) error {
	if err := x.chunkUser(ctx, userID); err != nil {
		return err
	}
	if x.vectorSpace().Dimensions > 0 {
		return x.embedUser(ctx, userID)
	}
	return nil
}

// chunkUser chunks the user's changed documents, taking vectors of
// unchanged text from the cache.
func (x *indexer) chunkUser(ctx context.Context, userID string) error {
	x.chunkMu.Lock()
	defer x.chunkMu.Unlock()
	sp := x.vectorSpace()
	for pass := 0; ; pass++ {
		docs, err := x.m.store.DocumentsToIndex(ctx, userID, docsPerPass)
		if err != nil {
			x.setErr(err)
			return err
		}
		if len(docs) == 0 {
			break
		}
		if pass == maxPasses {
			x.notify(userID)
			break
		}
		if err := x.indexDocuments(ctx, userID, docs, sp); err != nil {
			x.setErr(err)
			return err
		}
	}
	x.setErr(nil)
	return nil
}

// pieceHash identifies the embedded text of a piece (the hex SHA-256 of
// p.EmbedText()) for the embedding cache, building that text in *buf
// (reused from piece to piece) rather than in a new string.
func pieceHash(p chunk.Piece, buf *[]byte) string {
	b := (*buf)[:0]
	if p.Heading != "" {
		b = append(append(b, p.Heading...), "\n\n"...)
	}
	b = append(b, p.Text...)
	*buf = b
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// docChunks is a document chunked at one version.
type docChunks struct {
	doc    engine.Document // Path and Version
	chunks []engine.Chunk
}

// indexDocuments chunks the documents at their current versions and
// stores their chunks, with cached vectors where the text was embedded
// before, in batches of about x.batchBytes of content.
func (x *indexer) indexDocuments(ctx context.Context, userID string, docs []engine.Document, sp engine.EmbeddingSpace) error {
	var batch []docChunks
	size := 0
	for _, d := range docs {
		dc, ok, err := x.chunkDocument(ctx, userID, d.Path)
		if err != nil {
			return err
		}
		if !ok {
			continue // deleted meanwhile
		}
		batch = append(batch, dc)
		size += int(dc.doc.Size)
		if size >= x.batchBytes {
			if err := x.storeChunks(ctx, userID, batch, sp); err != nil {
				return err
			}
			batch, size = batch[:0], 0
		}
	}
	return x.storeChunks(ctx, userID, batch, sp)
}

// chunkDocument reads a document and splits it; ok is false when it is
// gone.
func (x *indexer) chunkDocument(ctx context.Context, userID, path string) (docChunks, bool, error) {
	d, err := x.m.store.GetDocument(ctx, userID, path)
	if errors.Is(err, engine.ErrNotFound) {
		return docChunks{}, false, nil
	}
	if err != nil {
		return docChunks{}, false, err
	}
	pieces := chunk.Split(d.Content, x.m.o.Chunk)
	chunks := make([]engine.Chunk, len(pieces))
	var buf []byte
	for i, p := range pieces {
		chunks[i] = engine.Chunk{Heading: p.Heading, Text: p.Text, Start: p.Start, End: p.End, Hash: pieceHash(p, &buf)}
	}
	return docChunks{doc: engine.Document{Path: d.Path, Version: d.Version, Size: d.Size}, chunks: chunks}, true, nil
}

// storeChunks stores the chunks of a batch of documents, with the cached
// vectors of their texts. A document that changed or went away meanwhile
// is skipped (the next pass sees it); when the embedding space changed
// under the batch (another process), its documents are stored without
// vectors, which are embedded once the space settles again.
func (x *indexer) storeChunks(ctx context.Context, userID string, batch []docChunks, sp engine.EmbeddingSpace) error {
	if len(batch) == 0 {
		return nil
	}
	if sp.Dimensions > 0 {
		if err := x.attachCached(ctx, batch, sp); err != nil {
			return err
		}
	}
	refused, err := x.replace(ctx, userID, batch)
	if err != nil {
		return err
	}
	var again []docChunks
	for i, r := range refused {
		switch {
		case r == nil, errors.Is(r, engine.ErrConflict), errors.Is(r, engine.ErrNotFound):
		case errors.Is(r, engine.ErrDimensionMismatch):
			dc := batch[i]
			for j := range dc.chunks {
				dc.chunks[j].Embedding = nil
			}
			again = append(again, dc)
		default:
			return r
		}
	}
	if len(again) == 0 {
		return nil
	}
	refused, err = x.replace(ctx, userID, again)
	if err != nil {
		return err
	}
	for _, r := range refused {
		if r != nil && !errors.Is(r, engine.ErrConflict) && !errors.Is(r, engine.ErrNotFound) {
			return r
		}
	}
	return nil
}

// attachCached sets the vectors of the batch's chunks whose text is in the
// embedding cache, in one lookup.
func (x *indexer) attachCached(ctx context.Context, batch []docChunks, sp engine.EmbeddingSpace) error {
	var hashes []string
	for _, dc := range batch {
		for _, c := range dc.chunks {
			hashes = append(hashes, c.Hash)
		}
	}
	if len(hashes) == 0 {
		return nil
	}
	cached, err := x.m.store.CachedEmbeddings(ctx, sp, hashes)
	if err != nil {
		return err
	}
	for _, dc := range batch {
		for j := range dc.chunks {
			dc.chunks[j].Embedding = cached[dc.chunks[j].Hash]
		}
	}
	return nil
}

// replace stores the batch in one transaction when the store can, else
// document by document; refused[i] is why batch[i] was not stored.
func (x *indexer) replace(ctx context.Context, userID string, batch []docChunks) (refused []error, err error) {
	if b, ok := x.m.store.(chunkBatcher); ok {
		docs := make([]engine.Document, len(batch))
		chunks := make([][]engine.Chunk, len(batch))
		for i, dc := range batch {
			docs[i], chunks[i] = dc.doc, dc.chunks
		}
		return b.ReplaceChunksBatch(ctx, userID, docs, chunks)
	}
	refused = make([]error, len(batch))
	for i, dc := range batch {
		err := x.m.store.ReplaceChunks(ctx, userID, dc.doc.Path, dc.doc.Version, dc.chunks)
		if errors.Is(err, engine.ErrConflict) || errors.Is(err, engine.ErrNotFound) || errors.Is(err, engine.ErrDimensionMismatch) {
			refused[i] = err
		} else if err != nil {
			return nil, err
		}
	}
	return refused, nil
}
