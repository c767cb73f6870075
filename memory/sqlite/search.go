package sqlite

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/memory/ftsquery"
)

// Common words of a large workspace are left out of a query (when rarer
// words remain): a word in more than commonShare of a user's chunks adds
// almost nothing to BM25 (its IDF is near zero) but makes FTS5 score most
// of the corpus. Frequencies are counted over the whole index (all users:
// that is what a query reads), so a word is common only when it is also in
// more than commonFloor chunks. Workspaces under commonMinChunks chunks
// keep every word.
//
// A query whose words still match more than scoreCap chunks of such a
// workspace ranks the most recent chunks only, about scoreCap of the
// matches, so that its cost stays bounded however large the workspace
// grows (BM25 costs some 20 µs per match in this pure-Go SQLite; vector
// search, which the hybrid search fuses in, still covers everything). A
// query of common words only is not ranked by BM25 at all, whose term
// statistics alone read the words' whole posting lists: it returns the
// newest chunks containing the words (Score 0), which is also what their
// near-zero IDF would have made of it.
const (
	commonShare     = 0.1
	commonFloor     = 2000
	commonMinChunks = 2000
	scoreCap        = 600
)

// ftsOwner is the owner-column token of a user (the FTS triggers compute
// the same: 'u' || hex(user_id)).
func ftsOwner(userID string) string {
	return "u" + strings.ToUpper(hex.EncodeToString([]byte(userID)))
}

// ftsMatch builds the FTS5 expression: the user's owner token AND any of
// the words in the heading or text. Words are letters and digits only, so
// quoting them leaves nothing of FTS5's syntax to inject.
func ftsMatch(userID string, words []string) string {
	return `owner : "` + ftsOwner(userID) + `" AND ` + ftsWords(words)
}

// FullTextSearch ranks a user's chunks by BM25 against the words of query
// (the heading weighs twice the text); Score is the negated BM25 value,
// higher is better.
//
// It first ranks the matches of every user and keeps the user's (ftsTop):
// when the user holds most of the index, as in a personal deployment,
// that answers at once. Only when other users' chunks crowd the user's
// out of the first candidates does it ask again with the user's owner
// term in the match, which is exact for any mix of users but makes BM25
// visit the user's whole posting list.
func (s *Store) FullTextSearch(ctx context.Context, userID, query string, opts engine.SearchOptions) ([]engine.ChunkHit, error) {
	if userID == "" || opts.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: full-text search: need a user id and a positive limit, got %q/%d", userID, opts.Limit)
	}
	words := ftsquery.Words(query)
	if len(words) == 0 {
		return nil, nil
	}
	words, total, matches, allCommon, err := s.dropCommon(ctx, userID, words)
	if err != nil {
		return nil, fmt.Errorf("sqlite: full-text search: %w", err)
	}
	if allCommon && opts.PathPrefix == "" {
		hits, err := s.ftsRecent(ctx, userID, words, opts.Limit)
		if err != nil {
			return nil, fmt.Errorf("sqlite: full-text search: %w", err)
		}
		return hits, nil
	}
	var minID int64
	if total >= commonMinChunks && matches > scoreCap && opts.PathPrefix == "" {
		if minID, err = s.recentFrom(ctx, userID, total*scoreCap/matches, total); err != nil {
			return nil, fmt.Errorf("sqlite: full-text search: %w", err)
		}
	}
	var hits []engine.ChunkHit
	if opts.PathPrefix == "" {
		var done bool
		hits, done, err = s.ftsTop(ctx, userID, words, minID, opts.Limit)
		if err != nil {
			return nil, fmt.Errorf("sqlite: full-text search: %w", err)
		}
		if done {
			return hits, nil
		}
	}
	st, args := s.r.mem.fts, []any{ftsMatch(userID, words), userID, opts.Limit, minID}
	if opts.PathPrefix != "" {
		args = args[:3]
		st, args = s.r.mem.ftsUnder, append(args, opts.PathPrefix)
	}
	hits, err = queryAll(ctx, s, st, func(r scanner) (engine.ChunkHit, error) {
		var h engine.ChunkHit
		var updated int64
		c := &h.Chunk
		err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated, &h.Score)
		c.UpdatedAt = fromMicros(updated)
		h.Method = engine.MethodFullText
		return h, err
	}, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: full-text search: %w", err)
	}
	for i := range hits {
		hits[i].Rank = i + 1
	}
	return hits, nil
}

// dropCommon leaves out the words that most of the user's chunks contain,
// as long as a rarer word remains. It returns the words kept, the user's
// chunk count, an upper bound of the chunks the kept words match, and
// whether every word is common. Each word's matches are counted in the
// whole index (every user's: that is what a query reads) up to the
// threshold, so a common word costs a bounded read.
func (s *Store) dropCommon(ctx context.Context, userID string, words []string) (kept []string, total, matches int64, allCommon bool, err error) {
	rctx, err := s.readCtx(ctx)
	if err != nil {
		return nil, 0, 0, false, err
	}
	if err := s.r.mem.userChunks.QueryRowContext(rctx, userID).Scan(&total); err != nil {
		return nil, 0, 0, false, err
	}
	if total < commonMinChunks {
		return words, total, 0, false, nil
	}
	limit := max(int64(commonShare*float64(total)), commonFloor)
	for _, w := range words {
		var n int64
		if err := s.r.mem.termDocs.QueryRowContext(rctx, ftsWords([]string{w}), limit+1).Scan(&n); err != nil {
			return nil, 0, 0, false, err
		}
		if n <= limit {
			kept = append(kept, w)
			matches += n
		}
	}
	if len(kept) == 0 {
		return words, total, total, true, nil
	}
	return kept, total, min(matches, total), false, nil
}

// recentFrom returns the chunk id from which about the user's n newest
// chunks of total lie, assuming the user's ids spread evenly between the
// user's smallest and largest (two index lookups instead of a scan).
func (s *Store) recentFrom(ctx context.Context, userID string, n, total int64) (int64, error) {
	ctx, err := s.readCtx(ctx)
	if err != nil {
		return 0, err
	}
	var lo, hi int64
	if err := s.r.mem.idRange.QueryRowContext(ctx, userID).Scan(&lo, &hi); err != nil {
		return 0, err
	}
	if total <= 0 || n >= total {
		return 0, nil
	}
	return hi - (hi-lo)*n/total, nil
}

// topFactor is how many candidates of every user ftsTop ranks per hit
// asked for.
const topFactor = 2

// ftsTop ranks the matches of all users, best topFactor*limit, and keeps
// the user's. The result is exact (the user's best limit matches, in
// order) when at least limit of the candidates are the user's, or when
// there were fewer candidates than asked (every match was seen); done
// reports that.
func (s *Store) ftsTop(ctx context.Context, userID string, words []string, minID int64, limit int) ([]engine.ChunkHit, bool, error) {
	type cand struct {
		id   int64
		rank float64
	}
	want := topFactor * limit
	cands, err := queryAll(ctx, s, s.r.mem.ftsTop, func(r scanner) (cand, error) {
		var c cand
		return c, r.Scan(&c.id, &c.rank)
	}, ftsWords(words), minID, want)
	if err != nil || len(cands) == 0 {
		return nil, err == nil, err
	}
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.id
	}
	byID, err := s.chunksOf(ctx, userID, ids)
	if err != nil {
		return nil, false, err
	}
	var hits []engine.ChunkHit
	for _, c := range cands {
		ch, ok := byID[c.id]
		if !ok {
			continue
		}
		hits = append(hits, engine.ChunkHit{Chunk: ch, Score: -c.rank, Method: engine.MethodFullText, Rank: len(hits) + 1})
		if len(hits) == limit {
			break
		}
	}
	return hits, len(hits) == limit || len(cands) < want, nil
}

// ftsWords is the FTS5 expression matching any of the words in the
// heading or text.
func ftsWords(words []string) string {
	var b strings.Builder
	b.WriteString(`{heading text} : (`)
	for i, w := range words {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('"')
		b.WriteString(w)
		b.WriteByte('"')
	}
	b.WriteString(")")
	return b.String()
}

// chunksOf reads the user's chunks among ids, by id.
func (s *Store) chunksOf(ctx context.Context, userID string, ids []int64) (map[int64]engine.Chunk, error) {
	idJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := queryAll(ctx, s, s.r.mem.chunkRows, scanChunk, string(idJSON), userID)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]engine.Chunk, len(rows))
	for _, c := range rows {
		byID[c.ID] = c
	}
	return byID, nil
}

// ftsRecent returns the user's newest chunks containing any of the words,
// newest first, with Score 0: first among the newest matches of every
// user; when other users crowd the user out, again with the owner term
// (whose matches are all the user's).
func (s *Store) ftsRecent(ctx context.Context, userID string, words []string, limit int) ([]engine.ChunkHit, error) {
	var hits []engine.ChunkHit
	for _, match := range []string{ftsWords(words), ftsMatch(userID, words)} {
		want := topFactor * limit
		ids, err := queryAll(ctx, s, s.r.mem.ftsNewest, func(r scanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		}, match, want)
		if err != nil {
			return nil, err
		}
		byID, err := s.chunksOf(ctx, userID, ids)
		if err != nil {
			return nil, err
		}
		hits = hits[:0]
		for _, id := range ids {
			if c, ok := byID[id]; ok && len(hits) < limit {
				hits = append(hits, engine.ChunkHit{Chunk: c, Method: engine.MethodFullText, Rank: len(hits) + 1})
			}
		}
		if len(hits) == limit || len(ids) < want {
			break
		}
	}
	return hits, nil
}
