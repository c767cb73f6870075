package sqlite

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"

	"github.com/hearthbot/hearth/engine"
)

// maxQueryWords bounds the words of a full-text query.
const maxQueryWords = 32

// stopwords are left out of a full-text query unless nothing else
// remains: they match most chunks, add nothing to the ranking and make the
// query slow on a large corpus. English only; other languages' common
// words are weighed down by BM25 alone.
var stopwords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "but": true,
	"by": true, "do": true, "for": true, "from": true, "has": true, "have": true, "i": true, "if": true,
	"in": true, "is": true, "it": true, "its": true, "me": true, "my": true, "no": true, "not": true,
	"of": true, "on": true, "or": true, "so": true, "that": true, "the": true, "their": true, "them": true,
	"there": true, "they": true, "this": true, "to": true, "was": true, "we": true, "were": true,
	"what": true, "when": true, "where": true, "which": true, "who": true, "will": true, "with": true,
	"you": true, "your": true, "s": true, "t": true, "d": true, "ll": true, "re": true, "ve": true, "m": true,
}

// queryWords splits a query into its distinct lower-case words (letters
// and digits), leaving out stopwords unless only stopwords remain.
func queryWords(query string) []string {
	fields := strings.FieldsFunc(strings.ToLower(query), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	seen := map[string]bool{}
	var words, stop []string
	for _, f := range fields {
		if seen[f] {
			continue
		}
		seen[f] = true
		if stopwords[f] {
			stop = append(stop, f)
		} else {
			words = append(words, f)
		}
	}
	if len(words) == 0 {
		words = stop
	}
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	return words
}

// ftsOwner is the owner-column token of a user (the FTS triggers compute
// the same: 'u' || hex(user_id)).
func ftsOwner(userID string) string {
	return "u" + strings.ToUpper(hex.EncodeToString([]byte(userID)))
}

// ftsMatch builds the FTS5 expression: the user's owner token AND any of
// the words in the heading or text. Words are letters and digits only, so
// quoting them leaves nothing of FTS5's syntax to inject.
func ftsMatch(userID string, words []string) string {
	var b strings.Builder
	b.WriteString(`owner : "`)
	b.WriteString(ftsOwner(userID))
	b.WriteString(`" AND {heading text} : (`)
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

// FullTextSearch ranks a user's chunks by BM25 against the words of query
// (the heading weighs twice the text); Score is the negated BM25 value,
// higher is better.
func (s *Store) FullTextSearch(ctx context.Context, userID, query string, opts engine.SearchOptions) ([]engine.ChunkHit, error) {
	if userID == "" || opts.Limit <= 0 {
		return nil, fmt.Errorf("sqlite: full-text search: need a user id and a positive limit, got %q/%d", userID, opts.Limit)
	}
	words := queryWords(query)
	if len(words) == 0 {
		return nil, nil
	}
	hits, err := queryAll(ctx, s, s.r.mem.fts, func(r scanner) (engine.ChunkHit, error) {
		var h engine.ChunkHit
		var updated int64
		c := &h.Chunk
		err := r.Scan(&c.ID, &c.UserID, &c.Path, &c.Seq, &c.Heading, &c.Text, &c.Start, &c.End, &c.Hash, &updated, &h.Score)
		c.UpdatedAt = fromMicros(updated)
		h.Method = engine.MethodFullText
		return h, err
	}, ftsMatch(userID, words), userID, opts.PathPrefix, opts.Limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: full-text search: %w", err)
	}
	for i := range hits {
		hits[i].Rank = i + 1
	}
	return hits, nil
}
