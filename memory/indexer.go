package memory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hearthbot/hearth/engine"
)

// prober is an embedder that can learn its model and dimension
// (memory/embed.Client).
type prober interface {
	Probe(ctx context.Context) (engine.EmbeddingSpace, error)
}

// indexer chunks and embeds changed documents in the background, in two
// goroutines with a queue of users each: chunking (store work only, fast)
// never waits for embedding (network calls that may hang until their
// timeout), so full-text search sees a change at once even while the
// embedding provider is down.
type indexer struct {
	m      *Memory
	chunkQ *queue
	embedQ *queue
	done   sync.WaitGroup

	batchBytes int // content stored per transaction (maxBatchBytes; tests lower it)

	chunkMu sync.Mutex // one chunking pass at a time
	embedMu sync.Mutex // one embedding pass at a time

	mu       sync.Mutex
	started  bool
	space    engine.EmbeddingSpace // zero until settled
	spaceErr error                 // why the space is not settled
	indexErr error                 // last indexing or embedding failure
	lastOK   time.Time
}

// queue is a set of users with work to do and a wake-up signal.
type queue struct {
	mu    sync.Mutex
	users map[string]bool
	wake  chan struct{}
}

func newQueue() *queue { return &queue{users: map[string]bool{}, wake: make(chan struct{}, 1)} }

func (q *queue) add(userID string) {
	q.mu.Lock()
	q.users[userID] = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.users))
	for u := range q.users {
		out = append(out, u)
	}
	clear(q.users)
	return out
}

func newIndexer(m *Memory) *indexer {
	return &indexer{m: m, chunkQ: newQueue(), embedQ: newQueue(), batchBytes: maxBatchBytes}
}

// notify marks a user's workspace as changed.
func (x *indexer) notify(userID string) { x.chunkQ.add(userID) }

// vectorSpace is the settled embedding space, or the zero value.
func (x *indexer) vectorSpace() engine.EmbeddingSpace {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.space
}

func (x *indexer) setErr(err error) {
	x.mu.Lock()
	x.indexErr = err
	if err == nil {
		x.lastOK = x.m.o.Now()
	}
	x.mu.Unlock()
}

func (x *indexer) start(ctx context.Context) {
	x.mu.Lock()
	if x.started {
		x.mu.Unlock()
		return
	}
	x.started = true
	x.mu.Unlock()
	x.done.Add(1)
	go func() {
		defer x.done.Done()
		x.run(ctx, x.chunkQ, true, func(ctx context.Context, u string) error {
			if err := x.chunkUser(ctx, u); err != nil {
				return err
			}
			if x.m.o.Embedder != nil {
				x.embedQ.add(u)
			}
			return nil
		})
	}()
	if x.m.o.Embedder != nil {
		x.done.Add(1)
		go func() {
			defer x.done.Done()
			x.run(ctx, x.embedQ, false, x.embedUser)
		}()
	}
}

func (x *indexer) wait() { x.done.Wait() }

// run serves one queue until ctx ends: it takes the queued users and
// works on each, pausing with backoff after a failure (the failed users
// stay queued). The embedding queue first settles the embedding space,
// retrying while the provider is down. Both resume, at start, the work
// every user left behind.
func (x *indexer) run(ctx context.Context, q *queue, chunking bool, work func(context.Context, string) error) {
	log := x.m.log
	delay := x.m.o.RetryDelay
	settled := chunking
	resume := true
	for {
		if !settled {
			if err := x.settleSpace(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("memory: vector search unavailable; full-text search only until the embedder answers",
					"err", err, "retry_in", delay)
			} else {
				settled = true
			}
		}
		if settled && resume && x.m.o.Users != nil {
			if users, err := x.m.o.Users.ListUsers(ctx); err == nil {
				resume = false
				for _, u := range users {
					q.add(u.ID)
				}
			} else if ctx.Err() == nil {
				log.Error("memory: listing users to index", "err", err)
			}
		}
		failed := false
		if settled {
			for _, u := range q.take() {
				if err := work(ctx, u); err != nil {
					if ctx.Err() != nil {
						return
					}
					failed = true
					q.add(u) // again after the pause
					log.Warn("memory: indexing failed; will retry", "user", u, "embedding", !chunking,
						"err", err, "retry_in", delay)
				}
			}
		}
		var retry <-chan time.Time
		if failed || !settled {
			retry = time.After(delay)
			delay = min(2*delay, maxRetryDelay)
		} else {
			delay = x.m.o.RetryDelay
		}
		if retry != nil {
			// After a failure only the pause ends the wait: new changes
			// queue up meanwhile.
			select {
			case <-ctx.Done():
				return
			case <-retry:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wake:
		}
	}
}

// learnSpace returns the embedder's space, probing it when its model or
// dimension is not configured, and records a failure for Status.
func (x *indexer) learnSpace(ctx context.Context) (engine.EmbeddingSpace, error) {
	e := x.m.o.Embedder
	sp := engine.EmbeddingSpace{Model: e.Model(), Dimensions: e.Dimensions()}
	var err error
	if sp.Model == "" || sp.Dimensions <= 0 {
		if p, ok := e.(prober); ok {
			sp, err = p.Probe(ctx)
		} else {
			err = fmt.Errorf("the embedder names no model or dimension (set embeddings.model and embeddings.dimensions)")
		}
	}
	if err != nil {
		x.mu.Lock()
		x.spaceErr = err
		x.mu.Unlock()
	}
	return sp, err
}

// settleSpace learns the embedder's space and records it in the store,
// which drops the vectors of another model so that they are re-embedded.
func (x *indexer) settleSpace(ctx context.Context) error {
	sp, err := x.learnSpace(ctx)
	if err != nil {
		return err
	}
	changed, err := x.m.store.SetEmbeddingSpace(ctx, sp)
	if err != nil {
		x.mu.Lock()
		x.spaceErr = err
		x.mu.Unlock()
		return err
	}
	if changed {
		x.m.log.Info("memory: embedding model set; embedding every chunk again", "model", sp.Model, "dimensions", sp.Dimensions)
	}
	x.mu.Lock()
	x.space, x.spaceErr = sp, nil
	x.mu.Unlock()
	return nil
}

// Probe learns the embedder's model and dimension, asking the provider
// when they are not configured, without changing the store, so that
// Search can rank by vectors and Status can tell whether the provider
// answers. The CLI and hearth doctor call it; a started indexer settles
// the space by itself. Without an embedder it does nothing.
func (m *Memory) Probe(ctx context.Context) error {
	if m.o.Embedder == nil || m.idx.vectorSpace().Dimensions > 0 {
		return nil
	}
	sp, err := m.idx.learnSpace(ctx)
	if err != nil {
		return err
	}
	m.idx.mu.Lock()
	m.idx.space, m.idx.spaceErr = sp, nil
	m.idx.mu.Unlock()
	return nil
}

// IndexNow indexes the user's changed documents and embeds their chunks
// now, returning when done. Background indexing does the same after every
// change; IndexNow is for the CLI and tests.
// When the embedding space is not settled yet it first tries to settle it;
// if the embedder is unavailable the documents are still indexed for
// full-text search (Status reports why vectors are missing).
func (m *Memory) IndexNow(ctx context.Context, userID string) error {
	if m.o.Embedder != nil && m.idx.vectorSpace().Dimensions == 0 {
		if err := m.idx.settleSpace(ctx); err != nil {
			m.log.Warn("memory: vector search unavailable", "err", err)
		}
	}
	return m.idx.indexUser(ctx, userID)
}
