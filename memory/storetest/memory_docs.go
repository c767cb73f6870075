package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// The memory part of the suite (engine.MemoryStore). It runs when the
// harness's stores implement engine.MemoryStore and pins down, beyond the
// doc comments of engine/memory.go:
//   - Size is the byte length of the content; ListDocuments and
//     ListVersions leave Content empty;
//   - a kept version's CreatedAt is the UpdatedAt of the content it holds
//     and its ReplacedAt the time of the overwrite;
//   - full-text ranking follows term frequency (a chunk naming the word
//     three times ranks above one of the same length naming it once) and
//     is case-insensitive;
//   - SetEmbeddingSpace with the current space reports false and keeps the
//     vectors.

// memoryTests are the memory conformance tests, run as subtests of
// "Memory".
var memoryTests = []struct {
	name string
	fn   func(*testing.T, Harness)
}{
	{"Documents", testDocuments},
	{"DocumentWriteConditions", testDocumentWriteConditions},
	{"DocumentVersions", testDocumentVersions},
	{"DocumentList", testDocumentList},
	{"DocumentDelete", testDocumentDelete},
	{"DocumentUnknownUser", testDocumentUnknownUser},
	{"DocumentsToIndex", testDocumentsToIndex},
	{"Chunks", testChunks},
	{"EmbeddingSpace", testEmbeddingSpace},
	{"Embeddings", testEmbeddings},
	{"EmbeddingCache", testEmbeddingCache},
	{"FullTextSearch", testFullTextSearch},
	{"FullTextSearchCrowded", testFullTextSearchCrowded},
	{"VectorSearch", testVectorSearch},
	{"HybridRanking", testHybridRanking},
	{"MemoryIsolation", testMemoryIsolation},
	{"MemoryConcurrentWriters", testMemoryConcurrentWriters},
	{"MemoryStats", testMemoryStats},
	{"MemoryPersistence", testMemoryPersistence},
}

// testMemory runs the memory tests, or skips them when the store does not
// implement engine.MemoryStore.
func testMemory(t *testing.T, h Harness) {
	s := newStore(t, h)
	if _, ok := s.(engine.MemoryStore); !ok {
		t.Skipf("%T does not implement engine.MemoryStore", s)
	}
	for _, tc := range memoryTests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// memSetup makes a store with users u1 and u2 and returns it as a
// MemoryStore.
func memSetup(t *testing.T, h Harness) (engine.Store, engine.MemoryStore) {
	t.Helper()
	s := newStore(t, h)
	mustUser(t, s, "u1", engine.RoleOwner, at(0))
	mustUser(t, s, "u2", engine.RoleMember, at(0))
	return s, s.(engine.MemoryStore)
}

func mustWrite(t *testing.T, m engine.MemoryStore, w engine.DocumentWrite) engine.Document {
	t.Helper()
	d, err := m.WriteDocument(t.Context(), w)
	if err != nil {
		t.Fatalf("WriteDocument %s %s/%s: %v", w.Mode, w.UserID, w.Path, err)
	}
	return d
}

func checkDoc(t *testing.T, what string, got engine.Document, user, path, content string, version int64) {
	t.Helper()
	if got.UserID != user || got.Path != path || got.Content != content || got.Version != version ||
		got.Size != int64(len(content)) {
		t.Errorf("%s = %s/%s v%d size %d %q, want %s/%s v%d size %d %q", what, got.UserID, got.Path, got.Version,
			got.Size, got.Content, user, path, version, len(content), content)
	}
}

func testDocuments(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	d := mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/trip.md", Content: "# Trip\n", At: at(0)})
	checkDoc(t, "created", d, "u1", "notes/trip.md", "# Trip\n", 1)
	checkTime(t, "CreatedAt", d.CreatedAt, at(0))
	checkTime(t, "UpdatedAt", d.UpdatedAt, at(0))
	if d.IndexedVersion != 0 {
		t.Errorf("IndexedVersion of a new document = %d, want 0", d.IndexedVersion)
	}
	got, err := m.GetDocument(ctx, "u1", "notes/trip.md")
	must(t, "GetDocument", err)
	checkDoc(t, "GetDocument", got, "u1", "notes/trip.md", "# Trip\n", 1)
	checkTime(t, "GetDocument CreatedAt", got.CreatedAt, at(0))

	// Append adds to the end and counts as a change.
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/trip.md", Content: "Lisbon ✈\n",
		Mode: engine.WriteAppend, At: at(time.Minute)})
	checkDoc(t, "appended", d, "u1", "notes/trip.md", "# Trip\nLisbon ✈\n", 2)
	checkTime(t, "appended CreatedAt", d.CreatedAt, at(0))
	checkTime(t, "appended UpdatedAt", d.UpdatedAt, at(time.Minute))

	// Overwrite replaces; the same content again changes nothing.
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/trip.md", Content: "# Trip\nPorto\n", At: at(time.Hour)})
	checkDoc(t, "overwritten", d, "u1", "notes/trip.md", "# Trip\nPorto\n", 3)
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/trip.md", Content: "# Trip\nPorto\n", At: at(2 * time.Hour)})
	checkDoc(t, "identical overwrite", d, "u1", "notes/trip.md", "# Trip\nPorto\n", 3)
	checkTime(t, "identical overwrite UpdatedAt", d.UpdatedAt, at(time.Hour))
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "notes/trip.md", Mode: engine.WriteAppend, At: at(3 * time.Hour)})
	checkDoc(t, "empty append", d, "u1", "notes/trip.md", "# Trip\nPorto\n", 3)

	// Append creates a missing document; a zero At takes the store's clock.
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "daily/2026-11-24.md", Content: "- ate", Mode: engine.WriteAppend})
	checkDoc(t, "append-created", d, "u1", "daily/2026-11-24.md", "- ate", 1)
	checkSet(t, "filled CreatedAt", d.CreatedAt)

	// An empty document is a document.
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "empty.md", Mode: engine.WriteCreate})
	checkDoc(t, "empty", d, "u1", "empty.md", "", 1)

	_, err = m.GetDocument(ctx, "u1", "missing.md")
	wantErr(t, "GetDocument missing", err, engine.ErrNotFound)
	for _, bad := range []engine.DocumentWrite{
		{UserID: "", Path: "a.md"},
		{UserID: "u1", Path: ""},
		{UserID: "u1", Path: "a.md", Mode: engine.WriteMode(42)},
		{UserID: "u1", Path: "a.md", MaxSize: -1},
	} {
		if _, err := m.WriteDocument(ctx, bad); err == nil {
			t.Errorf("WriteDocument %+v succeeded, want an error", bad)
		}
	}
	if _, err := m.GetDocument(ctx, "u1", "a.md"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("a refused write left a document behind: %v", err)
	}
}

func testDocumentWriteConditions(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "one", Mode: engine.WriteCreate, At: at(0)})
	_, err := m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "two", Mode: engine.WriteCreate})
	wantErr(t, "create existing", err, engine.ErrConflict)

	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "two", IfVersion: 2})
	wantErr(t, "overwrite at a wrong version", err, engine.ErrConflict)
	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "two", Mode: engine.WriteAppend, IfVersion: 7})
	wantErr(t, "append at a wrong version", err, engine.ErrConflict)
	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "b.md", Content: "two", IfVersion: 1})
	wantErr(t, "conditional write of a missing document", err, engine.ErrNotFound)
	d := mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "two", IfVersion: 1, At: at(time.Second)})
	checkDoc(t, "conditional overwrite", d, "u1", "a.md", "two", 2)

	// MaxSize bounds the result: a failed write or append changes nothing.
	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "three!", MaxSize: 5})
	wantErr(t, "overwrite over MaxSize", err, engine.ErrTooLarge)
	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "+++", Mode: engine.WriteAppend, MaxSize: 5})
	wantErr(t, "append over MaxSize", err, engine.ErrTooLarge)
	_, err = m.WriteDocument(ctx, engine.DocumentWrite{UserID: "u1", Path: "big.md", Content: "123456", MaxSize: 5})
	wantErr(t, "create over MaxSize", err, engine.ErrTooLarge)
	got, err := m.GetDocument(ctx, "u1", "a.md")
	must(t, "GetDocument", err)
	checkDoc(t, "after refused writes", got, "u1", "a.md", "two", 2)
	vs, err := m.ListVersions(ctx, "u1", "a.md")
	must(t, "ListVersions", err)
	if len(vs) != 1 {
		t.Errorf("refused writes kept versions: %d versions, want 1", len(vs))
	}
	_, err = m.GetDocument(ctx, "u1", "big.md")
	wantErr(t, "GetDocument of a refused create", err, engine.ErrNotFound)
	// Exactly at the limit is allowed (bytes, not characters).
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "twö", Mode: engine.WriteOverwrite, MaxSize: 4})
	checkDoc(t, "at the limit", d, "u1", "a.md", "twö", 3)
}

func testDocumentVersions(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	for i, c := range []string{"v1", "v2 longer", "v3", "v4"} {
		mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "SOUL.md", Content: c, At: at(time.Duration(i) * time.Hour)})
	}
	vs, err := m.ListVersions(ctx, "u1", "SOUL.md")
	must(t, "ListVersions", err)
	if len(vs) != 3 {
		t.Fatalf("ListVersions = %d versions, want 3", len(vs))
	}
	for i, want := range []int64{3, 2, 1} {
		v := vs[i]
		if v.Version != want || v.Content != "" || v.UserID != "u1" || v.Path != "SOUL.md" {
			t.Errorf("version %d = %+v, want version %d without content", i, v, want)
		}
	}
	if vs[1].Size != int64(len("v2 longer")) {
		t.Errorf("version 2 size = %d, want %d", vs[1].Size, len("v2 longer"))
	}
	checkTime(t, "version 2 CreatedAt", vs[1].CreatedAt, at(time.Hour))
	checkTime(t, "version 2 ReplacedAt", vs[1].ReplacedAt, at(2*time.Hour))
	v, err := m.GetVersion(ctx, "u1", "SOUL.md", 2)
	must(t, "GetVersion", err)
	if v.Content != "v2 longer" || v.Version != 2 {
		t.Errorf("GetVersion 2 = %+v", v)
	}
	_, err = m.GetVersion(ctx, "u1", "SOUL.md", 4)
	wantErr(t, "GetVersion of the current content", err, engine.ErrNotFound)
	_, err = m.GetVersion(ctx, "u1", "nope.md", 1)
	wantErr(t, "GetVersion of a missing document", err, engine.ErrNotFound)
	none, err := m.ListVersions(ctx, "u1", "nope.md")
	must(t, "ListVersions of a missing document", err)
	if len(none) != 0 {
		t.Errorf("ListVersions of a missing document = %v", none)
	}

	// KeepVersions prunes the oldest.
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "SOUL.md", Content: "v5", KeepVersions: 2, At: at(5 * time.Hour)})
	vs, err = m.ListVersions(ctx, "u1", "SOUL.md")
	must(t, "ListVersions after prune", err)
	if len(vs) != 2 || vs[0].Version != 4 || vs[1].Version != 3 {
		t.Errorf("after KeepVersions 2: %+v, want versions 4, 3", vs)
	}
	// Appends keep no version.
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "SOUL.md", Content: "+", Mode: engine.WriteAppend})
	vs, _ = m.ListVersions(ctx, "u1", "SOUL.md")
	if len(vs) != 2 {
		t.Errorf("an append kept a version: %d versions", len(vs))
	}
}

func docPaths(ds []engine.Document) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Path
	}
	return out
}

func testDocumentList(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	paths := []string{"notes/trip.md", "AGENTS.md", "notes/a/b.md", "notes_other.md", "daily/2026-11-24.md", "notes%/x.md", "n_tes/y.md"}
	for _, p := range paths {
		mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: p, Content: "content of " + p})
	}
	all, err := m.ListDocuments(ctx, "u1", "")
	must(t, "ListDocuments", err)
	want := []string{"AGENTS.md", "daily/2026-11-24.md", "n_tes/y.md", "notes%/x.md", "notes/a/b.md", "notes/trip.md", "notes_other.md"}
	if !equalStrings(docPaths(all), want) {
		t.Fatalf("ListDocuments = %v, want %v", docPaths(all), want)
	}
	for _, d := range all {
		if d.Content != "" || d.Size != int64(len("content of "+d.Path)) || d.Version != 1 {
			t.Errorf("listed %s: content %q size %d version %d; want no content, size %d", d.Path, d.Content, d.Size,
				d.Version, len("content of "+d.Path))
		}
	}
	for prefix, want := range map[string][]string{
		"notes/":   {"notes/a/b.md", "notes/trip.md"},
		"notes":    {"notes%/x.md", "notes/a/b.md", "notes/trip.md", "notes_other.md"},
		"notes%":   {"notes%/x.md"},
		"n_":       {"n_tes/y.md"},
		"zzz":      nil,
		"AGENTS.m": {"AGENTS.md"},
	} {
		got, err := m.ListDocuments(ctx, "u1", prefix)
		must(t, "ListDocuments "+prefix, err)
		if !equalStrings(docPaths(got), want) {
			t.Errorf("ListDocuments(%q) = %v, want %v (byte-wise prefix, no wildcards)", prefix, docPaths(got), want)
		}
	}
}

func testDocumentDelete(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "x.md", Content: "old words"})
	d := mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "x.md", Content: "walrus words"})
	must(t, "ReplaceChunks", m.ReplaceChunks(ctx, "u1", "x.md", d.Version, []engine.Chunk{{Text: "walrus words", Hash: "h1", End: 12}}))
	must(t, "DeleteDocument", m.DeleteDocument(ctx, "u1", "x.md"))
	_, err := m.GetDocument(ctx, "u1", "x.md")
	wantErr(t, "GetDocument deleted", err, engine.ErrNotFound)
	wantErr(t, "DeleteDocument twice", m.DeleteDocument(ctx, "u1", "x.md"), engine.ErrNotFound)
	vs, err := m.ListVersions(ctx, "u1", "x.md")
	must(t, "ListVersions deleted", err)
	if len(vs) != 0 {
		t.Errorf("versions survive deletion: %v", vs)
	}
	hits, err := m.FullTextSearch(ctx, "u1", "walrus", engine.SearchOptions{Limit: 10})
	must(t, "FullTextSearch", err)
	if len(hits) != 0 {
		t.Errorf("chunks of a deleted document are still found: %+v", hits)
	}
	chunks, err := m.GetChunks(ctx, "u1", "x.md")
	must(t, "GetChunks", err)
	if len(chunks) != 0 {
		t.Errorf("GetChunks of a deleted document = %d chunks", len(chunks))
	}
	// A new document at the path starts again at version 1 with no history.
	d = mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "x.md", Content: "again"})
	checkDoc(t, "recreated", d, "u1", "x.md", "again", 1)
}

func testDocumentUnknownUser(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	_, err := m.WriteDocument(ctx, engine.DocumentWrite{UserID: "ghost", Path: "a.md", Content: "boo"})
	wantErr(t, "WriteDocument for an unknown user", err, engine.ErrNotFound)
	list, err := m.ListDocuments(ctx, "ghost", "")
	must(t, "ListDocuments of an unknown user", err)
	if len(list) != 0 {
		t.Errorf("ListDocuments of an unknown user = %v", docPaths(list))
	}
}

func testDocumentsToIndex(t *testing.T, h Harness) {
	ctx := t.Context()
	_, m := memSetup(t, h)
	a := mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "a", At: at(time.Second)})
	mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "b.md", Content: "b", At: at(0)})
	mustWrite(t, m, engine.DocumentWrite{UserID: "u2", Path: "c.md", Content: "c", At: at(0)})
	todo, err := m.DocumentsToIndex(ctx, "u1", 10)
	must(t, "DocumentsToIndex", err)
	if !equalStrings(docPaths(todo), []string{"b.md", "a.md"}) {
		t.Fatalf("DocumentsToIndex = %v, want [b.md a.md] (oldest change first, own documents only)", docPaths(todo))
	}
	if todo[0].Content != "" {
		t.Errorf("DocumentsToIndex returned content")
	}
	one, err := m.DocumentsToIndex(ctx, "u1", 1)
	must(t, "DocumentsToIndex limit 1", err)
	if len(one) != 1 {
		t.Errorf("limit 1 returned %d", len(one))
	}
	if _, err := m.DocumentsToIndex(ctx, "u1", 0); err == nil {
		t.Error("DocumentsToIndex with limit 0 succeeded")
	}
	must(t, "ReplaceChunks a", m.ReplaceChunks(ctx, "u1", "a.md", a.Version, []engine.Chunk{{Text: "a", Hash: "ha", End: 1}}))
	got, err := m.GetDocument(ctx, "u1", "a.md")
	must(t, "GetDocument", err)
	if got.IndexedVersion != a.Version {
		t.Errorf("IndexedVersion = %d, want %d", got.IndexedVersion, a.Version)
	}
	todo, _ = m.DocumentsToIndex(ctx, "u1", 10)
	if !equalStrings(docPaths(todo), []string{"b.md"}) {
		t.Errorf("after indexing a.md: %v, want [b.md]", docPaths(todo))
	}
	// A change puts it back in the list; stale chunks are refused.
	b2 := mustWrite(t, m, engine.DocumentWrite{UserID: "u1", Path: "a.md", Content: "a2", At: at(time.Hour)})
	err = m.ReplaceChunks(ctx, "u1", "a.md", a.Version, []engine.Chunk{{Text: "stale", Hash: "hs", End: 5}})
	wantErr(t, "ReplaceChunks of an old version", err, engine.ErrConflict)
	chunks, _ := m.GetChunks(ctx, "u1", "a.md")
	if len(chunks) != 1 || chunks[0].Text != "a" {
		t.Errorf("a refused ReplaceChunks changed the chunks: %+v", chunks)
	}
	todo, _ = m.DocumentsToIndex(ctx, "u1", 10)
	if !equalStrings(docPaths(todo), []string{"b.md", "a.md"}) {
		t.Errorf("after a change: %v, want [b.md a.md]", docPaths(todo))
	}
	err = m.ReplaceChunks(ctx, "u1", "gone.md", 1, nil)
	wantErr(t, "ReplaceChunks of a missing document", err, engine.ErrNotFound)
	err = m.ReplaceChunks(ctx, "u2", "a.md", b2.Version, nil)
	wantErr(t, "ReplaceChunks of another user's path", err, engine.ErrNotFound)
}

// longText is n filler words that match no test query.
func longText(n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = fmt.Sprintf("filler%d", i%7)
	}
	return strings.Join(words, " ")
}
