package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// testMemoryIsolation gives two users the same paths and words: no read,
// list, search, version, chunk or count of one ever shows the other's.
func testMemoryIsolation(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	for _, u := range []string{"u1", "u2"} {
		secret := "secret of " + u
		mustWrite(t, m, engine.DocumentWrite{UserID: u, Path: "MEMORY.md", Content: "old " + secret})
		indexDoc(t, m, u, "MEMORY.md", at(0), engine.Chunk{Heading: u, Text: "sister Ana " + secret, Embedding: []float32{1, 0, 0, 0}})
		indexDoc(t, m, u, "notes/"+u+".md", at(0), engine.Chunk{Text: "only " + u})
	}
	// A third user who has nothing sees nothing.
	s := m.(engine.Store)
	mustUser(t, s, "u3", engine.RoleMember, at(0))

	for _, u := range []string{"u1", "u2", "u3"} {
		other := map[string]string{"u1": "u2", "u2": "u1", "u3": "u1"}[u]
		leak := func(what, text string) {
			t.Helper()
			if strings.Contains(text, "of "+other) || strings.Contains(text, "only "+other) {
				t.Errorf("%s of %s shows %s's data: %q", what, u, other, text)
			}
		}
		d, err := m.GetDocument(ctx, u, "MEMORY.md")
		if u == "u3" {
			wantErr(t, "u3 GetDocument", err, engine.ErrNotFound)
		} else {
			must(t, "GetDocument", err)
			leak("GetDocument", d.Content)
		}
		_, err = m.GetDocument(ctx, u, "notes/"+other+".md")
		wantErr(t, u+" GetDocument of the other's path", err, engine.ErrNotFound)
		list, err := m.ListDocuments(ctx, u, "")
		must(t, "ListDocuments", err)
		for _, d := range list {
			leak("ListDocuments", d.Path)
			if d.UserID != u {
				t.Errorf("ListDocuments of %s returned a document of %s", u, d.UserID)
			}
		}
		vs, err := m.ListVersions(ctx, u, "MEMORY.md")
		must(t, "ListVersions", err)
		for _, v := range vs {
			full, err := m.GetVersion(ctx, u, "MEMORY.md", v.Version)
			must(t, "GetVersion", err)
			leak("GetVersion", full.Content)
		}
		for _, q := range []string{"sister Ana secret", "only " + other, other} {
			hits, err := m.FullTextSearch(ctx, u, q, engine.SearchOptions{Limit: 50})
			must(t, "FullTextSearch", err)
			for _, h := range hits {
				leak("FullTextSearch "+q, h.Chunk.Text)
				if h.Chunk.UserID != u {
					t.Errorf("FullTextSearch of %s returned a chunk of %s", u, h.Chunk.UserID)
				}
			}
		}
		hits, err := m.VectorSearch(ctx, u, []float32{1, 0, 0, 0}, engine.SearchOptions{Limit: 50})
		must(t, "VectorSearch", err)
		if u == "u3" && len(hits) != 0 {
			t.Errorf("VectorSearch of u3 = %d hits, want none", len(hits))
		}
		for _, h := range hits {
			leak("VectorSearch", h.Chunk.Text)
		}
		chunks, err := m.GetChunks(ctx, u, "notes/"+other+".md")
		must(t, "GetChunks", err)
		if len(chunks) != 0 {
			t.Errorf("GetChunks of %s read %s's chunks", u, other)
		}
		todo, err := m.ChunksToEmbed(ctx, u, 50)
		must(t, "ChunksToEmbed", err)
		for _, c := range todo {
			leak("ChunksToEmbed", c.Text)
		}
		st, err := m.MemoryStats(ctx, u)
		must(t, "MemoryStats", err)
		wantDocs := map[string]int{"u1": 2, "u2": 2, "u3": 0}[u]
		if st.Documents != wantDocs {
			t.Errorf("MemoryStats(%s).Documents = %d, want %d", u, st.Documents, wantDocs)
		}
	}
	// Writes and deletes of one user never touch the other's.
	wantErr(t, "u1 deletes u2's note", m.DeleteDocument(ctx, "u1", "notes/u2.md"), engine.ErrNotFound)
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/u2.md", Content: "u1's own"})
	d, err := m.GetDocument(ctx, "u2", "notes/u2.md")
	must(t, "GetDocument u2", err)
	if d.Content != "only u2\n" {
		t.Errorf("u2's note = %q after u1 wrote the same path", d.Content)
	}
	must(t, "u1 deletes its MEMORY.md", m.DeleteDocument(ctx, "u1", "MEMORY.md"))
	hits, _ := m.FullTextSearch(ctx, "u2", "sister", engine.SearchOptions{Limit: 5})
	if len(hits) != 1 {
		t.Errorf("u2 lost its chunks when u1 deleted the same path: %d hits", len(hits))
	}
	hits, _ = m.VectorSearch(ctx, "u2", []float32{1, 0, 0, 0}, engine.SearchOptions{Limit: 5})
	if len(hits) != 1 {
		t.Errorf("u2 lost its vectors when u1 deleted the same path: %d hits", len(hits))
	}
	for _, bad := range []func() error{
		func() error {
			_, err := m.FullTextSearch(ctx, "", "sister", engine.SearchOptions{Limit: 5})
			return err
		},
		func() error {
			_, err := m.VectorSearch(ctx, "", []float32{1, 0, 0, 0}, engine.SearchOptions{Limit: 5})
			return err
		},
		func() error { _, err := m.ListDocuments(ctx, "", ""); return err },
		func() error { _, err := m.GetDocument(ctx, "", "MEMORY.md"); return err },
		func() error { _, err := m.ChunksToEmbed(ctx, "", 5); return err },
	} {
		if bad() == nil {
			t.Error("a call with an empty user id succeeded")
		}
	}
}

// testMemoryConcurrentWriters appends, overwrites, indexes and searches
// from many goroutines at once: every append lands, versions count every
// change, and nothing fails.
func testMemoryConcurrentWriters(t *testing.T, h Harness) {
	const workers, rounds = 8, 15
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	var errs collect
	run(workers, func(w int) {
		for i := range rounds {
			line := fmt.Sprintf("w%d-%d\n", w, i)
			if _, err := m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "daily/log.md", Content: line, Mode: engine.WriteAppend}); err != nil {
				errs.add("append %s: %v", line, err)
				return
			}
			path := fmt.Sprintf("w%d.md", w)
			d, err := m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: path, Content: fmt.Sprintf("walrus %d %d", w, i)})
			if err != nil {
				errs.add("overwrite %s: %v", path, err)
				return
			}
			if err := m.ReplaceChunks(ctx, "u1", path, d.Version, []engine.Chunk{{Text: fmt.Sprintf("walrus %d %d", w, i), Hash: path,
				Embedding: []float32{float32(w + 1), float32(i), 0, 1}}}); err != nil {
				errs.add("ReplaceChunks %s: %v", path, err)
				return
			}
			if _, err := m.FullTextSearch(ctx, "u1", "walrus", engine.SearchOptions{Limit: 5}); err != nil {
				errs.add("FullTextSearch: %v", err)
			}
			if _, err := m.VectorSearch(ctx, "u1", []float32{1, 1, 0, 0}, engine.SearchOptions{Limit: 5}); err != nil {
				errs.add("VectorSearch: %v", err)
			}
		}
	})
	errs.report(t)
	if t.Failed() {
		return
	}
	d, err := m.GetDocument(ctx, "u1", "daily/log.md")
	must(t, "GetDocument", err)
	lines := strings.Split(strings.TrimSuffix(d.Content, "\n"), "\n")
	if len(lines) != workers*rounds || d.Version != workers*rounds {
		t.Fatalf("log has %d lines at version %d, want %d and %d", len(lines), d.Version, workers*rounds, workers*rounds)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	for w := range workers {
		for i := range rounds {
			if !seen[fmt.Sprintf("w%d-%d", w, i)] {
				t.Errorf("append w%d-%d lost", w, i)
			}
		}
	}
	hits, err := m.FullTextSearch(ctx, "u1", "walrus", engine.SearchOptions{Limit: 50})
	must(t, "FullTextSearch", err)
	if len(hits) != workers {
		t.Errorf("FullTextSearch finds %d chunks, want %d (one per document)", len(hits), workers)
	}
	vec, err := m.VectorSearch(ctx, "u1", []float32{1, 0, 0, 0}, engine.SearchOptions{Limit: 50})
	must(t, "VectorSearch", err)
	if len(vec) != workers {
		t.Errorf("VectorSearch finds %d chunks, want %d", len(vec), workers)
	}
	for w := range workers {
		vs, err := m.ListVersions(ctx, "u1", fmt.Sprintf("w%d.md", w))
		must(t, "ListVersions", err)
		if len(vs) != rounds-1 {
			t.Errorf("w%d.md has %d versions, want %d", w, len(vs), rounds-1)
		}
	}
}

func testMemoryStats(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustSpace(t, m, space4)
	indexDoc(t, m, "u1", "a.md", at(0), engine.Chunk{Text: "one", Embedding: []float32{1, 0, 0, 0}}, engine.Chunk{Text: "two"})
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "changed"})
	mustWrite(t, m, engine.DocumentWrite{UserID: "u2", Path: "b.md", Content: "xyz"})
	st, err := m.MemoryStats(ctx, "u1")
	must(t, "MemoryStats", err)
	want := engine.MemoryStats{Documents: 1, DocumentsToIndex: 1, Versions: 1, Chunks: 2, ChunksEmbedded: 1, Bytes: 7}
	if st != want {
		t.Errorf("MemoryStats(u1) = %+v, want %+v", st, want)
	}
	// Many calls in a row return every connection they take.
	for range 50 {
		if _, err := m.MemoryStats(ctx, "u1"); err != nil {
			t.Fatal(err)
		}
	}
	all, err := m.MemoryStats(ctx, "")
	must(t, "MemoryStats all", err)
	want = engine.MemoryStats{Documents: 2, DocumentsToIndex: 2, Versions: 1, Chunks: 2, ChunksEmbedded: 1, Bytes: 10}
	if all != want {
		t.Errorf("MemoryStats(all) = %+v, want %+v", all, want)
	}
}

// testMemoryPersistence: documents, versions, chunks, vectors, the space
// and the cache survive a reopen, and vector search works at once.
func testMemoryPersistence(t *testing.T, h Harness) {
	r, ok := h.(Reopener)
	if !ok {
		t.Skip("harness cannot reopen stores")
	}
	ctx := t.Context()
	s, m := memSetup(t, h)
	mustSpace(t, m, space4)
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "USER.md", Content: "v1", At: at(0)})
	indexDoc(t, m, "u1", "USER.md", at(time.Hour), engine.Chunk{Text: "sister Ana", Embedding: []float32{0, 1, 0, 0}})
	must(t, "CacheEmbeddings", m.CacheEmbeddings(ctx, space4, map[string][]float32{"h": {1, 2, 3, 4}}))
	// Search once so that a backend with an in-memory index builds it.
	if _, err := m.VectorSearch(ctx, "u1", []float32{0, 1, 0, 0}, engine.SearchOptions{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	s2, err := r.Reopen(ctx, t, s)
	must(t, "Reopen", err)
	m2 := s2.(engine.MemoryStore)
	d, err := m2.GetDocument(ctx, "u1", "USER.md")
	must(t, "GetDocument", err)
	if d.Version != 2 || d.IndexedVersion != 2 {
		t.Errorf("after reopen: version %d indexed %d, want 2, 2", d.Version, d.IndexedVersion)
	}
	vs, _ := m2.ListVersions(ctx, "u1", "USER.md")
	if len(vs) != 1 {
		t.Errorf("after reopen: %d versions, want 1", len(vs))
	}
	sp, _ := m2.EmbeddingSpace(ctx)
	if sp != space4 {
		t.Errorf("after reopen: space %+v", sp)
	}
	hits, err := m2.VectorSearch(ctx, "u1", []float32{0, 1, 0, 0}, engine.SearchOptions{Limit: 1})
	must(t, "VectorSearch after reopen", err)
	if len(hits) != 1 || hits[0].Chunk.Text != "sister Ana" {
		t.Errorf("VectorSearch after reopen = %+v", hits)
	}
	hits, _ = m2.FullTextSearch(ctx, "u1", "ana", engine.SearchOptions{Limit: 1})
	if len(hits) != 1 {
		t.Errorf("FullTextSearch after reopen = %d hits", len(hits))
	}
	c, _ := m2.CachedEmbeddings(ctx, space4, []string{"h"})
	if len(c) != 1 {
		t.Error("the embedding cache did not survive a reopen")
	}
}
