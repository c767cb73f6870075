package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/jackc/pgx/v5"
)

// The vector index. An IVFFlat index (pgvector) over the half-precision
// copies of the vectors, embedding::halfvec(N): it sorts the vectors into
// lists around centres learnt from the data when it is built, and a search
// reads the vectors of the ivfProbes lists nearest the query (pgvector's
// iterative scan reads more while the user and path filters leave too
// few); the candidates are rescored with the full vectors.
//
// An insert only finds its nearest list, so indexing stays fast however
// many vectors there are (an HNSW insert, which updates some thirty graph
// neighbours, held indexing at 100,000 vectors below 1,000 chunks/s). The
// price is that the lists are learnt once: the store builds the index when
// a space reaches vecIndexMin vectors and builds it again, with more
// lists, each time the number of vectors doubles. The builds cost about
// twice the last one in all (about 5 s at 100,000 vectors of 384
// dimensions), a fraction of a millisecond per vector.
//
// A build is one transaction: it locks the embedding space row (so that
// processes sharing the database build one at a time, and never across a
// change of space), creates the new index, drops the old one and records
// the new one's size in embedding_space. Chunk writes wait for it (they
// read the space with FOR SHARE, and CREATE INDEX holds off writes);
// searches go on with the old index until the swap.
//
// When to look: every process counts the vectors it writes and checks the
// table (one count) when, by its own writes alone, the next build could
// be due (and at least every maxCheckEvery vectors); the check runs at the
// end of the write that reaches it, and once at Open.

const (
	// vecIndexName is the index's name.
	vecIndexName = "chunks_embedding_ivf"
	// vecIndexMin is the number of vectors (of all users) from which the
	// space has an index; below, searches compare every vector.
	vecIndexMin = exactSearchBelow
	// vecIndexGrowth: the index is rebuilt when the vectors have grown by
	// this factor since it was built.
	vecIndexGrowth = 2
	// ivfProbes is the number of lists a search reads (set on every
	// connection). With sqrt(n) lists, a search reads ivfProbes*sqrt(n)
	// vectors: 6,300 of 100,000.
	ivfProbes = 20
	// minCheckEvery and maxCheckEvery bound the vectors a process writes
	// between two checks: a count of the vectors, some 10 ms at 100,000.
	// The upper bound lets a process catch up with builds and changes of
	// space that others made.
	minCheckEvery = 256
	maxCheckEvery = 4096
)

// ivfLists is the number of lists of an index over n vectors: sqrt(n),
// between 10 and 4,000.
func ivfLists(n int64) int {
	return min(max(int(math.Sqrt(float64(n))), 10), 4000)
}

// ivfIndexSQL creates the index of a space of dims dimensions with lists
// lists under name. The dimension and lists are integers the store
// computed: nothing to inject.
func ivfIndexSQL(name string, dims, lists int) string {
	return fmt.Sprintf(`CREATE INDEX %s ON chunks
		USING ivfflat ((embedding::halfvec(%d)) halfvec_cosine_ops) WITH (lists = %d)
		WHERE embedding IS NOT NULL`, name, dims, lists)
}

// ivfBuildMemory is the maintenance_work_mem, in kB, a build of lists
// lists of dims dimensions needs: pgvector samples 50 vectors per list for
// its k-means, held as float32, with room to spare; at least 64 MB.
func ivfBuildMemory(dims, lists int) int {
	need := 50 * lists * (dims*4 + 64) * 2 / 1024
	return max(need, 64*1024)
}

// vecWatch counts the vectors this process wrote since it last checked
// the index.
type vecWatch struct {
	mu      sync.Mutex
	written int64
	due     int64 // check when written reaches due
}

// noteVectors records n vectors written and, when a check is due, checks
// the index (building it when needed). The write they belong to has
// committed: a failed check is logged, not returned, and tried again
// after the next vecIndexMin vectors.
func (s *Store) noteVectors(ctx context.Context, n int) {
	if n <= 0 {
		return
	}
	w := &s.vec
	w.mu.Lock()
	w.written += int64(n)
	check := w.written >= w.due
	if check {
		w.written, w.due = 0, vecIndexMin // until the check says better
	}
	w.mu.Unlock()
	if !check {
		return
	}
	next, err := s.maintainVectorIndex(ctx)
	if err != nil {
		s.log.Warn("postgres: vector index upkeep failed; searches go on with the current index", "err", err)
		return
	}
	w.mu.Lock()
	w.due = next
	w.mu.Unlock()
}

// MaintainVectorIndex builds the vector index when the stored vectors
// call for it (see vecindex.go): the first time the space has vecIndexMin
// vectors, and again each time they double. The store does this by itself
// as vectors are written and at Open; operators and benchmarks may call it
// after loading many vectors at once. It waits for a build another
// process runs.
func (s *Store) MaintainVectorIndex(ctx context.Context) error {
	next, err := s.maintainVectorIndex(ctx)
	if err != nil {
		return err
	}
	s.vec.mu.Lock()
	s.vec.written, s.vec.due = 0, next
	s.vec.mu.Unlock()
	return nil
}

// maintainVectorIndex checks the index and builds it when due. It returns
// how many more vectors this process may write before the next check.
func (s *Store) maintainVectorIndex(ctx context.Context) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var next int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var (
			dims           int
			built, vectors int64
			lists          int
		)
		if err := tx.QueryRow(ctx, `SELECT dims, index_vectors, index_lists FROM embedding_space WHERE id = 1 FOR UPDATE`).
			Scan(&dims, &built, &lists); err != nil {
			return err
		}
		if dims <= 0 || dims > maxIndexedDims {
			next = vecIndexMin
			return nil
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM chunks WHERE embedding IS NOT NULL`).Scan(&vectors); err != nil {
			return err
		}
		var present bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index
			WHERE indexrelid = to_regclass(format('%I.%I', $1::text, $2::text)) AND indisvalid)`,
			s.schema, vecIndexName).Scan(&present); err != nil {
			return err
		}
		if vectors < vecIndexMin {
			next = vecIndexMin - vectors
			if present || built > 0 { // too few left to be worth an index
				if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+vecIndexName); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `UPDATE embedding_space SET index_vectors = 0, index_lists = 0 WHERE id = 1`)
				return err
			}
			return nil
		}
		if present && built > 0 && vectors < vecIndexGrowth*built {
			next = vecIndexGrowth*built - vectors
			return nil
		}
		lists = ivfLists(vectors)
		// The new index is built beside the old one, which searches keep
		// using until the swap at commit.
		_, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL maintenance_work_mem = %d`, ivfBuildMemory(dims, lists)))
		if err == nil {
			_, err = tx.Exec(ctx, `DROP INDEX IF EXISTS `+vecIndexName+`_new`)
		}
		if err == nil {
			_, err = tx.Exec(ctx, ivfIndexSQL(vecIndexName+"_new", dims, lists))
		}
		if err == nil {
			_, err = tx.Exec(ctx, `DROP INDEX IF EXISTS `+vecIndexName)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `ALTER INDEX `+vecIndexName+`_new RENAME TO `+vecIndexName)
		}
		if err == nil {
			_, err = tx.Exec(ctx, `UPDATE embedding_space SET index_vectors = $1, index_lists = $2 WHERE id = 1`, vectors, lists)
		}
		if err != nil {
			return fmt.Errorf("build the vector index (%d lists over %d vectors): %w", lists, vectors, err)
		}
		s.log.Info("postgres: vector index built", "vectors", vectors, "lists", lists, "dimensions", dims)
		next = (vecIndexGrowth - 1) * vectors
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return 0, err
		}
		return 0, fmt.Errorf("postgres: vector index: %w", s.poolErr(err))
	}
	return min(max(next, minCheckEvery), maxCheckEvery), nil
}
