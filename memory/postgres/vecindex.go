package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/jackc/pgx/v5"
)

// The vector index, over the half-precision copies of the vectors
// (embedding::halfvec(N)) of chunk_vectors; searches rescore its
// candidates with the full vectors. It is partial, WHERE indexed: a vector
// is written staged, outside it, and the absorber (absorb.go) marks staged
// vectors indexed in small transactions, which inserts them; searches
// compare a user's staged vectors exactly (search.go). Two kinds
// (Options.VectorIndex):
//
//   - HNSW (the default), a graph that each insert links into (searching
//     it and updating some thirty neighbours: about 2,000 buffer visits,
//     2.5 ms at 100,000 vectors of 384 dimensions, which held chunk writes
//     to 400 chunks/s when they inserted). Staged, the inserts cost the
//     writes nothing; an absorber moves some 400 vectors/s (per process).
//     It has the better recall: 1.0 on the benchmarks' corpora when built
//     over them, 0.98 and 1.0 when grown by the absorber. It is built once
//     and kept current by the absorber.
//   - IVFFlat sorts the vectors into lists around centres learnt from the
//     data when it is built; a search reads the vectors of the ivfProbes
//     lists nearest the query. An insert only finds its nearest list. The
//     lists are learnt once, so the store builds the index again, with
//     more lists, each time the number of vectors doubles. Its recall
//     depends on how clustered the vectors are: 1.0 on the benchmark's
//     corpus, 0.63 on a harder one (1,000 loose clusters).
//
// Either way the store builds the index when a space reaches vecIndexMin
// vectors (below, searches compare every vector: exact, and fast at that
// size) and drops it when fewer remain or the space changes. A build is
// one transaction: it locks the embedding space row (so that processes
// sharing the database build one at a time, and never across a change of
// space), marks every staged vector indexed, creates the new index beside
// the old one, drops the old one and records the new one's size in
// embedding_space. Chunk writes wait for it (they read the space with FOR
// SHARE, and CREATE INDEX holds off writes); searches go on with the old
// index until the swap. A build over many vectors is much faster than
// inserting them one by one (HNSW builds its graph in memory: some 30 s
// at 100,000 vectors, where the absorber takes four minutes), which is
// why a database upgraded or converted gets its index built at Open.
//
// When to look: every process counts the vectors it writes and checks the
// table (one count) when, by its own writes alone, the next build could
// be due (and at least every maxCheckEvery vectors); the check runs at the
// end of the write that reaches it, and once at Open.

// The kinds of vector index, for Options.VectorIndex.
const (
	VectorIndexIVFFlat = "ivfflat"
	VectorIndexHNSW    = "hnsw"
)

const (
	// vecIndexMin is the number of vectors (of all users) from which the
	// space has an index; below, searches compare every vector.
	vecIndexMin = exactSearchBelow
	// vecIndexGrowth: an IVFFlat index is rebuilt when the vectors have
	// grown by this factor since it was built.
	vecIndexGrowth = 2
	// ivfProbes is the number of lists an IVFFlat search reads (set on
	// every connection). With sqrt(n) lists it reads ivfProbes*sqrt(n)
	// vectors, 6,300 of 100,000: pgvector's advice of sqrt(lists) probes
	// up to 400 lists, a smaller share above.
	ivfProbes = 20
	// hnswEfSearch is the candidate list of an HNSW search: 200 lifts
	// recall@10 on a graph the absorber grew from 0.93 (at 100) to 0.98
	// on the benchmarks' clustered corpus, for 0.5 ms.
	hnswEfSearch = 200
	// hnswM and hnswEfConstruction shape the HNSW graph: pgvector's
	// defaults (the absorber, not the writes, pays for the inserts).
	hnswM              = 16
	hnswEfConstruction = 64
	// minCheckEvery and maxCheckEvery bound the vectors a process writes
	// between two checks: a count of the vectors, some 10 ms at 100,000.
	// The upper bound lets a process catch up with builds and changes of
	// space that others made.
	minCheckEvery = 256
	maxCheckEvery = 4096
)

// vecKind is a kind of vector index.
type vecKind struct {
	name   string // the index's name
	method string // its access method
	// regrow: rebuilt as the vectors grow (IVFFlat's lists are learnt).
	regrow bool
}

var (
	ivfflatKind = vecKind{name: "chunk_vectors_ivf", method: "ivfflat", regrow: true}
	hnswKind    = vecKind{name: "chunk_vectors_hnsw", method: "hnsw"}
)

// vecIndexNames are the names a vector index of any kind may have.
var vecIndexNames = []string{ivfflatKind.name, hnswKind.name}

// vectorIndexKind resolves Options.VectorIndex.
func vectorIndexKind(name string) (vecKind, error) {
	switch name {
	case "", VectorIndexHNSW:
		return hnswKind, nil
	case VectorIndexIVFFlat:
		return ivfflatKind, nil
	}
	return vecKind{}, fmt.Errorf("postgres: open: unknown vector index %q (want %q or %q)", name, VectorIndexHNSW, VectorIndexIVFFlat)
}

// ivfLists is the number of lists of an IVFFlat index over n vectors:
// sqrt(n), between 10 and 4,000.
func ivfLists(n int64) int {
	return min(max(int(math.Sqrt(float64(n))), 10), 4000)
}

// createSQL creates an index of kind k named name over n vectors of dims
// dimensions, and returns its lists (0 for HNSW). The dimension and lists
// are integers the store computed: nothing to inject.
func (k vecKind) createSQL(name string, dims int, n int64) (string, int) {
	if k.method == "hnsw" {
		return fmt.Sprintf(`CREATE INDEX %s ON chunk_vectors
			USING hnsw ((embedding::halfvec(%d)) halfvec_cosine_ops) WITH (m = %d, ef_construction = %d)
			WHERE indexed`, name, dims, hnswM, hnswEfConstruction), 0
	}
	lists := ivfLists(n)
	return fmt.Sprintf(`CREATE INDEX %s ON chunk_vectors
		USING ivfflat ((embedding::halfvec(%d)) halfvec_cosine_ops) WITH (lists = %d)
		WHERE indexed`, name, dims, lists), lists
}

// buildMemory is the maintenance_work_mem, in kB, a build over n vectors
// of dims dimensions wants: IVFFlat samples 50 vectors per list for its
// k-means; HNSW builds its graph in memory when it fits (some 2 kB per
// vector), else much more slowly on disk. At least 64 MB, at most 1 GB.
func (k vecKind) buildMemory(dims int, n int64) int {
	var need int64
	if k.method == "hnsw" {
		need = n * int64(dims*2+1024) / 1024
	} else {
		need = 50 * int64(ivfLists(n)) * int64(dims*4+64) * 2 / 1024
	}
	return int(min(max(need, 64*1024), 1024*1024))
}

// vecWatch counts the vectors this process wrote since it last checked
// the index.
type vecWatch struct {
	mu      sync.Mutex
	written int64
	due     int64 // check when written reaches due
}

// noteVectors records n vectors written (staged), wakes the absorber and,
// when a check is due, checks the index (building it when needed). The write they belong to has
// committed: a failed check is logged, not returned, and tried again
// after the next vecIndexMin vectors.
func (s *Store) noteVectors(ctx context.Context, n int) {
	if n <= 0 {
		return
	}
	s.wakeAbsorber()
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
	next, err := s.maintainVectorIndex(ctx, true)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("postgres: vector index upkeep failed; searches go on with the current index", "err", err)
		}
		return
	}
	w.mu.Lock()
	w.due = next
	w.mu.Unlock()
}

// MaintainVectorIndex builds the vector index when the stored vectors
// call for it (see vecindex.go): when the space first has vecIndexMin
// vectors, when the index is of another kind than Options.VectorIndex,
// and (IVFFlat) each time the vectors double; it drops the index when
// fewer than vecIndexMin vectors remain. The store does this by itself as
// vectors are written and at Open; operators and benchmarks may call it
// after loading or deleting many vectors at once. It waits for a build
// another process runs.
func (s *Store) MaintainVectorIndex(ctx context.Context) error {
	next, err := s.maintainVectorIndex(ctx, true)
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
// Unless wait is set, it gives up at once (checking again after
// minCheckEvery vectors) when the space's row is locked: by a build or a
// change of space in another process, or by chunk writes in flight.
func (s *Store) maintainVectorIndex(ctx context.Context, wait bool) (int64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	k := s.vecKind
	var next int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var (
			dims           int
			built, vectors int64
		)
		lock := `FOR UPDATE`
		if !wait {
			lock = `FOR UPDATE SKIP LOCKED`
		}
		err := tx.QueryRow(ctx, `SELECT dims, index_vectors FROM embedding_space WHERE id = 1 `+lock).Scan(&dims, &built)
		if errors.Is(err, pgx.ErrNoRows) && !wait {
			next = minCheckEvery
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM chunk_vectors`).Scan(&vectors); err != nil {
			return err
		}
		present, others, err := s.vectorIndexes(ctx, tx, k)
		if err != nil {
			return err
		}
		dropOthers := func() error {
			for _, name := range others {
				if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+name); err != nil {
					return err
				}
			}
			return nil
		}
		switch {
		case dims <= 0 || dims > maxIndexedDims || vectors < vecIndexMin:
			next = vecIndexMin - vectors
			if !present && len(others) == 0 && built == 0 {
				return nil
			}
			// Too few vectors to be worth an index (or none indexable).
			if err := dropOthers(); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DROP INDEX IF EXISTS `+k.name); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE embedding_space SET index_vectors = 0, index_lists = 0 WHERE id = 1`)
			return err
		case present && built > 0 && (!k.regrow || vectors < vecIndexGrowth*built):
			next = maxCheckEvery
			if k.regrow {
				next = vecIndexGrowth*built - vectors
			}
			return dropOthers()
		}
		// The new index is built beside the old one, which searches keep
		// using until the swap at commit, over every vector: the staged
		// ones are marked indexed first.
		create, lists := k.createSQL(k.name+"_new", dims, vectors)
		s.log.Info("postgres: building the vector index", "kind", k.method, "vectors", vectors, "dimensions", dims)
		steps := []string{
			fmt.Sprintf(`SET LOCAL maintenance_work_mem = %d`, k.buildMemory(dims, vectors)),
			`UPDATE chunk_vectors SET indexed = true WHERE NOT indexed`,
			`DROP INDEX IF EXISTS ` + k.name + `_new`,
			create,
			`DROP INDEX IF EXISTS ` + k.name,
			`ALTER INDEX ` + k.name + `_new RENAME TO ` + k.name,
		}
		for _, sql := range steps {
			if _, err := tx.Exec(ctx, sql); err != nil {
				return fmt.Errorf("build the %s vector index over %d vectors: %w", k.method, vectors, err)
			}
		}
		if err := dropOthers(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE embedding_space SET index_vectors = $1, index_lists = $2 WHERE id = 1`,
			vectors, lists); err != nil {
			return err
		}
		s.log.Info("postgres: vector index built", "kind", k.method, "vectors", vectors, "lists", lists, "dimensions", dims)
		next = maxCheckEvery
		if k.regrow {
			next = (vecIndexGrowth - 1) * vectors
		}
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

// vectorIndexes reports whether a valid index of kind k exists on
// chunk_vectors, and the names of the vector indexes of other kinds.
func (s *Store) vectorIndexes(ctx context.Context, tx pgx.Tx, k vecKind) (present bool, others []string, err error) {
	rows, err := tx.Query(ctx, `SELECT c.relname, am.amname, i.indisvalid
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
		WHERE i.indrelid = to_regclass(format('%I.chunk_vectors', $1::text)) AND c.relname = ANY($2)`,
		s.schema, vecIndexNames)
	if err != nil {
		return false, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, method string
		var valid bool
		if err := rows.Scan(&name, &method, &valid); err != nil {
			return false, nil, err
		}
		if name == k.name && method == k.method && valid {
			present = true
		} else if name != k.name {
			others = append(others, name)
		}
	}
	return present, others, rows.Err()
}
