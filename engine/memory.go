package engine

import (
	"context"
	"errors"
	"time"
)

// Errors memory stores return besides ErrNotFound and ErrConflict; match
// them with errors.Is.
var (
	// ErrTooLarge: a write would make a document larger than
	// DocumentWrite.MaxSize; nothing was written.
	ErrTooLarge = errors.New("document too large")
	// ErrDimensionMismatch: a vector's length differs from the dimension
	// of the store's embedding space; nothing was written.
	ErrDimensionMismatch = errors.New("embedding dimension mismatch")
)

// MemoryStore is what package memory (workspace, indexing, hybrid search)
// needs from a store. memory/sqlite and memory/postgres implement it next
// to engine.Store, and memory/storetest checks both.
//
// # Per-user isolation
//
// Every method that takes a userID reads, writes, lists, searches and
// counts only that user's documents, versions and chunks; a chunk id,
// path or version of another user is treated as missing (ErrNotFound, or
// simply absent from a result). An empty userID is an error, except where
// a method says otherwise. The embedding cache is keyed by content, not
// by user: it returns a vector for a text, which reveals nothing that the
// text itself does not.
//
// # Paths
//
// The store treats a path as an opaque, non-empty UTF-8 string; package
// memory validates and normalises paths ("notes/trip.md") before they
// reach the store. A prefix is matched byte-wise, never as a pattern
// (no LIKE wildcards).
//
// # Hybrid search
//
// Fusion happens in Go: package memory calls FullTextSearch and
// VectorSearch and fuses the two rankings with Reciprocal Rank Fusion
// (memory.Fuse). A backend that can fuse in one round trip (PostgreSQL in
// SQL) may also implement HybridSearcher; memory then uses it, and
// memory/storetest checks that it ranks exactly as the Go fusion does.
//
// # Times
//
// Zero times in arguments are filled with the store's clock; times come
// back in UTC at microsecond precision or better.
type MemoryStore interface {
	DocumentStore
	ChunkStore
	EmbeddingCache
}

// WriteMode says how DocumentStore.WriteDocument treats an existing
// document.
type WriteMode int

// The write modes.
const (
	// WriteOverwrite creates the document or replaces its content; the
	// replaced content is kept as a version.
	WriteOverwrite WriteMode = iota
	// WriteCreate creates the document and fails with ErrConflict when it
	// exists.
	WriteCreate
	// WriteAppend creates the document or appends Content to it, atomically
	// (concurrent appends all land, in some order). No version is kept.
	WriteAppend
)

// String names the mode for errors and logs.
func (m WriteMode) String() string {
	switch m {
	case WriteOverwrite:
		return "overwrite"
	case WriteCreate:
		return "create"
	case WriteAppend:
		return "append"
	}
	return "unknown"
}

// DocumentWrite is one change of a document.
type DocumentWrite struct {
	UserID  string
	Path    string
	Content string
	Mode    WriteMode
	// IfVersion, when positive, makes the write conditional: it happens
	// only if the document exists at exactly that version, else
	// ErrConflict (ErrNotFound when the document does not exist). It
	// applies to WriteOverwrite and WriteAppend.
	IfVersion int64
	// MaxSize, when positive, bounds the resulting content in bytes; a
	// write (or an append) that would exceed it fails with ErrTooLarge.
	MaxSize int
	// KeepVersions, when positive, bounds the kept versions of the path:
	// after an overwrite only the newest KeepVersions are kept. Zero keeps
	// every version.
	KeepVersions int
	// At is the time of the write (zero: the store's clock).
	At time.Time
}

// Document is a file of a user's workspace.
type Document struct {
	UserID  string `json:"user_id"`
	Path    string `json:"path"`
	Content string `json:"content,omitempty"`
	// Size is len(Content) in bytes (set also when Content is left out).
	Size int64 `json:"size"`
	// Version starts at 1 and grows by one with every change of Content
	// (an overwrite with identical content is not a change).
	Version int64 `json:"version"`
	// IndexedVersion is the Version whose chunks are stored (0: none yet).
	// A document with IndexedVersion != Version needs indexing.
	IndexedVersion int64     `json:"indexed_version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// DocumentVersion is a kept earlier content of a document.
type DocumentVersion struct {
	UserID string `json:"user_id"`
	Path   string `json:"path"`
	// Version is the document version this content had.
	Version int64 `json:"version"`
	// Content is left out by ListVersions.
	Content string `json:"content,omitempty"`
	Size    int64  `json:"size"`
	// CreatedAt is when this content was written; ReplacedAt when it was
	// overwritten.
	CreatedAt  time.Time `json:"created_at"`
	ReplacedAt time.Time `json:"replaced_at"`
}

// DocumentStore keeps the documents of users' workspaces.
type DocumentStore interface {
	// WriteDocument creates, overwrites or appends to a document as
	// w.Mode says and returns the document after the write (with
	// Content). A write for a user that does not exist fails with
	// ErrNotFound. An overwrite with the current content changes nothing
	// and returns the document as it is. A change invalidates the stored
	// chunks (IndexedVersion stays behind Version until ReplaceChunks).
	// Nothing is written when it fails.
	WriteDocument(ctx context.Context, w DocumentWrite) (Document, error)
	// GetDocument returns a document with its content; ErrNotFound when
	// missing.
	GetDocument(ctx context.Context, userID, path string) (Document, error)
	// DeleteDocument removes a document, its chunks and its kept versions;
	// ErrNotFound when missing.
	DeleteDocument(ctx context.Context, userID, path string) error
	// ListDocuments lists a user's documents whose path starts with prefix
	// ("" lists all), ordered by path, without Content.
	ListDocuments(ctx context.Context, userID, prefix string) ([]Document, error)
	// ListVersions lists the kept versions of a path, newest first,
	// without Content. It is empty (not an error) when none are kept.
	ListVersions(ctx context.Context, userID, path string) ([]DocumentVersion, error)
	// GetVersion returns one kept version with its content; ErrNotFound
	// when it is not kept.
	GetVersion(ctx context.Context, userID, path string, version int64) (DocumentVersion, error)
	// DocumentsToIndex lists up to limit of a user's documents whose
	// IndexedVersion differs from Version, oldest change first, without
	// Content. limit must be positive.
	DocumentsToIndex(ctx context.Context, userID string, limit int) ([]Document, error)
}

// Chunk is a piece of a document, the unit of search.
type Chunk struct {
	// ID is assigned by the store (positive; opaque otherwise).
	ID     int64  `json:"id"`
	UserID string `json:"user_id"`
	Path   string `json:"path"`
	// Seq is the chunk's position in its document, from 0.
	Seq int `json:"seq"`
	// Heading is the Markdown heading path the chunk sits under
	// ("Trip > Packing"), or "".
	Heading string `json:"heading,omitempty"`
	Text    string `json:"text"`
	// Start and End are the chunk's byte offsets in the document content.
	Start int `json:"start"`
	End   int `json:"end"`
	// Hash identifies the embedded text (heading and text) for the
	// embedding cache; set by package memory.
	Hash string `json:"hash"`
	// Embedding is the chunk's vector in the store's embedding space, or
	// nil. Searches leave it out.
	Embedding []float32 `json:"-"`
	// UpdatedAt is the document's UpdatedAt (filled on reads).
	UpdatedAt time.Time `json:"updated_at"`
}

// ChunkEmbedding sets the vector of one chunk.
type ChunkEmbedding struct {
	ChunkID int64
	Vector  []float32
}

// EmbeddingSpace identifies the vectors a store holds: the model that made
// them and their dimension. The zero value means "no vectors".
type EmbeddingSpace struct {
	Model      string `json:"model"`
	Dimensions int    `json:"dimensions"`
}

// SearchOptions narrow a search.
type SearchOptions struct {
	// Limit is the most hits returned; it must be positive.
	Limit int
	// PathPrefix, when set, keeps only chunks of documents whose path
	// starts with it (byte-wise).
	PathPrefix string
}

// Search methods, as reported in ChunkHit.Method and by the search
// results of package memory.
const (
	MethodFullText = "fts"
	MethodVector   = "vector"
	MethodHybrid   = "hybrid"
)

// ChunkHit is a ranked search result.
type ChunkHit struct {
	Chunk Chunk `json:"chunk"`
	// Rank is the hit's 1-based position in its result list.
	Rank int `json:"rank"`
	// Score orders the list, higher first: the full-text relevance (BM25
	// or ts_rank; its scale is the backend's), the cosine similarity, or
	// the fused RRF score.
	Score float64 `json:"score"`
	// Method is MethodFullText, MethodVector or MethodHybrid.
	Method string `json:"method"`
}

// ChunkStore keeps the chunks of documents and searches them.
type ChunkStore interface {
	// ReplaceChunks replaces every chunk of a document with chunks (in
	// Seq order; their ID, UserID, Path and UpdatedAt are ignored, an
	// Embedding is kept when set) and sets the document's IndexedVersion
	// to version, in one transaction. It fails with ErrConflict and writes
	// nothing when the document's Version is no longer version (a newer
	// write came in: index that one instead), with ErrNotFound when the
	// document is gone, and with ErrDimensionMismatch when an embedding
	// does not fit the embedding space.
	ReplaceChunks(ctx context.Context, userID, path string, version int64, chunks []Chunk) error
	// GetChunks returns a document's chunks in Seq order, with
	// embeddings.
	GetChunks(ctx context.Context, userID, path string) ([]Chunk, error)
	// ChunksToEmbed lists up to limit of a user's chunks that have no
	// embedding, in ID order, without embeddings. limit must be positive.
	ChunksToEmbed(ctx context.Context, userID string, limit int) ([]Chunk, error)
	// SetEmbeddings stores vectors of a user's chunks, all or none. A
	// chunk id that is not the user's (or no longer exists, because its
	// document changed meanwhile) is skipped, not an error. A vector whose
	// length is not the space's dimension fails with ErrDimensionMismatch;
	// with no space set (zero EmbeddingSpace) every call fails so.
	SetEmbeddings(ctx context.Context, userID string, embs []ChunkEmbedding) error
	// EmbeddingSpace returns the space of the stored vectors (zero when
	// none was set).
	EmbeddingSpace(ctx context.Context) (EmbeddingSpace, error)
	// SetEmbeddingSpace records the space the vectors belong to. When it
	// differs from the current one, every chunk embedding (of all users)
	// is dropped in the same transaction, so that the chunks are
	// re-embedded rather than compared across models; it reports whether
	// it changed. The embedding cache is unaffected (it is keyed by
	// model).
	SetEmbeddingSpace(ctx context.Context, sp EmbeddingSpace) (changed bool, err error)
	// FullTextSearch ranks a user's chunks against query, best first. The
	// query is plain text as a person typed it: the backend splits it into
	// words (letters and digits; everything else, including its own query
	// syntax, is a separator) and matches chunks (heading and text)
	// containing any of them, ranked by relevance. A query without words
	// returns no hits. Method is MethodFullText. On large workspaces
	// (thousands of chunks) a backend may bound the cost of a query by
	// leaving out words most chunks contain or by ranking only the recent
	// part of very many matches; it documents what it does.
	FullTextSearch(ctx context.Context, userID, query string, opts SearchOptions) ([]ChunkHit, error)
	// VectorSearch ranks a user's embedded chunks by cosine similarity to
	// vector, best first; Score is the exact cosine similarity. A backend
	// may search an approximate index (recall below 100%), but on a small
	// store (fewer than 40 embedded chunks in all) the result must be
	// exact.
	// A vector of the wrong dimension fails with ErrDimensionMismatch.
	// Method is MethodVector.
	VectorSearch(ctx context.Context, userID string, vector []float32, opts SearchOptions) ([]ChunkHit, error)
	// MemoryStats counts documents and chunks of a user, or of every user
	// when userID is "" (for hearth doctor).
	MemoryStats(ctx context.Context, userID string) (MemoryStats, error)
}

// MemoryStats are counts for doctor and status displays.
type MemoryStats struct {
	Documents int `json:"documents"`
	// DocumentsToIndex have changed since they were last chunked.
	DocumentsToIndex int `json:"documents_to_index"`
	Versions         int `json:"versions"`
	Chunks           int `json:"chunks"`
	// ChunksEmbedded have a vector in the current space.
	ChunksEmbedded int   `json:"chunks_embedded"`
	Bytes          int64 `json:"bytes"`
}

// HybridOptions configure HybridSearcher.HybridSearch.
type HybridOptions struct {
	SearchOptions
	// K is the RRF constant (positive; memory defaults it to 60).
	K int
	// Candidates is how many hits of each method enter the fusion
	// (positive, at least Limit).
	Candidates int
}

// HybridSearcher is an optional ability of a ChunkStore: full-text and
// vector search fused with Reciprocal Rank Fusion in one call. It must
// rank exactly as package memory fuses FullTextSearch and VectorSearch:
// take the first Candidates hits of each method (vector hits only when
// vector is non-nil), score every chunk sum over methods of 1/(K + rank)
// with rank 1-based, order by score descending, ties broken by the better
// (smaller) full-text rank, then the better vector rank (a chunk missing
// from a list ranks after every chunk in it), then chunk ID ascending; return the first Limit with Method MethodHybrid and Rank
// their 1-based position.
type HybridSearcher interface {
	HybridSearch(ctx context.Context, userID, query string, vector []float32, opts HybridOptions) ([]ChunkHit, error)
}

// EmbeddingCache keeps vectors by model and content hash, so unchanged
// text is never embedded twice.
type EmbeddingCache interface {
	// CachedEmbeddings returns the cached vectors of sp for the given
	// content hashes (hashes without an entry are absent from the map).
	CachedEmbeddings(ctx context.Context, sp EmbeddingSpace, hashes []string) (map[string][]float32, error)
	// CacheEmbeddings stores vectors of sp by content hash, replacing
	// existing entries. A vector of the wrong length fails with
	// ErrDimensionMismatch and nothing is stored.
	CacheEmbeddings(ctx context.Context, sp EmbeddingSpace, vectors map[string][]float32) error
}
