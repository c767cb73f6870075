package memory

import (
	"context"
	"fmt"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/chunk"
)

// embedFetch is how many chunks without a vector the embedding loop reads
// at once. They are embedded EmbedBatch per call and their vectors are
// stored (in the cache and on the chunks) in one transaction each, so the
// store commits twice per embedFetch chunks, not per call.
const embedFetch = 256

// embedUser embeds the user's chunks that lack a vector.
func (x *indexer) embedUser(ctx context.Context, userID string) error {
	x.embedMu.Lock()
	defer x.embedMu.Unlock()
	sp := x.vectorSpace()
	if sp.Dimensions == 0 {
		return nil
	}
	if err := x.embedPending(ctx, userID, sp); err != nil {
		x.setErr(err)
		return err
	}
	x.setErr(nil)
	return nil
}

// embedPending embeds the user's chunks that have no vector, through the
// cache: a text is embedded once however many chunks hold it, and never
// when the cache has its vector. When the embedder fails part-way, the
// vectors it did return are stored before the error is.
func (x *indexer) embedPending(ctx context.Context, userID string, sp engine.EmbeddingSpace) error {
	batch := x.m.o.EmbedBatch
	for {
		todo, err := x.m.store.ChunksToEmbed(ctx, userID, max(embedFetch, batch))
		if err != nil || len(todo) == 0 {
			return err
		}
		hashes := make([]string, len(todo))
		for i, c := range todo {
			hashes[i] = c.Hash
		}
		vectors, err := x.m.store.CachedEmbeddings(ctx, sp, hashes)
		if err != nil {
			return err
		}
		var need []string // hashes to embed, each once
		var texts []string
		queued := map[string]bool{}
		for _, c := range todo {
			if vectors[c.Hash] == nil && !queued[c.Hash] {
				queued[c.Hash] = true
				need = append(need, c.Hash)
				texts = append(texts, chunk.Piece{Heading: c.Heading, Text: c.Text}.EmbedText())
			}
		}
		fresh := map[string][]float32{}
		var embedErr error
		for i := 0; i < len(texts) && embedErr == nil; i += batch {
			j := min(i+batch, len(texts))
			embedErr = x.embedTexts(ctx, sp, texts[i:j], need[i:j], fresh)
		}
		if len(fresh) > 0 {
			if err := x.m.store.CacheEmbeddings(ctx, sp, fresh); err != nil {
				return err
			}
		}
		var embs []engine.ChunkEmbedding
		for _, c := range todo {
			v := vectors[c.Hash]
			if v == nil {
				v = fresh[c.Hash]
			}
			if v != nil {
				embs = append(embs, engine.ChunkEmbedding{ChunkID: c.ID, Vector: v})
			}
		}
		if err := x.m.store.SetEmbeddings(ctx, userID, embs); err != nil {
			return err
		}
		if embedErr != nil {
			return embedErr
		}
	}
}

// embedTexts embeds texts in one call and adds the vectors to out by the
// texts' hashes.
func (x *indexer) embedTexts(ctx context.Context, sp engine.EmbeddingSpace, texts, hashes []string, out map[string][]float32) error {
	vs, err := x.m.o.Embedder.Embed(ctx, texts)
	if err != nil {
		return fmt.Errorf("embedding %d chunks: %w", len(texts), err)
	}
	if len(vs) != len(texts) {
		return fmt.Errorf("embedding %d chunks: the embedder returned %d vectors", len(texts), len(vs))
	}
	for _, v := range vs {
		if len(v) != sp.Dimensions {
			return fmt.Errorf("embedding: %s returned %d dimensions, the index holds %d: %w",
				sp.Model, len(v), sp.Dimensions, engine.ErrDimensionMismatch)
		}
	}
	for i, v := range vs {
		out[hashes[i]] = v
	}
	return nil
}
