package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/hearthbot/hearth/engine"
)

// Searches. Full text: the GIN index on chunks.tsv finds the chunks with
// any of the query's words, ts_rank orders them (heading weight 1.0, text
// 0.5, normalised by the log of the chunk's length); on a large table,
// common words are left out and very many matches are ranked over the
// user's newest chunks only (fts.go). Vectors: a user with
// fewer than exactSearchBelow embedded chunks is searched exactly (every
// vector compared); above, the vector index answers for the indexed
// vectors (vecindex.go), with pgvector's iterative scan (set on every
// connection) so that the user and path filters still fill the requested
// number of hits, the user's staged vectors are compared exactly, and the
// candidates are rescored with the exact vectors. Hybrid:
// both rankings and their Reciprocal Rank Fusion in one SQL statement.

var _ engine.HybridSearcher = (*Store)(nil)

// exactSearchBelow is the number of a user's embedded chunks under which
// vector search compares every vector: exact (the engine contract asks it
// for small stores) and, at this size, faster than the index.
const exactSearchBelow = 2000

// params numbers the parameters of a statement being built.
type params struct{ args []any }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// prefixCond keeps the rows of table alias t (chunks or chunk_vectors)
// whose path starts with the prefix parameter.
func prefixCond(t, prefix string) string {
	return `(` + prefix + ` = '' OR starts_with(` + t + `.path, ` + prefix + `))`
}

// ftsRankSQL selects (id, score) of a user's chunks matching the tsquery
// parameter, best first, at most limit; a bound, when not "", keeps the
// chunks whose id is at least its value.
func ftsRankSQL(user, query, prefix, limit, bound string) string {
	cond := ""
	if bound != "" {
		cond = ` AND c.id >= ` + bound
	}
	return `SELECT c.id, ts_rank('{0.1, 0.2, 0.5, 1.0}'::float4[], c.tsv, to_tsquery('simple', ` + query + `), 1)::float8 AS score
		FROM chunks c
		WHERE c.user_id = ` + user + ` AND c.tsv @@ to_tsquery('simple', ` + query + `) AND ` + prefixCond("c", prefix) + cond + `
		ORDER BY score DESC, c.id LIMIT ` + limit
}

// ftsCTEs defines the CTE fts: (id, score) of the full-text hits of a
// plan, best first, at most limit. A plan that ranks part of the user's
// chunks ranks those whose ids lie in the newest part of the user's id
// range (its ends found by two probes of chunks_user), and every match
// when that part holds fewer than limit of them (see scoreCap).
func ftsCTEs(p *params, user, prefix, limit string, plan ftsPlan) []string {
	q := p.add(plan.query)
	if plan.part >= 1 {
		return []string{`fts AS (` + ftsRankSQL(user, q, prefix, limit, "") + `)`}
	}
	bound := `(SELECT r.hi - floor((r.hi - r.lo) * ` + p.add(plan.part) + `::float8)::bigint FROM (SELECT
			(SELECT id FROM chunks WHERE user_id = ` + user + ` ORDER BY id LIMIT 1) AS lo,
			(SELECT id FROM chunks WHERE user_id = ` + user + ` ORDER BY id DESC LIMIT 1) AS hi) r)`
	return []string{
		`fts_recent AS MATERIALIZED (` + ftsRankSQL(user, q, prefix, limit, bound) + `)`,
		`fts AS (SELECT id, score FROM fts_recent WHERE (SELECT count(*) FROM fts_recent) >= ` + limit + `
			UNION ALL
			SELECT id, score FROM (` + ftsRankSQL(user, q, prefix, limit, "") + `) e
			WHERE (SELECT count(*) FROM fts_recent) < ` + limit + `)`,
	}
}

// vectorSQL selects (id, dist) of a user's embedded chunks nearest the
// vector parameter by exact cosine distance, nearest first, at most limit.
// A user with few vectors is scanned exactly. Above, the vector index (on
// the half-precision copy of each vector, embedding::halfvec(N)) proposes
// annCandidates candidates among the indexed vectors, the user's staged
// vectors (not yet in the index: absorb.go) are compared exactly, and the
// two are merged. Every distance is the exact one of the full-precision
// vectors. A vector is either indexed or staged in any one snapshot, so
// none is counted twice while the absorber moves them. It needs the CTE
// nvec (vecCountCTE) in the statement.
func vectorSQL(dims int, user, vector, prefix, limit string) string {
	filter := `v.user_id = ` + user + ` AND ` + prefixCond("v", prefix)
	dist := `v.embedding <=> ` + vector + `::vector`
	exact := `SELECT v.chunk_id AS id, ` + dist + ` AS dist FROM chunk_vectors v
		WHERE ` + filter + ` ORDER BY dist, v.chunk_id LIMIT ` + limit
	if dims <= 0 || dims > maxIndexedDims {
		return exact
	}
	// The ORDER BY expression and the indexed condition are the index's:
	// (embedding::halfvec(N)) WHERE indexed.
	half := fmt.Sprintf(`::halfvec(%d)`, dims)
	few := `(SELECT n FROM nvec) < ` + strconv.Itoa(exactSearchBelow)
	return `SELECT id, dist FROM (
			SELECT * FROM (` + exact + `) e WHERE ` + few + `
			UNION ALL
			SELECT * FROM (SELECT v.chunk_id AS id, ` + dist + ` AS dist FROM chunk_vectors v
				WHERE NOT ` + few + ` AND v.indexed AND ` + filter + `
				ORDER BY (v.embedding` + half + `) <=> ` + vector + `::vector` + half + `
				LIMIT GREATEST(` + strconv.Itoa(annFactor) + ` * ` + limit + `, ` + strconv.Itoa(annMinCandidates) + `)) a
			UNION ALL
			SELECT * FROM (SELECT v.chunk_id AS id, ` + dist + ` AS dist FROM chunk_vectors v
				WHERE NOT ` + few + ` AND NOT v.indexed AND ` + filter + `
				ORDER BY dist, v.chunk_id LIMIT ` + limit + `) st
		) x ORDER BY dist, id LIMIT ` + limit
}

// The vector index proposes max(annFactor*limit, annMinCandidates)
// candidates for a search of limit hits, rescored exactly.
const (
	annFactor        = 2
	annMinCandidates = 40
)

// vecCountCTE counts a user's embedded chunks up to exactSearchBelow.
func vecCountCTE(user string) string {
	return `nvec AS MATERIALIZED (SELECT count(*) AS n FROM (SELECT 1 FROM chunk_vectors
		WHERE user_id = ` + user + ` LIMIT ` + strconv.Itoa(exactSearchBelow) + `) x)`
}

func checkSearch(op, userID string, limit int) error {
	if userID == "" || limit <= 0 {
		return fmt.Errorf("postgres: %s: need a user id and a positive limit, got %q/%d", op, userID, limit)
	}
	return nil
}

// FullTextSearch ranks a user's chunks against the words of query;
// Score is ts_rank's, higher is better.
func (s *Store) FullTextSearch(ctx context.Context, userID, query string, opts engine.SearchOptions) ([]engine.ChunkHit, error) {
	if err := checkSearch("full-text search", userID, opts.Limit); err != nil {
		return nil, err
	}
	plan, err := s.planFTS(ctx, userID, query)
	if err != nil || plan.query == "" {
		return nil, err
	}
	var p params
	user, prefix, limit := p.add(userID), p.add(opts.PathPrefix), p.add(opts.Limit)
	sql := `WITH ` + strings.Join(ftsCTEs(&p, user, prefix, limit, plan), ",\n") + `
		SELECT ` + chunkCols + `, f.score FROM fts f
		JOIN chunks c ON c.id = f.id JOIN documents d ON d.id = c.doc_id
		ORDER BY f.score DESC, f.id`
	hits, err := s.searchRows(ctx, sql, p.args, engine.MethodFullText)
	if err != nil {
		return nil, fmt.Errorf("postgres: full-text search: %w", err)
	}
	return hits, nil
}

// VectorSearch ranks a user's embedded chunks by cosine similarity to
// vector; Score is 1 - the cosine distance pgvector computes.
func (s *Store) VectorSearch(ctx context.Context, userID string, vector []float32, opts engine.SearchOptions) ([]engine.ChunkHit, error) {
	if err := checkSearch("vector search", userID, opts.Limit); err != nil {
		return nil, err
	}
	sp, err := s.EmbeddingSpace(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkQueryVector(sp, vector); err != nil {
		return nil, fmt.Errorf("postgres: vector search: %w", err)
	}
	var p params
	user := p.add(userID)
	sql := `WITH ` + vecCountCTE(user) + `
		SELECT ` + chunkCols + `, 1 - v.dist FROM (` +
		vectorSQL(sp.Dimensions, user, p.add(pgvector.NewVector(vector)), p.add(opts.PathPrefix), p.add(opts.Limit)) + `) v
		JOIN chunks c ON c.id = v.id JOIN documents d ON d.id = c.doc_id
		ORDER BY v.dist, v.id`
	hits, err := s.searchRows(ctx, sql, p.args, engine.MethodVector)
	if err != nil {
		return nil, fmt.Errorf("postgres: vector search: %w", err)
	}
	return hits, nil
}

func checkQueryVector(sp engine.EmbeddingSpace, vector []float32) error {
	if sp.Dimensions == 0 || len(vector) != sp.Dimensions {
		return fmt.Errorf("query of %d dimensions, space %q has %d: %w",
			len(vector), sp.Model, sp.Dimensions, engine.ErrDimensionMismatch)
	}
	return nil
}

// HybridSearch runs the full-text and vector searches and fuses them with
// Reciprocal Rank Fusion in one SQL statement, ranking exactly as
// memory.Fuse does over FullTextSearch and VectorSearch (both lists are
// the same SQL as those methods).
func (s *Store) HybridSearch(ctx context.Context, userID, query string, vector []float32, opts engine.HybridOptions) ([]engine.ChunkHit, error) {
	if err := checkSearch("hybrid search", userID, opts.Limit); err != nil {
		return nil, err
	}
	if opts.K <= 0 || opts.Candidates < opts.Limit {
		return nil, fmt.Errorf("postgres: hybrid search: need K > 0 and Candidates >= Limit, got %d/%d", opts.K, opts.Candidates)
	}
	plan, err := s.planFTS(ctx, userID, query)
	if err != nil {
		return nil, err
	}
	var sp engine.EmbeddingSpace
	if vector != nil {
		if sp, err = s.EmbeddingSpace(ctx); err != nil {
			return nil, err
		}
		if err := checkQueryVector(sp, vector); err != nil {
			return nil, fmt.Errorf("postgres: hybrid search: %w", err)
		}
	}
	if plan.query == "" && vector == nil {
		return nil, nil
	}
	var p params
	user, prefix, cands := p.add(userID), p.add(opts.PathPrefix), p.add(opts.Candidates)
	k := p.add(opts.K)
	ctes := []string{`ftsr AS (SELECT NULL::bigint AS id, NULL::bigint AS r WHERE false)`}
	if plan.query != "" {
		ctes = append(ftsCTEs(&p, user, prefix, cands, plan),
			`ftsr AS (SELECT id, row_number() OVER (ORDER BY score DESC, id) AS r FROM fts)`)
	}
	vec := `SELECT NULL::bigint AS id, NULL::bigint AS r WHERE false`
	if vector != nil {
		ctes = append(ctes, vecCountCTE(user))
		vec = `SELECT id, row_number() OVER (ORDER BY dist, id) AS r FROM (` +
			vectorSQL(sp.Dimensions, user, p.add(pgvector.NewVector(vector)), prefix, cands) + `) v`
	}
	ctes = append(ctes, `vec AS (`+vec+`)`,
		`fused AS (SELECT COALESCE(f.id, v.id) AS id, f.r AS fr, v.r AS vr,
			COALESCE(1::float8 / (`+k+` + f.r), 0) + COALESCE(1::float8 / (`+k+` + v.r), 0) AS score
			FROM ftsr f FULL JOIN vec v ON v.id = f.id)`)
	sql := `WITH ` + strings.Join(ctes, ",\n") + `
		SELECT ` + chunkCols + `, u.score FROM fused u
		JOIN chunks c ON c.id = u.id JOIN documents d ON d.id = c.doc_id
		ORDER BY u.score DESC, COALESCE(u.fr, 9223372036854775807), COALESCE(u.vr, 9223372036854775807), u.id
		LIMIT ` + p.add(opts.Limit)
	hits, err := s.searchRows(ctx, sql, p.args, engine.MethodHybrid)
	if err != nil {
		return nil, fmt.Errorf("postgres: hybrid search: %w", err)
	}
	return hits, nil
}

// searchRows runs a search statement whose rows are chunkCols and a score,
// in rank order.
func (s *Store) searchRows(ctx context.Context, sql string, args []any, method string) ([]engine.ChunkHit, error) {
	hits, err := queryAll(ctx, s, func(r pgx.Row) (engine.ChunkHit, error) {
		var h engine.ChunkHit
		var updated time.Time
		c := &h.Chunk
		err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated, &h.Score)
		c.UpdatedAt = updated.UTC()
		h.Method = method
		return h, err
	}, sql, args...)
	for i := range hits {
		hits[i].Rank = i + 1
	}
	return hits, err
}
