package memory

import (
	"context"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// Status is the state of the memory search, for hearth doctor and /status.
type Status struct {
	// Vector reports that vector search is on; when it is off, Note says
	// why and what to set, and search ranks by full text only.
	Vector bool   `json:"vector"`
	Note   string `json:"note,omitempty"`
	// Space is the embedding model and dimension in use.
	Space engine.EmbeddingSpace `json:"space"`
	// StoredSpace is the space the store's vectors belong to.
	StoredSpace engine.EmbeddingSpace `json:"stored_space"`
	RRFK        int                   `json:"rrf_k"`
	// Stats counts documents and chunks of every user.
	Stats engine.MemoryStats `json:"stats"`
	// IndexError is the last indexing or embedding failure, "" after a
	// success.
	IndexError string `json:"index_error,omitempty"`
	// LastIndexed is when indexing last succeeded.
	LastIndexed time.Time `json:"last_indexed,omitzero"`
}

// Status reports the memory search's state.
func (m *Memory) Status(ctx context.Context) (Status, error) {
	st := Status{RRFK: m.o.RRFK}
	x := m.idx
	x.mu.Lock()
	st.Space = x.space
	spaceErr, indexErr := x.spaceErr, x.indexErr
	st.LastIndexed = x.lastOK
	x.mu.Unlock()
	if indexErr != nil {
		st.IndexError = indexErr.Error()
	}
	switch {
	case m.o.Embedder == nil:
		st.Note = "no embedding provider configured: search ranks by full text only (set embeddings.model, and embeddings.base_url unless llm.base_url serves embeddings)"
	case spaceErr != nil:
		st.Note = "embedding provider unavailable, search ranks by full text only: " + spaceErr.Error()
	case st.Space.Dimensions == 0:
		st.Note = "embedding provider not probed yet (the indexer has not started); search ranks by full text only"
	default:
		st.Vector = true
	}
	var err error
	if st.StoredSpace, err = m.store.EmbeddingSpace(ctx); err != nil {
		return st, err
	}
	if st.Stats, err = m.store.MemoryStats(ctx, ""); err != nil {
		return st, err
	}
	return st, nil
}
