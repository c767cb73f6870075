package memory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/chunk"
	"github.com/hearthbot/hearth/memory/sqlite"
)

// unbatched hides every ability of the sqlite store but engine.MemoryStore
// (ReplaceChunksBatch among them), as a backend without it would look.
type unbatched struct{ engine.MemoryStore }

// TestIndexingWithoutBatches: a store without ReplaceChunksBatch is
// indexed document by document, with the same result.
func TestIndexingWithoutBatches(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	emb := newTestEmbedder(16)
	m, err := New(Options{Store: unbatched{env.store}, Embedder: emb, NoSeed: true, Now: env.m.o.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.store.(chunkBatcher); ok {
		t.Fatal("the wrapper still offers ReplaceChunksBatch")
	}
	for i := range 5 {
		if _, err := m.Write(ctx, "u1", fmt.Sprintf("notes/%d.md", i), fmt.Sprintf("# Note %d\nwalrus number %d", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.IndexNow(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	st, err := env.store.MemoryStats(ctx, "u1")
	if err != nil || st.Chunks != 5 || st.ChunksEmbedded != 5 || st.DocumentsToIndex != 0 {
		t.Fatalf("stats = %+v, %v; want 5 chunks, all embedded, nothing to index", st, err)
	}
	res, err := m.Search(ctx, "u1", "walrus number 3", SearchOptions{Limit: 1})
	if err != nil || len(res.Hits) != 1 || res.Hits[0].Chunk.Path != "notes/3.md" {
		t.Errorf("Search = %+v, %v", res, err)
	}
}

// racingStore rewrites a document once, just before the first batch of
// chunks is stored: the batch's chunks of that document are stale.
type racingStore struct {
	*sqlite.Store
	once    sync.Once
	path    string
	content string
	err     error
}

func (r *racingStore) ReplaceChunksBatch(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	r.once.Do(func() {
		_, r.err = r.WriteDocument(ctx, engine.DocumentWrite{UserID: userID, Path: r.path, Content: r.content})
	})
	return r.Store.ReplaceChunksBatch(ctx, userID, docs, chunks)
}

// TestDocumentRewrittenWhileIndexed: a document that changes while its
// chunks are being stored is skipped by that batch, the others are stored,
// and the same IndexNow indexes the new version.
func TestDocumentRewrittenWhileIndexed(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	rs := &racingStore{Store: env.store, path: "b.md", content: "the new text mentions a narwhal"}
	m, err := New(Options{Store: rs, NoSeed: true, Now: env.m.o.Now})
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string]string{"a.md": "a walrus", "b.md": "the old text mentions a walrus", "c.md": "another walrus"} {
		if _, err := m.Write(ctx, "u1", path, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.IndexNow(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if rs.err != nil {
		t.Fatal(rs.err)
	}
	st, err := env.store.MemoryStats(ctx, "u1")
	if err != nil || st.DocumentsToIndex != 0 || st.Chunks != 3 {
		t.Fatalf("stats = %+v, %v; want 3 chunks, nothing left to index", st, err)
	}
	chunks, err := env.store.GetChunks(ctx, "u1", "b.md")
	if err != nil || len(chunks) != 1 || !strings.Contains(chunks[0].Text, "narwhal") {
		t.Errorf("b.md chunks = %+v, %v; want the new version's", chunks, err)
	}
	res, err := m.Search(ctx, "u1", "walrus", SearchOptions{})
	if err != nil || len(res.Hits) != 2 {
		t.Errorf("walrus hits = %+v, %v; want a.md and c.md", res.Hits, err)
	}
}

// TestEmbeddingFailsPartWay: when the embedder fails after some calls,
// the vectors it returned are kept (on the chunks and in the cache), and
// the next pass embeds only the rest.
func TestEmbeddingFailsPartWay(t *testing.T) {
	ctx := context.Background()
	emb := newTestEmbedder(16)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb, EmbedBatch: 4})
	env.index(t, "u1") // settles the space
	emb.set(func(e *testEmbedder) { e.failAfter = 2 })
	for i := range 10 {
		env.write(t, "u1", fmt.Sprintf("n%d.md", i), fmt.Sprintf("note number %d about otters", i))
	}
	if err := env.m.IndexNow(ctx, "u1"); !errors.Is(err, errDown) {
		t.Fatalf("IndexNow with the embedder failing on its third call = %v, want errDown", err)
	}
	st, err := env.store.MemoryStats(ctx, "u1")
	if err != nil || st.Chunks != 10 || st.ChunksEmbedded != 8 {
		t.Fatalf("stats = %+v, %v; want 10 chunks, the 8 of the first two calls embedded", st, err)
	}
	_, texts := emb.counts()
	emb.set(func(e *testEmbedder) { e.failAfter = 0 })
	env.index(t, "u1")
	_, texts2 := emb.counts()
	st, _ = env.store.MemoryStats(ctx, "u1")
	if st.ChunksEmbedded != 10 || texts2-texts != 2 {
		t.Errorf("after recovery: %d embedded, %d texts embedded again; want 10 and 2", st.ChunksEmbedded, texts2-texts)
	}
}

// TestSameTextEmbeddedOnce: chunks of equal text in one pass cost one
// embedding.
func TestSameTextEmbeddedOnce(t *testing.T) {
	ctx := context.Background()
	emb := newTestEmbedder(16)
	env := newEnv(t, Options{NoSeed: true, Embedder: emb})
	for _, p := range []string{"a.md", "b.md", "c.md"} {
		env.write(t, "u1", p, "# Same\nthe very same words")
	}
	env.index(t, "u1")
	calls, texts := emb.counts()
	st, err := env.store.MemoryStats(ctx, "u1")
	if err != nil || st.ChunksEmbedded != 3 || texts != 1 {
		t.Errorf("%d chunks embedded with %d texts in %d calls (%v); want 3 with 1", st.ChunksEmbedded, texts, calls, err)
	}
}

// chunkHash is the hash of an embedded text, computed plainly.
func chunkHash(embedText string) string {
	h := sha256.Sum256([]byte(embedText))
	return hex.EncodeToString(h[:])
}

// TestPieceHash: the hash of a piece is the hash of its embedded text,
// with or without a heading, whatever the buffer held before.
func TestPieceHash(t *testing.T) {
	buf := []byte("left over from a longer piece of text")
	for _, p := range []chunk.Piece{{Heading: "Trip > Packing", Text: "hat"}, {Text: "no heading"}, {Heading: "H", Text: ""}} {
		if got, want := pieceHash(p, &buf), chunkHash(p.EmbedText()); got != want {
			t.Errorf("pieceHash(%+v) = %s, want %s", p, got, want)
		}
	}
}

// countingStore counts the batches stored.
type countingStore struct {
	*sqlite.Store
	mu      sync.Mutex
	batches []int // documents per call
}

func (c *countingStore) ReplaceChunksBatch(ctx context.Context, userID string, docs []engine.Document, chunks [][]engine.Chunk) ([]error, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(docs))
	c.mu.Unlock()
	return c.Store.ReplaceChunksBatch(ctx, userID, docs, chunks)
}

// TestIndexingInSeveralBatches: a pass whose documents exceed the batch
// size stores them in several transactions, all of them.
func TestIndexingInSeveralBatches(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	cs := &countingStore{Store: env.store}
	m, err := New(Options{Store: cs, Embedder: newTestEmbedder(16), NoSeed: true, Now: env.m.o.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.idx.batchBytes = 100 // three documents a batch
	for i := range 7 {
		if _, err := m.Write(ctx, "u1", fmt.Sprintf("n%d.md", i), fmt.Sprintf("# Note %d\nthe %d-th note names a walrus", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.IndexNow(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cs.batches, []int{3, 3, 1}) {
		t.Errorf("documents per batch = %v, want [3 3 1]", cs.batches)
	}
	st, err := env.store.MemoryStats(ctx, "u1")
	if err != nil || st.Chunks != 7 || st.ChunksEmbedded != 7 || st.DocumentsToIndex != 0 {
		t.Fatalf("stats = %+v, %v; want 7 chunks, all embedded, nothing to index", st, err)
	}
	res, err := m.Search(ctx, "u1", "walrus", SearchOptions{Limit: 10})
	if err != nil || len(res.Hits) != 7 {
		t.Errorf("walrus hits = %d (%v), want 7", len(res.Hits), err)
	}
}
