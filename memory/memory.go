// Package memory is what Hearth remembers: each user's workspace of
// Markdown documents (identity files, MEMORY.md, daily notes, anything the
// agent or the user writes), its search index, and what of it enters the
// agent's prompt.
//
// A Memory sits on a store that implements engine.MemoryStore
// (memory/sqlite, memory/postgres). It offers
//
//   - the workspace: Read, Write, Create, Append, Delete, Tree, Versions,
//     with paths and content validated (CleanPath, CheckContent);
//   - background indexing: every change is chunked (memory/chunk) and
//     indexed for full-text search and, with an embedder, for vector
//     search, in a goroutine started by Start; a reply never waits for it
//     (IndexNow indexes synchronously, for the CLI and tests);
//   - hybrid search (Search): full-text and vector rankings fused with
//     Reciprocal Rank Fusion (Fuse), recent daily notes weighted up,
//     falling back to full-text ranking without an embedder (Status says
//     why);
//   - prompt sources (PromptSources): the identity files in their fixed
//     order plus today's and yesterday's daily notes, within character caps
//     that are announced when they cut (CheckPrompt reports them), and
//     recall of the chunks that match the user's message.
//
// The store's sub-packages live beside it: memory/sqlite (the embedded
// default), memory/postgres, the conformance suite memory/storetest, the
// vector index memory/vecindex, the chunker memory/chunk, the embeddings
// client memory/embed and the agent's tools memory/tools.
package memory

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/chunk"
)

// Defaults for Options.
const (
	DefaultMaxDocumentBytes = 1 << 20
	DefaultKeepVersions     = 20
	DefaultCandidates       = 40
	DefaultFileChars        = 12_000
	DefaultTotalChars       = 32_000
	DefaultRecallTokens     = 800
	DefaultRecallHits       = 6
	DefaultRecallTimeout    = 3 * time.Second
	DefaultRecencyHalfLife  = 30 * 24 * time.Hour
	DefaultRecencyWeight    = 0.5
	DefaultEmbedBatch       = 32
	DefaultRetryDelay       = 5 * time.Second
	maxRetryDelay           = 10 * time.Minute
)

// Options configure a Memory. Zero values take the defaults.
type Options struct {
	// Store holds the documents and the index (required).
	Store engine.MemoryStore
	// Users lists the users whose pending indexing Start resumes; nil:
	// only users touched after Start are indexed.
	Users interface {
		ListUsers(ctx context.Context) ([]engine.User, error)
	}
	// Embedder makes vectors; nil: full-text search only. When it also
	// has Probe(ctx) (engine.EmbeddingSpace, error) (memory/embed), the
	// indexer calls it to learn the model and dimension.
	Embedder engine.Embedder
	// RRFK is the Reciprocal Rank Fusion constant (default 60).
	RRFK int
	// Candidates is how many hits of each method enter the fusion
	// (default 40).
	Candidates int
	// Chunk sizes the chunks (default 800 words, 15% overlap).
	Chunk chunk.Options
	// MaxDocumentBytes bounds one document (default 1 MiB).
	MaxDocumentBytes int
	// KeepVersions bounds the kept versions per document (default 20;
	// negative: keep all).
	KeepVersions int
	// FileChars and TotalChars cap each identity file and all of them in
	// the prompt, in characters (defaults 12,000 and 32,000).
	FileChars, TotalChars int
	// RecallTokens is the budget of recalled chunks in the prompt, in
	// tokens of about four characters (default 800; negative: no recall).
	RecallTokens int
	// RecallHits is the most chunks recalled (default 6).
	RecallHits int
	// RecallTimeout bounds the search of one recall (default 3s).
	RecallTimeout time.Duration
	// RecencyHalfLife and RecencyWeight weight daily notes by age: a
	// note's fused score is multiplied by (1-w) + w*0.5^(age/halfLife)
	// (defaults 30 days and 0.5; a negative weight turns it off).
	RecencyHalfLife time.Duration
	RecencyWeight   float64
	// EmbedBatch is the number of chunks embedded per call (default 32).
	EmbedBatch int
	// RetryDelay is the first pause after an indexing failure (doubling
	// up to 10 minutes; default 5s).
	RetryDelay time.Duration
	// NoSeed leaves new workspaces empty (no default identity files).
	NoSeed bool
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Memory is the memory of every user of one store. It is safe for
// concurrent use.
type Memory struct {
	o     Options
	store engine.MemoryStore
	log   *slog.Logger
	idx   *indexer

	seedMu sync.Mutex
	seeded map[string]bool

	warnMu sync.Mutex
	warned map[string]bool // truncation warnings already logged
}

// New builds a Memory. Call Start to index in the background.
func New(o Options) (*Memory, error) {
	if o.Store == nil {
		return nil, errors.New("memory: a store is required")
	}
	if o.RRFK < 0 || o.Candidates < 0 || o.MaxDocumentBytes < 0 || o.FileChars < 0 || o.TotalChars < 0 ||
		o.RecallHits < 0 || o.EmbedBatch < 0 || o.RetryDelay < 0 || o.RecallTimeout < 0 || o.RecencyHalfLife < 0 {
		return nil, errors.New("memory: negative option")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.RRFK, DefaultRRFK)
	def(&o.Candidates, DefaultCandidates)
	def(&o.MaxDocumentBytes, DefaultMaxDocumentBytes)
	def(&o.KeepVersions, DefaultKeepVersions)
	if o.KeepVersions < 0 {
		o.KeepVersions = 0 // the store keeps all
	}
	def(&o.FileChars, DefaultFileChars)
	def(&o.TotalChars, DefaultTotalChars)
	def(&o.RecallTokens, DefaultRecallTokens)
	def(&o.RecallHits, DefaultRecallHits)
	def(&o.EmbedBatch, DefaultEmbedBatch)
	if o.RecallTimeout == 0 {
		o.RecallTimeout = DefaultRecallTimeout
	}
	if o.RecencyHalfLife == 0 {
		o.RecencyHalfLife = DefaultRecencyHalfLife
	}
	if o.RecencyWeight == 0 {
		o.RecencyWeight = DefaultRecencyWeight
	}
	if o.RecencyWeight > 1 {
		return nil, errors.New("memory: RecencyWeight must be at most 1")
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m := &Memory{o: o, store: o.Store, log: o.Logger, seeded: map[string]bool{}, warned: map[string]bool{}}
	m.idx = newIndexer(m)
	return m, nil
}

// Store is the store under the memory.
func (m *Memory) Store() engine.MemoryStore { return m.store }

// Start runs the background indexer until ctx ends: it settles the
// embedding space (probing the embedder when its model or dimension is
// not configured, retrying with backoff while it is down), then indexes
// whatever changed, including changes made before Start. It returns at
// once; Wait waits for the indexer to stop.
func (m *Memory) Start(ctx context.Context) { m.idx.start(ctx) }

// Wait blocks until the indexer started by Start has stopped.
func (m *Memory) Wait() { m.idx.wait() }
