// Package ftsquery turns what a person typed into the words of a
// full-text query, the same way for every store: distinct lower-case words
// of letters and digits (everything else, including any query syntax of
// the engine, separates words), common English words left out unless
// nothing else remains, and at most MaxWords of them.
package ftsquery

import (
	"strings"
	"unicode"
)

// MaxWords bounds the words of one full-text query.
const MaxWords = 32

// stopwords match most chunks, add nothing to the ranking and make a
// query slow on a large corpus. English only; other languages' common
// words are weighed down by the ranking alone.
var stopwords = map[string]bool{
	"a": true, "an": true, "and": true, "are": true, "as": true, "at": true, "be": true, "but": true,
	"by": true, "do": true, "for": true, "from": true, "has": true, "have": true, "i": true, "if": true,
	"in": true, "is": true, "it": true, "its": true, "me": true, "my": true, "no": true, "not": true,
	"of": true, "on": true, "or": true, "so": true, "that": true, "the": true, "their": true, "them": true,
	"there": true, "they": true, "this": true, "to": true, "was": true, "we": true, "were": true,
	"what": true, "when": true, "where": true, "which": true, "who": true, "will": true, "with": true,
	"you": true, "your": true, "s": true, "t": true, "d": true, "ll": true, "re": true, "ve": true, "m": true,
}

// IsStopword reports whether w (lower case) is a common English word that
// Words leaves out.
func IsStopword(w string) bool { return stopwords[w] }

// Words splits query into its distinct lower-case words in order of first
// appearance, leaving out stopwords unless only stopwords remain, and
// keeping at most MaxWords.
func Words(query string) []string {
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
	if len(words) > MaxWords {
		words = words[:MaxWords]
	}
	return words
}
