package postgres

import (
	"context"
	"fmt"
	"time"
)

// Staged vectors. Chunk writes (ReplaceChunks, ReplaceChunksBatch,
// SetEmbeddings) store a vector with chunk_vectors.indexed = false, outside
// the vector index's predicate (WHERE indexed), so that they never pay for
// an index insert: 2.5 ms per vector for HNSW at 100,000 vectors of 384
// dimensions, which held writes to 400 chunks/s. Searches compare the
// searching user's staged vectors exactly, through the partial index
// chunk_vectors_staged, and merge them with the index's candidates
// (search.go): a staged vector is found as soon as its write commits.
//
// The absorber, a goroutine each store runs unless Options.NoAbsorber is
// set, marks staged vectors indexed, absorbBatch at a time, each batch one
// UPDATE (its own transaction) whose new row versions PostgreSQL inserts
// into the index. The batch's rows are chosen with FOR UPDATE SKIP LOCKED,
// so that the absorbers of several processes sharing a database take
// disjoint batches (a row another absorber has just marked is re-checked
// and left out): every staged vector is absorbed once, whichever process
// absorbs it. A search's snapshot sees each vector's row either staged or
// indexed, never both, so no vector is found twice while they move.
//
// The absorber runs absorbSettle after this store writes vectors (woken
// by the write) and otherwise every absorbIdle, for vectors other
// processes staged and did not absorb (a process stopped, or one with
// NoAbsorber), until none are left. Close stops it: a batch in flight is
// cancelled and rolled back, its vectors staying staged for the next
// absorber.
//
// The backlog's cost: each staged vector of the searching user is
// compared by every vector search (5,000 add some 2 ms at 100,000 vectors
// of 384 dimensions), and an absorber moves about 400 vectors/s, so a
// bulk load of 100,000 chunks, written at 5,000-7,000 chunks/s, is all in
// the index some four minutes later (two with two processes absorbing),
// and searchable throughout. StagedVectors reports the backlog.

const (
	// absorbBatch is the number of vectors one absorber transaction
	// marks: some 0.6 s of HNSW inserts at 100,000 vectors (an absorber
	// moves about 400 vectors/s), short enough for Close and for the row
	// locks it holds.
	absorbBatch = 256
	// absorbSettle is how long a woken absorber lets writes go on before
	// it starts, so that it takes the vectors of many small writes in
	// one batch rather than a few per write, and leaves a short burst of
	// writes the whole machine.
	absorbSettle = 100 * time.Millisecond
	// absorbIdle is how often an idle absorber looks for vectors other
	// processes staged.
	absorbIdle = 2 * time.Second
	// absorbRetry is the pause after a failed batch.
	absorbRetry = 5 * time.Second
)

// absorber is a store's background absorber.
type absorber struct {
	wake   chan struct{} // one pending wake-up at most
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine returns
}

// startAbsorber starts the store's absorber goroutine.
func (s *Store) startAbsorber() {
	ctx, cancel := context.WithCancel(context.Background())
	a := &absorber{wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	s.absorb = a
	go s.runAbsorber(ctx, a)
}

// stopAbsorber stops the absorber, if any, and waits for it to return.
func (s *Store) stopAbsorber() {
	if a := s.absorb; a != nil {
		a.cancel()
		<-a.done
	}
}

// wakeAbsorber tells the absorber that vectors were staged.
func (s *Store) wakeAbsorber() {
	if a := s.absorb; a != nil {
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// runAbsorber absorbs staged vectors until ctx is done: at once, then
// whenever woken or absorbIdle has passed, each time until none are left.
func (s *Store) runAbsorber(ctx context.Context, a *absorber) {
	defer close(a.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			timer.Reset(absorbSettle)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		case <-timer.C:
		}
		wait := absorbIdle
		start, total := time.Now(), 0
		for {
			n, err := s.absorbBatch(ctx, absorbBatch)
			total += n
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.log.Warn("postgres: absorbing staged vectors failed; searches compare them exactly meanwhile", "err", err)
				wait = absorbRetry
				break
			}
			if n < absorbBatch {
				break
			}
		}
		if total > 0 {
			s.log.Debug("postgres: staged vectors absorbed", "vectors", total, "took", time.Since(start))
		}
		timer.Reset(wait)
	}
}

// absorbBatch marks up to limit staged vectors indexed, in one statement,
// and returns how many it marked.
func (s *Store) absorbBatch(ctx context.Context, limit int) (int, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE chunk_vectors SET indexed = true WHERE chunk_id IN (
		SELECT chunk_id FROM chunk_vectors WHERE NOT indexed LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
	if err != nil {
		return 0, fmt.Errorf("postgres: absorb staged vectors: %w", s.poolErr(err))
	}
	return int(tag.RowsAffected()), nil
}

// AbsorbVectors moves staged vectors into the vector index now, as the
// absorber does, until none are left or it has moved max (no bound when
// max <= 0), and returns how many it moved. Vectors that other processes'
// absorbers are moving at the same time are left to them. For stores
// opened with Options.NoAbsorber, operators and benchmarks.
func (s *Store) AbsorbVectors(ctx context.Context, max int) (int, error) {
	total := 0
	for max <= 0 || total < max {
		limit := absorbBatch
		if max > 0 {
			limit = min(limit, max-total)
		}
		n, err := s.absorbBatch(ctx, limit)
		total += n
		if err != nil {
			return total, err
		}
		if n < limit {
			break
		}
	}
	return total, nil
}

// StagedVectors counts the vectors of a user (of every user when userID
// is "") that are written but not yet in the vector index: the
// absorbers' backlog. Searches compare these exactly, so a large backlog
// makes vector searches slower until the absorbers catch up.
func (s *Store) StagedVectors(ctx context.Context, userID string) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM chunk_vectors WHERE NOT indexed AND ($1 = '' OR user_id = $1)`,
		userID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: staged vectors: %w", s.poolErr(err))
	}
	return n, nil
}
