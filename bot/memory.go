package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearthbot/hearth/adapters/repl"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/llm/provider"
	"github.com/hearthbot/hearth/memory"
	"github.com/hearthbot/hearth/memory/chunk"
	"github.com/hearthbot/hearth/memory/embed"
	memtools "github.com/hearthbot/hearth/memory/tools"
)

// ErrNoMemory: the store keeps no memory (it does not implement
// engine.MemoryStore).
var ErrNoMemory = errors.New("memory not available")

// NewMemory builds the memory service over the bot's store, configured by
// embeddings.* and memory.*. It makes no network call: an embedder whose
// model or dimension is not configured is probed by the indexer once
// started (mem.Start). The CLI and the doctor use it directly; a running
// bot gets its own from setupMemory.
func (b *Bot) NewMemory() (*memory.Memory, error) {
	return newMemory(b.cfg, b.Store, b.log, b.o.Now)
}

func newMemory(cfg *config.Config, st engine.Store, log *slog.Logger, now func() time.Time) (*memory.Memory, error) {
	ms, ok := st.(engine.MemoryStore)
	if !ok {
		return nil, fmt.Errorf("%w: the store (%T) keeps no workspace", ErrNoMemory, st)
	}
	emb, err := newEmbedder(cfg, log)
	if err != nil {
		return nil, err
	}
	o := memoryOptions(cfg.Memory)
	o.Store, o.Users, o.Logger, o.Now = ms, st, log, now
	if emb != nil {
		o.Embedder = emb
	}
	return memory.New(o)
}

// memoryOptions maps memory.* onto the memory service's options. Where
// the configuration says "none" with 0, the service says it with a
// negative value.
func memoryOptions(c config.MemoryConfig) memory.Options {
	o := memory.Options{RRFK: c.RRFK, Candidates: c.Candidates,
		Chunk:            chunk.Options{Words: c.ChunkWords, Overlap: c.ChunkOverlap},
		MaxDocumentBytes: c.MaxDocumentBytes, KeepVersions: c.KeepVersions,
		FileChars: c.FileChars, TotalChars: c.TotalChars,
		RecallTokens: c.RecallTokens, RecallHits: c.RecallHits,
		RecencyHalfLife: c.RecencyHalfLife, RecencyWeight: c.RecencyWeight}
	if c.RecallTokens == 0 {
		o.RecallTokens = -1
	}
	if c.RecencyWeight == 0 {
		o.RecencyWeight = -1
	}
	return o
}

// setupMemory builds the memory service, registers the memory tools in
// b.Tools and returns the service. The composition root puts
// mem.PromptSources() into agent.Options.Prompts and starts the
// background indexer with mem.Start(ctx) when the bot runs.
func (b *Bot) setupMemory(ctx context.Context) (*memory.Memory, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mem, err := b.NewMemory()
	if err != nil {
		return nil, err
	}
	for _, t := range memtools.All(mem) {
		if err := b.Tools.Register(t); err != nil {
			return nil, fmt.Errorf("register tool: %w", err)
		}
	}
	return mem, nil
}

// newEmbedder returns the embedding client the configuration asks for,
// or nil when there is none (full-text search only):
//
//   - embeddings.model set: that model at embeddings.base_url, or at
//     llm.base_url (with llm.api_key) when embeddings.base_url is empty and
//     the chat provider is OpenAI-compatible, else at the hosted OpenAI
//     API;
//   - embeddings.model empty but llm.base_url set (OpenAI-compatible): the
//     chat server, if it offers an embedding model (discovered from its
//     model list by the indexer; until then, and if it offers none, search
//     is full-text only and hearth doctor says so);
//   - otherwise none.
func newEmbedder(cfg *config.Config, log *slog.Logger) (*embed.Client, error) {
	e := cfg.Embeddings
	openAICompatible := cfg.LLM.Provider == "" || cfg.LLM.Provider == "openai"
	o := embed.Options{BaseURL: e.BaseURL, APIKey: e.APIKey, Model: e.Model, Dimensions: e.Dimensions,
		HTTPClient: provider.NewHTTPClient(), Logger: log}
	switch {
	case e.Model != "" && e.BaseURL == "" && cfg.LLM.BaseURL != "" && openAICompatible:
		o.BaseURL = cfg.LLM.BaseURL
		if o.APIKey == "" {
			o.APIKey = cfg.LLM.APIKey
		}
	case e.Model != "":
	case e.BaseURL != "":
		o.Discover = true
	case cfg.LLM.BaseURL != "" && openAICompatible:
		o.BaseURL, o.APIKey, o.Discover = cfg.LLM.BaseURL, cfg.LLM.APIKey, true
	default:
		return nil, nil
	}
	c, err := embed.New(o)
	if err != nil {
		return nil, fmt.Errorf("embeddings: %w", err)
	}
	return c, nil
}

// MemoryUser resolves whose memory a CLI command works on: the owner when
// ref is empty, else the user with that id or name.
func (b *Bot) MemoryUser(ctx context.Context, ref string) (engine.User, error) {
	if strings.TrimSpace(ref) == "" {
		return b.ownerUser(ctx)
	}
	return b.FindUser(ctx, ref)
}

// ownerUser is the owner (the console identity's user).
func (b *Bot) ownerUser(ctx context.Context) (engine.User, error) {
	id, err := b.Store.IdentityFor(ctx, ownerChannel, ownerID)
	if err != nil {
		return engine.User{}, fmt.Errorf("owner: %w", err)
	}
	return b.Store.GetUser(ctx, id.UserID)
}

// searchMemoryHits runs a search of the owner's memory for the console's
// /memory search (repl.Admin.SearchMemory), best hit first.
func (b *Bot) searchMemoryHits(ctx context.Context, mem *memory.Memory, query string) ([]repl.MemoryHit, error) {
	if mem == nil {
		return nil, repl.ErrNotAvailable
	}
	owner, err := b.ownerUser(ctx)
	if err != nil {
		return nil, err
	}
	res, err := mem.Search(ctx, owner.ID, query, memory.SearchOptions{Limit: 10})
	if err != nil {
		return nil, err
	}
	out := make([]repl.MemoryHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, repl.MemoryHit{Path: h.Chunk.Path, Rank: h.Rank, Method: h.Methods(), Snippet: snippet(h.Chunk.Text, 120)})
	}
	return out, nil
}

// snippet is the first n characters of text on one line.
func snippet(text string, n int) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// memoryChecks are hearth doctor's findings on memory: whether vector
// search is on (and why not), what waits to be indexed, and identity
// files that the prompt truncates. mem is a memory over the doctor's
// store.
func memoryChecks(ctx context.Context, mem *memory.Memory, users []engine.User) []Check {
	var out []Check
	st, err := mem.Status(ctx)
	if err != nil {
		return []Check{{Name: "memory", Severity: Fail, Detail: err.Error(), Fix: "the store does not answer memory queries; check the database"}}
	}
	detail := fmt.Sprintf("%d documents, %d chunks (%d with vectors)", st.Stats.Documents, st.Stats.Chunks, st.Stats.ChunksEmbedded)
	switch {
	case st.Vector:
		out = append(out, Check{Name: "memory search", Severity: OK,
			Detail: fmt.Sprintf("hybrid (full text + vectors of %s, %d dimensions, RRF k=%d); %s", st.Space.Model, st.Space.Dimensions, st.RRFK, detail)})
	default:
		out = append(out, Check{Name: "memory search", Severity: Warn, Detail: "full-text ranking only: " + st.Note + "; " + detail,
			Fix: "set embeddings.model (and embeddings.base_url, or serve embeddings at llm.base_url) for search by meaning"})
	}
	if st.StoredSpace.Dimensions > 0 && st.Vector && st.StoredSpace != st.Space {
		out = append(out, Check{Name: "memory vectors", Severity: Warn,
			Detail: fmt.Sprintf("stored vectors are of %s/%d, the configured model is %s/%d", st.StoredSpace.Model, st.StoredSpace.Dimensions, st.Space.Model, st.Space.Dimensions),
			Fix:    "start Hearth: the indexer re-embeds every chunk with the configured model"})
	}
	if st.Stats.DocumentsToIndex > 0 {
		out = append(out, Check{Name: "memory index", Severity: Warn, Detail: fmt.Sprintf("%d documents wait to be indexed", st.Stats.DocumentsToIndex),
			Fix: "start Hearth (hearth serve): the indexer catches up in the background"})
	}
	for _, u := range users {
		rep, err := mem.CheckPrompt(ctx, u)
		if err != nil {
			out = append(out, Check{Name: "identity files", Severity: Fail, Detail: u.Name + ": " + err.Error()})
			continue
		}
		if probs := rep.Problems(); len(probs) > 0 {
			out = append(out, Check{Name: "identity files", Severity: Warn,
				Detail: fmt.Sprintf("%s: truncated in the prompt: %s", u.Name, strings.Join(probs, "; ")),
				Fix:    fmt.Sprintf("shorten these files (each is capped at %d characters, all together at %d)", rep.FileCap, rep.TotalCap)})
		}
	}
	return out
}

// MemoryDoctor reports the memory checks of hearth doctor on the bot's
// store (ModeAdmin is enough). It asks the embedding provider for its
// model when needed and writes nothing.
func (b *Bot) MemoryDoctor(ctx context.Context) []Check {
	return doctorMemory(ctx, b.cfg, b.Store, b.log)
}

// doctorMemory is MemoryDoctor on any store (Doctor calls it with the
// store it opened).
func doctorMemory(ctx context.Context, cfg *config.Config, st engine.Store, log *slog.Logger) []Check {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mem, err := newMemory(cfg, st, log, time.Now)
	if errors.Is(err, ErrNoMemory) {
		return []Check{{Name: "memory", Severity: Warn, Detail: err.Error(), Fix: "use the embedded store or PostgreSQL"}}
	}
	if err != nil {
		return []Check{{Name: "memory", Severity: Fail, Detail: err.Error(), Fix: "check the embeddings.* keys"}}
	}
	users, err := st.ListUsers(ctx)
	if err != nil {
		return []Check{{Name: "memory", Severity: Fail, Detail: err.Error()}}
	}
	_ = mem.Probe(ctx) // an unavailable provider is reported by the checks
	return memoryChecks(ctx, mem, users)
}
