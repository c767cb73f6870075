package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hearthbot/hearth/memory/ftsquery"
)

// Full-text cost bounds, the model of memory/sqlite's. ts_rank reads
// every matching row (about 2 µs each: the heap visit and the ranking), so
// a query whose words are in a fifth of 100,000 chunks would cost 40 ms.
//
// Common words are left out of a query when rarer words remain: a word
// in more than commonShare of the chunks (and in more than commonFloor of
// them) adds almost nothing to the ranking but makes it read most of the
// table. Word frequencies come from PostgreSQL's own statistics of the
// tsv column (pg_stats.most_common_elems, kept by ANALYZE and autovacuum),
// counted over the whole table (every user's chunks: that is what a query
// reads). Tables under commonMinChunks rows keep every word.
//
// A query whose words still match more than scoreCap of the user's chunks
// ranks the user's most recent chunks only, about scoreCap of the
// matches: those with ids in the newest part of the user's id range (two
// index probes). The part is estimated from the statistics (the words'
// frequencies and the user's share of the table); when the estimate is
// wrong and the newest part holds fewer matches than asked for, the same
// statement ranks every match instead. So a query's cost stays bounded
// however large the workspace grows, and a query never returns fewer hits
// than the matches it has. Vector search, which the hybrid search fuses
// in, still covers every chunk. A query of common words only is ranked
// the same way, over its newest matches.
const (
	commonShare     = 0.1
	commonFloor     = 2000
	commonMinChunks = 2000
	scoreCap        = 600
	// statsTTL is how long the statistics are reused before being read
	// again (ANALYZE changes them at most every few minutes).
	statsTTL = time.Minute
)

// ftsPlan is a full-text query ready for SQL.
type ftsPlan struct {
	// query is the to_tsquery expression: the words kept, joined by |
	// (any of them). "" when the query has no words.
	query string
	// part is the share of the user's id range, from the newest end, whose
	// matches are ranked; 1 ranks every match.
	part float64
}

// termStats are PostgreSQL's statistics of the chunks table, as far as
// full-text planning needs them.
type termStats struct {
	rows float64 // pg_class.reltuples, all users (<= 0: never analyzed)
	// words maps the most common lexemes of chunks.tsv to the share of
	// rows containing them; any other lexeme is in at most rareShare.
	words     map[string]float64
	rareShare float64
	// users maps the most common user ids to their share of rows; any
	// other user has about otherUser.
	users     map[string]float64
	otherUser float64
}

// statsCache holds the statistics a Store read last.
type statsCache struct {
	mu   sync.Mutex
	st   *termStats
	read time.Time
}

// planFTS turns a query into a plan for userID's chunks: its words, the
// common ones left out, and the part of the user's chunks to rank.
func (s *Store) planFTS(ctx context.Context, userID, query string) (ftsPlan, error) {
	words := ftsquery.Words(query)
	if len(words) == 0 {
		return ftsPlan{}, nil
	}
	st, err := s.termStats(ctx)
	if err != nil {
		return ftsPlan{}, err
	}
	return st.plan(userID, words), nil
}

// plan applies the cost bounds to a query's words (see commonShare).
func (st *termStats) plan(userID string, words []string) ftsPlan {
	all := ftsPlan{query: strings.Join(words, " | "), part: 1}
	if st == nil || st.rows < commonMinChunks || st.words == nil {
		return all
	}
	share := func(w string) float64 {
		if f, ok := st.words[w]; ok {
			return f
		}
		return st.rareShare
	}
	var kept []string
	var matchShare float64
	for _, w := range words {
		if f := share(w); f <= commonShare || f*st.rows <= commonFloor {
			kept = append(kept, w)
			matchShare += f
		}
	}
	if len(kept) == 0 {
		kept = words
		for _, w := range words {
			matchShare += share(w)
		}
	}
	p := ftsPlan{query: strings.Join(kept, " | "), part: 1}
	userShare, ok := st.users[userID]
	if !ok {
		userShare = st.otherUser
	}
	matches := min(matchShare, 1) * userShare * st.rows
	if matches > scoreCap {
		p.part = scoreCap / matches
	}
	return p
}

// termStats returns the table's statistics, read again when older than
// statsTTL.
func (s *Store) termStats(ctx context.Context) (*termStats, error) {
	s.stats.mu.Lock()
	st, read := s.stats.st, s.stats.read
	s.stats.mu.Unlock()
	if st != nil && time.Since(read) < statsTTL {
		return st, nil
	}
	st, err := s.readTermStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: read full-text statistics: %w", err)
	}
	s.stats.mu.Lock()
	s.stats.st, s.stats.read = st, time.Now()
	s.stats.mu.Unlock()
	return st, nil
}

// readTermStats reads the statistics of the store's chunks table from
// pg_class and pg_stats. Missing statistics (a table never analyzed) make
// every query rank all its matches.
func (s *Store) readTermStats(ctx context.Context) (*termStats, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var (
		rows                float64
		lexemes, users      []string
		lexFreqs, userFreqs []float64
		distinct, nullShare *float64
	)
	err := s.pool.QueryRow(ctx, `SELECT c.reltuples::float8,
			t.most_common_elems::text::text[], t.most_common_elem_freqs::float8[],
			u.most_common_vals::text::text[], u.most_common_freqs::float8[], u.n_distinct::float8, u.null_frac::float8
		FROM pg_class c
		LEFT JOIN pg_stats t ON t.schemaname = $1 AND t.tablename = 'chunks' AND t.attname = 'tsv' AND NOT t.inherited
		LEFT JOIN pg_stats u ON u.schemaname = $1 AND u.tablename = 'chunks' AND u.attname = 'user_id' AND NOT u.inherited
		WHERE c.oid = to_regclass(format('%I.chunks', $1::text))`, s.schema).
		Scan(&rows, &lexemes, &lexFreqs, &users, &userFreqs, &distinct, &nullShare)
	if errors.Is(err, pgx.ErrNoRows) {
		return &termStats{}, nil
	}
	if err != nil {
		return nil, s.poolErr(err)
	}
	st := &termStats{rows: rows}
	// most_common_elem_freqs lists the lexemes' frequencies, then the
	// smallest and the largest of them (and, for some types, the share
	// of nulls).
	if len(lexemes) > 0 && len(lexFreqs) >= len(lexemes)+2 {
		st.words = make(map[string]float64, len(lexemes))
		for i, w := range lexemes {
			st.words[w] = lexFreqs[i]
		}
		// A lexeme below the list is rarer than its least common entry;
		// PostgreSQL's planner takes half of that, and so does this.
		st.rareShare = lexFreqs[len(lexemes)] / 2
	}
	st.users = make(map[string]float64, len(users))
	listed := 0.0
	for i, u := range users {
		if i < len(userFreqs) {
			st.users[u] = userFreqs[i]
			listed += userFreqs[i]
		}
	}
	if distinct != nil {
		nd := *distinct
		if nd < 0 { // a share of the rows
			nd = -nd * rows
		}
		rest := 1 - listed
		if nullShare != nil {
			rest -= *nullShare
		}
		if others := nd - float64(len(users)); others >= 1 && rest > 0 {
			st.otherUser = rest / others
		}
	} else {
		// No statistics of user_id: every user may hold every chunk (the
		// bound then errs on ranking fewer, and the fallback ranks all).
		st.otherUser = 1
	}
	return st, nil
}
