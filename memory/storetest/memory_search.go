package storetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory"
)

// space4 is the embedding space of the suite's hand-made vectors.
var space4 = engine.EmbeddingSpace{Model: "test-embed", Dimensions: 4}

func mustSpace(t *testing.T, m engine.MemoryStore, sp engine.EmbeddingSpace) {
	t.Helper()
	if _, err := m.SetEmbeddingSpace(t.Context(), sp); err != nil {
		t.Fatalf("SetEmbeddingSpace %+v: %v", sp, err)
	}
}

// indexDoc writes a document and stores its chunks at its version.
func indexDoc(t *testing.T, m engine.MemoryStore, user, path string, at time.Time, chunks ...engine.Chunk) {
	t.Helper()
	content := ""
	for i := range chunks {
		chunks[i].Start = len(content)
		content += chunks[i].Text + "\n"
		chunks[i].End = len(content) - 1
		if chunks[i].Hash == "" {
			chunks[i].Hash = fmt.Sprintf("hash-%s-%d", path, i)
		}
	}
	d := mustWrite(t, m, engine.DocumentWrite{UserID: user, Path: path, Content: content, At: at})
	if err := m.ReplaceChunks(t.Context(), user, path, d.Version, chunks); err != nil {
		t.Fatalf("ReplaceChunks %s/%s: %v", user, path, err)
	}
}

func hitPaths(hits []engine.ChunkHit) []string {
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.Chunk.Path
	}
	return out
}

func checkRanks(t *testing.T, what string, hits []engine.ChunkHit, method string) {
	t.Helper()
	for i, h := range hits {
		if h.Rank != i+1 || h.Method != method {
			t.Errorf("%s hit %d: Rank %d Method %q, want %d %q", what, i, h.Rank, h.Method, i+1, method)
		}
		if i > 0 && h.Score > hits[i-1].Score {
			t.Errorf("%s: hit %d scores %v above hit %d (%v)", what, i, h.Score, i-1, hits[i-1].Score)
		}
		if h.Chunk.Embedding != nil {
			t.Errorf("%s: hit %d carries its embedding", what, i)
		}
	}
}

func testChunks(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	indexDoc(t, m, "u1", "trip.md", at(time.Minute),
		engine.Chunk{Heading: "Trip", Text: "Lisbon in May", Embedding: []float32{1, 0, 0, 0}},
		engine.Chunk{Heading: "Trip > Packing", Text: "sunscreen and hat"})
	chunks, err := m.GetChunks(ctx, "u1", "trip.md")
	must(t, "GetChunks", err)
	if len(chunks) != 2 {
		t.Fatalf("GetChunks = %d chunks, want 2", len(chunks))
	}
	c0, c1 := chunks[0], chunks[1]
	if c0.Seq != 0 || c1.Seq != 1 || c0.Heading != "Trip" || c1.Heading != "Trip > Packing" ||
		c0.Text != "Lisbon in May" || c0.UserID != "u1" || c0.Path != "trip.md" || c0.Hash != "hash-trip.md-0" ||
		c0.Start != 0 || c0.End != 13 || c1.Start != 14 {
		t.Errorf("chunks = %+v", chunks)
	}
	if c0.ID <= 0 || c1.ID <= 0 || c0.ID == c1.ID {
		t.Errorf("chunk ids %d, %d: want distinct positive ids", c0.ID, c1.ID)
	}
	if len(c0.Embedding) != 4 || c0.Embedding[0] != 1 || c1.Embedding != nil {
		t.Errorf("embeddings = %v, %v; want [1 0 0 0] and nil", c0.Embedding, c1.Embedding)
	}
	checkTime(t, "chunk UpdatedAt", c0.UpdatedAt, at(time.Minute))

	// Re-chunking replaces every chunk.
	d, err := m.GetDocument(ctx, "u1", "trip.md")
	must(t, "GetDocument", err)
	must(t, "ReplaceChunks", m.ReplaceChunks(ctx, "u1", "trip.md", d.Version, []engine.Chunk{{Text: "only one", Hash: "h", End: 8}}))
	chunks, _ = m.GetChunks(ctx, "u1", "trip.md")
	if len(chunks) != 1 || chunks[0].Text != "only one" || chunks[0].Seq != 0 {
		t.Errorf("after replace: %+v", chunks)
	}
	hits, err := m.FullTextSearch(ctx, "u1", "sunscreen", engine.SearchOptions{Limit: 5})
	must(t, "FullTextSearch", err)
	if len(hits) != 0 {
		t.Errorf("replaced chunks still found: %+v", hits)
	}
	// A vector of the wrong dimension refuses the whole replacement.
	err = m.ReplaceChunks(ctx, "u1", "trip.md", d.Version, []engine.Chunk{{Text: "x", Hash: "x"}, {Text: "y", Hash: "y", Embedding: []float32{1, 2}}})
	wantErr(t, "ReplaceChunks with a wrong dimension", err, engine.ErrDimensionMismatch)
	chunks, _ = m.GetChunks(ctx, "u1", "trip.md")
	if len(chunks) != 1 || chunks[0].Text != "only one" {
		t.Errorf("a refused replacement changed the chunks: %+v", chunks)
	}
	must(t, "ReplaceChunks with none", m.ReplaceChunks(ctx, "u1", "trip.md", d.Version, nil))
	chunks, _ = m.GetChunks(ctx, "u1", "trip.md")
	if len(chunks) != 0 {
		t.Errorf("after replacing with none: %d chunks", len(chunks))
	}
}

func testEmbeddingSpace(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	sp, err := m.EmbeddingSpace(ctx)
	must(t, "EmbeddingSpace", err)
	if sp != (engine.EmbeddingSpace{}) {
		t.Errorf("initial space = %+v, want zero", sp)
	}
	// Without a space no vector is accepted.
	indexDoc(t, m, "u1", "a.md", at(0), engine.Chunk{Text: "alpha"})
	chunks, _ := m.GetChunks(ctx, "u1", "a.md")
	err = m.SetEmbeddings(ctx, "u1", []engine.ChunkEmbedding{{ChunkID: chunks[0].ID, Vector: []float32{1}}})
	wantErr(t, "SetEmbeddings without a space", err, engine.ErrDimensionMismatch)

	changed, err := m.SetEmbeddingSpace(ctx, space4)
	must(t, "SetEmbeddingSpace", err)
	if !changed {
		t.Error("first SetEmbeddingSpace reported no change")
	}
	must(t, "SetEmbeddings", m.SetEmbeddings(ctx, "u1", []engine.ChunkEmbedding{{ChunkID: chunks[0].ID, Vector: []float32{0, 1, 0, 0}}}))
	changed, err = m.SetEmbeddingSpace(ctx, space4)
	must(t, "SetEmbeddingSpace again", err)
	if changed {
		t.Error("SetEmbeddingSpace with the current space reported a change")
	}
	chunks, _ = m.GetChunks(ctx, "u1", "a.md")
	if chunks[0].Embedding == nil {
		t.Fatal("an unchanged space dropped the vectors")
	}
	// A new model drops every vector, so that everything is re-embedded.
	changed, err = m.SetEmbeddingSpace(ctx, engine.EmbeddingSpace{Model: "other", Dimensions: 4})
	must(t, "SetEmbeddingSpace other model", err)
	if !changed {
		t.Error("a new model reported no change")
	}
	chunks, _ = m.GetChunks(ctx, "u1", "a.md")
	if chunks[0].Embedding != nil {
		t.Error("a change of model kept the old vectors")
	}
	todo, err := m.ChunksToEmbed(ctx, "u1", 10)
	must(t, "ChunksToEmbed", err)
	if len(todo) != 1 {
		t.Errorf("ChunksToEmbed after a model change = %d, want 1", len(todo))
	}
	sp, _ = m.EmbeddingSpace(ctx)
	if sp.Model != "other" || sp.Dimensions != 4 {
		t.Errorf("space = %+v", sp)
	}
	for _, bad := range []engine.EmbeddingSpace{{Model: "m"}, {Dimensions: 3}, {Model: "m", Dimensions: -1}} {
		if _, err := m.SetEmbeddingSpace(ctx, bad); err == nil {
			t.Errorf("SetEmbeddingSpace %+v succeeded", bad)
		}
	}
}

func testEmbeddings(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	indexDoc(t, m, "u1", "a.md", at(0), engine.Chunk{Text: "one"}, engine.Chunk{Text: "two"}, engine.Chunk{Text: "three"})
	indexDoc(t, m, "u2", "b.md", at(0), engine.Chunk{Text: "other"})
	todo, err := m.ChunksToEmbed(ctx, "u1", 2)
	must(t, "ChunksToEmbed", err)
	if len(todo) != 2 || todo[0].Text != "one" || todo[1].Text != "two" || todo[0].Path != "a.md" || todo[0].Embedding != nil {
		t.Fatalf("ChunksToEmbed(2) = %+v, want one, two", todo)
	}
	foreign, _ := m.ChunksToEmbed(ctx, "u2", 10)
	if len(foreign) != 1 {
		t.Fatalf("u2 ChunksToEmbed = %d", len(foreign))
	}
	// A wrong dimension refuses the batch; another user's id is skipped.
	err = m.SetEmbeddings(ctx, "u1", []engine.ChunkEmbedding{{ChunkID: todo[0].ID, Vector: []float32{1, 0, 0, 0}}, {ChunkID: todo[1].ID, Vector: []float32{1}}})
	wantErr(t, "SetEmbeddings with a wrong dimension", err, engine.ErrDimensionMismatch)
	again, _ := m.ChunksToEmbed(ctx, "u1", 10)
	if len(again) != 3 {
		t.Errorf("a refused batch stored vectors: %d left to embed, want 3", len(again))
	}
	must(t, "SetEmbeddings", m.SetEmbeddings(ctx, "u1", []engine.ChunkEmbedding{
		{ChunkID: todo[0].ID, Vector: []float32{1, 0, 0, 0}},
		{ChunkID: todo[1].ID, Vector: []float32{0, 1, 0, 0}},
		{ChunkID: foreign[0].ID, Vector: []float32{0, 0, 1, 0}},
		{ChunkID: 1 << 40, Vector: []float32{0, 0, 1, 0}},
	}))
	left, _ := m.ChunksToEmbed(ctx, "u1", 10)
	if len(left) != 1 || left[0].Text != "three" {
		t.Errorf("ChunksToEmbed after SetEmbeddings = %+v, want three", left)
	}
	foreign, _ = m.ChunksToEmbed(ctx, "u2", 10)
	if len(foreign) != 1 {
		t.Error("SetEmbeddings of u1 wrote a vector of u2's chunk")
	}
	must(t, "SetEmbeddings empty", m.SetEmbeddings(ctx, "u1", nil))
	if _, err := m.ChunksToEmbed(ctx, "u1", 0); err == nil {
		t.Error("ChunksToEmbed with limit 0 succeeded")
	}
}

func testEmbeddingCache(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	must(t, "CacheEmbeddings", m.CacheEmbeddings(ctx, space4, map[string][]float32{
		"h1": {1, 2, 3, 4}, "h2": {0.5, 0, 0, -1},
	}))
	got, err := m.CachedEmbeddings(ctx, space4, []string{"h1", "h2", "h3"})
	must(t, "CachedEmbeddings", err)
	if len(got) != 2 || got["h1"][3] != 4 || got["h2"][3] != -1 {
		t.Errorf("CachedEmbeddings = %v", got)
	}
	other, err := m.CachedEmbeddings(ctx, engine.EmbeddingSpace{Model: "other", Dimensions: 4}, []string{"h1"})
	must(t, "CachedEmbeddings other model", err)
	if len(other) != 0 {
		t.Errorf("the cache answered for another model: %v", other)
	}
	err = m.CacheEmbeddings(ctx, space4, map[string][]float32{"h3": {1, 2, 3, 4}, "h4": {1}})
	wantErr(t, "CacheEmbeddings wrong dimension", err, engine.ErrDimensionMismatch)
	got, _ = m.CachedEmbeddings(ctx, space4, []string{"h3"})
	if len(got) != 0 {
		t.Error("a refused cache batch stored a vector")
	}
	must(t, "CacheEmbeddings replace", m.CacheEmbeddings(ctx, space4, map[string][]float32{"h1": {9, 9, 9, 9}}))
	got, _ = m.CachedEmbeddings(ctx, space4, []string{"h1"})
	if got["h1"][0] != 9 {
		t.Errorf("replaced entry = %v", got["h1"])
	}
	empty, err := m.CachedEmbeddings(ctx, space4, nil)
	must(t, "CachedEmbeddings of none", err)
	if len(empty) != 0 {
		t.Errorf("CachedEmbeddings(nil) = %v", empty)
	}
}

func testFullTextSearch(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	indexDoc(t, m, "u1", "zoo/zebras.md", at(0), engine.Chunk{Heading: "Zebras", Text: "zebra zebra zebra stripes grass"})
	indexDoc(t, m, "u1", "zoo/mixed.md", at(0), engine.Chunk{Text: "zebra lion tiger bear grass"})
	indexDoc(t, m, "u1", "other.md", at(0), engine.Chunk{Text: "nothing relevant here at all"})
	hits, err := m.FullTextSearch(ctx, "u1", "ZEBRA", engine.SearchOptions{Limit: 10})
	must(t, "FullTextSearch", err)
	if !equalStrings(hitPaths(hits), []string{"zoo/zebras.md", "zoo/mixed.md"}) {
		t.Fatalf("FullTextSearch(ZEBRA) = %v, want zebras.md then mixed.md", hitPaths(hits))
	}
	checkRanks(t, "fts", hits, engine.MethodFullText)
	if hits[0].Chunk.Text != "zebra zebra zebra stripes grass" || hits[0].Chunk.Heading != "Zebras" || hits[0].Chunk.UserID != "u1" {
		t.Errorf("hit chunk = %+v", hits[0].Chunk)
	}
	// Any word matches; limit and prefix narrow.
	hits, _ = m.FullTextSearch(ctx, "u1", "tiger relevant", engine.SearchOptions{Limit: 10})
	if len(hits) != 2 {
		t.Errorf("FullTextSearch(tiger relevant) = %v, want 2 hits", hitPaths(hits))
	}
	hits, _ = m.FullTextSearch(ctx, "u1", "grass", engine.SearchOptions{Limit: 1})
	if len(hits) != 1 {
		t.Errorf("Limit 1 returned %d hits", len(hits))
	}
	hits, _ = m.FullTextSearch(ctx, "u1", "grass nothing", engine.SearchOptions{Limit: 10, PathPrefix: "zoo/"})
	if len(hits) != 2 || hits[0].Chunk.Path[:4] != "zoo/" || hits[1].Chunk.Path[:4] != "zoo/" {
		t.Errorf("PathPrefix zoo/ = %v", hitPaths(hits))
	}
	// Query syntax of any backend is just text; no words, no hits.
	for _, q := range []string{`zebra" OR *`, `NOT zebra`, `zebra AND (`, `"unterminated`, `-zebra:*`, `owner:u1`, `zebra'; DROP TABLE chunks; --`, `{heading}: zebra^`} {
		hits, err := m.FullTextSearch(ctx, "u1", q, engine.SearchOptions{Limit: 10})
		if err != nil {
			t.Errorf("FullTextSearch(%q): %v", q, err)
		}
		_ = hits
	}
	for _, q := range []string{"", "   ", "!!! ??? ...", "\u200b"} {
		hits, err := m.FullTextSearch(ctx, "u1", q, engine.SearchOptions{Limit: 10})
		if err != nil || len(hits) != 0 {
			t.Errorf("FullTextSearch(%q) = %v, %v; want no hits, no error", q, hitPaths(hits), err)
		}
	}
	if _, err := m.FullTextSearch(ctx, "u1", "zebra", engine.SearchOptions{}); err == nil {
		t.Error("FullTextSearch with limit 0 succeeded")
	}
	hits, _ = m.FullTextSearch(ctx, "u1", "zebra's", engine.SearchOptions{Limit: 10})
	if len(hits) != 2 {
		t.Errorf("FullTextSearch(zebra's) = %v, want both zebra chunks", hitPaths(hits))
	}
}

// testFullTextSearchCrowded: another user's chunks that rank above all
// of the user's (the same word, more often) never hide the user's own
// matches, whatever the backend does to be fast.
func testFullTextSearchCrowded(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	var many []engine.Chunk
	for i := range 40 {
		many = append(many, engine.Chunk{Text: fmt.Sprintf("zebra zebra zebra zebra number %d", i)})
	}
	indexDoc(t, m, "u2", "herd.md", at(0), many...)
	indexDoc(t, m, "u1", "mine.md", at(0), engine.Chunk{Text: "a zebra among many other words in a longer chunk of text"},
		engine.Chunk{Text: "and one more zebra with plenty of other words around it too"})
	for _, limit := range []int{1, 2, 5} {
		hits, err := m.FullTextSearch(ctx, "u1", "zebra", engine.SearchOptions{Limit: limit})
		must(t, "FullTextSearch", err)
		if want := min(limit, 2); len(hits) != want {
			t.Fatalf("limit %d: %d hits, want %d (the user's own)", limit, len(hits), want)
		}
		for _, h := range hits {
			if h.Chunk.UserID != "u1" || h.Chunk.Path != "mine.md" {
				t.Errorf("limit %d: hit of %s/%s", limit, h.Chunk.UserID, h.Chunk.Path)
			}
		}
		checkRanks(t, "crowded fts", hits, engine.MethodFullText)
	}
}

// unit returns v scaled to length 1.
func unit(v ...float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

func testVectorSearch(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	_, err := m.VectorSearch(ctx, "u1", []float32{1, 0, 0, 0}, engine.SearchOptions{Limit: 3})
	wantErr(t, "VectorSearch without a space", err, engine.ErrDimensionMismatch)
	mustSpace(t, m, space4)
	indexDoc(t, m, "u1", "v/a.md", at(0), engine.Chunk{Text: "a", Embedding: []float32{2, 0, 0, 0}})
	indexDoc(t, m, "u1", "v/b.md", at(0), engine.Chunk{Text: "b", Embedding: []float32{1, 1, 0, 0}})
	indexDoc(t, m, "u1", "c.md", at(0), engine.Chunk{Text: "c", Embedding: []float32{0, 0, 1, 0}})
	indexDoc(t, m, "u1", "d.md", at(0), engine.Chunk{Text: "d", Embedding: []float32{-1, 0, 0, 0}})
	indexDoc(t, m, "u1", "e.md", at(0), engine.Chunk{Text: "not embedded"})
	hits, err := m.VectorSearch(ctx, "u1", []float32{3, 0.1, 0, 0}, engine.SearchOptions{Limit: 10})
	must(t, "VectorSearch", err)
	if !equalStrings(hitPaths(hits), []string{"v/a.md", "v/b.md", "c.md", "d.md"}) {
		t.Fatalf("VectorSearch = %v, want a, b, c, d", hitPaths(hits))
	}
	checkRanks(t, "vector", hits, engine.MethodVector)
	q := []float32{3, 0.1, 0, 0}
	wants := []float64{cos(q, []float32{2, 0, 0, 0}), cos(q, []float32{1, 1, 0, 0}), 0, -cos(q, []float32{2, 0, 0, 0})}
	for i, w := range wants {
		if math.Abs(hits[i].Score-w) > 1e-4 {
			t.Errorf("hit %d score = %v, want the exact cosine %v", i, hits[i].Score, w)
		}
	}
	hits, _ = m.VectorSearch(ctx, "u1", q, engine.SearchOptions{Limit: 1})
	if len(hits) != 1 || hits[0].Chunk.Path != "v/a.md" {
		t.Errorf("Limit 1 = %v", hitPaths(hits))
	}
	hits, _ = m.VectorSearch(ctx, "u1", []float32{0, 0, 1, 0}, engine.SearchOptions{Limit: 10, PathPrefix: "v/"})
	if !equalStrings(hitPaths(hits), []string{"v/b.md", "v/a.md"}) && !equalStrings(hitPaths(hits), []string{"v/a.md", "v/b.md"}) {
		t.Errorf("PathPrefix v/ = %v, want only v/a.md and v/b.md", hitPaths(hits))
	}
	_, err = m.VectorSearch(ctx, "u1", []float32{1, 0}, engine.SearchOptions{Limit: 3})
	wantErr(t, "VectorSearch with a wrong dimension", err, engine.ErrDimensionMismatch)
	// Changes are seen at once: a deleted document is gone, a new vector found.
	must(t, "DeleteDocument", m.DeleteDocument(ctx, "u1", "v/a.md"))
	indexDoc(t, m, "u1", "f.md", at(0), engine.Chunk{Text: "f", Embedding: []float32{1, 0.01, 0, 0}})
	hits, _ = m.VectorSearch(ctx, "u1", q, engine.SearchOptions{Limit: 2})
	if !equalStrings(hitPaths(hits), []string{"f.md", "v/b.md"}) {
		t.Errorf("after delete and add: %v, want f.md, v/b.md", hitPaths(hits))
	}
	chunks, _ := m.GetChunks(ctx, "u1", "e.md")
	must(t, "SetEmbeddings", m.SetEmbeddings(ctx, "u1", []engine.ChunkEmbedding{{ChunkID: chunks[0].ID, Vector: []float32{1, 0.2, 0, 0}}}))
	hits, _ = m.VectorSearch(ctx, "u1", q, engine.SearchOptions{Limit: 3})
	if !equalStrings(hitPaths(hits), []string{"f.md", "e.md", "v/b.md"}) {
		t.Errorf("after SetEmbeddings: %v, want f.md, e.md, v/b.md", hitPaths(hits))
	}
	// A model change empties the vector search until re-embedded.
	mustSpace(t, m, engine.EmbeddingSpace{Model: "new", Dimensions: 4})
	hits, err = m.VectorSearch(ctx, "u1", q, engine.SearchOptions{Limit: 3})
	must(t, "VectorSearch after a model change", err)
	if len(hits) != 0 {
		t.Errorf("VectorSearch after a model change = %v, want nothing", hitPaths(hits))
	}
}

func cos(a, b []float32) float64 {
	var d, na, nb float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return d / math.Sqrt(na*nb)
}

// testHybridRanking fuses both rankings of a fixed corpus: the chunk that
// both methods find ranks first although neither ranks it first.
//
//	full text "zebra": c1 (three times), c2 (once)
//	vector (1,0,0,0):  c3 (1.0), c2 (0.9), c4 (0.5), c1 (0.1)
//	RRF k=60:          c2 1/62+1/62, c1 1/61+1/64, c3 1/61, c4 1/63
func testHybridRanking(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	indexDoc(t, m, "u1", "c1.md", at(0), engine.Chunk{Text: "zebra zebra zebra stripes grass", Embedding: unit(0.1, 0, 0, 0.99498744)})
	indexDoc(t, m, "u1", "c2.md", at(0), engine.Chunk{Text: "zebra lion tiger bear grass", Embedding: unit(0.9, 0.43588989, 0, 0)})
	indexDoc(t, m, "u1", "c3.md", at(0), engine.Chunk{Text: "horses in the field today", Embedding: unit(1, 0, 0, 0)})
	indexDoc(t, m, "u1", "c4.md", at(0), engine.Chunk{Text: "unrelated words entirely here", Embedding: unit(0.5, 0, 0.8660254, 0)})
	// u2 holds the same corpus: it must change nothing.
	indexDoc(t, m, "u2", "c1.md", at(0), engine.Chunk{Text: "zebra zebra zebra zebra zebra", Embedding: unit(1, 0, 0, 0)})
	q := []float32{1, 0, 0, 0}
	opts := engine.SearchOptions{Limit: 10}
	fts, err := m.FullTextSearch(ctx, "u1", "zebra", opts)
	must(t, "FullTextSearch", err)
	vec, err := m.VectorSearch(ctx, "u1", q, opts)
	must(t, "VectorSearch", err)
	if !equalStrings(hitPaths(fts), []string{"c1.md", "c2.md"}) {
		t.Fatalf("full-text ranking = %v, want c1, c2", hitPaths(fts))
	}
	if !equalStrings(hitPaths(vec), []string{"c3.md", "c2.md", "c4.md", "c1.md"}) {
		t.Fatalf("vector ranking = %v, want c3, c2, c4, c1", hitPaths(vec))
	}
	fused := memory.Fuse(60, 10, fts, vec)
	var paths []string
	for _, f := range fused {
		paths = append(paths, f.Chunk.Path)
	}
	want := []string{"c2.md", "c1.md", "c3.md", "c4.md"}
	if !equalStrings(paths, want) {
		t.Fatalf("fused ranking = %v, want %v", paths, want)
	}
	if math.Abs(fused[0].Score-2.0/62) > 1e-12 {
		t.Errorf("fused score of c2 = %v, want 2/62", fused[0].Score)
	}
	hs, ok := m.(engine.HybridSearcher)
	if !ok {
		return
	}
	hits, err := hs.HybridSearch(ctx, "u1", "zebra", q, engine.HybridOptions{SearchOptions: opts, K: 60, Candidates: 10})
	must(t, "HybridSearch", err)
	if !equalStrings(hitPaths(hits), want) {
		t.Fatalf("HybridSearch = %v, want %v (as memory.Fuse)", hitPaths(hits), want)
	}
	checkRanks(t, "hybrid", hits, engine.MethodHybrid)
	for i, f := range fused {
		if math.Abs(hits[i].Score-f.Score) > 1e-9 {
			t.Errorf("HybridSearch hit %d score %v, want %v", i, hits[i].Score, f.Score)
		}
	}
}
