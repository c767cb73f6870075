package safety

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// slot is one step of a phrase: a word from any class in mask, starting at
// most maxGap skeleton bytes after the previous step ended.
type slot struct {
	mask   uint64
	maxGap int32
}

// phrase is a sequence of slots that reports rule when it completes.
type phrase struct {
	rule  string
	slots []slot
	// negGuard > 0: no match when a negation (cNeg) ends at most negGuard
	// skeleton bytes before the phrase starts ("do not ignore ...").
	negGuard int32
	// colon: the phrase must be followed by ':' ("New instructions:").
	colon bool
	// window > 0: the slots may come in any order within window bytes.
	window int32
}

func m(classes ...int) uint64 {
	var x uint64
	for _, c := range classes {
		x |= 1 << uint(c)
	}
	return x
}

func seq(rule string, first uint64, rest ...any) phrase {
	p := phrase{rule: rule, slots: []slot{{mask: first}}}
	for i := 0; i+1 < len(rest); i += 2 {
		p.slots = append(p.slots, slot{maxGap: int32(rest[i].(int)), mask: rest[i+1].(uint64)})
	}
	return p
}

func (p phrase) guard(n int32) phrase { p.negGuard = n; return p }
func (p phrase) needColon() phrase    { p.colon = true; return p }

// phrases are the phrase rules. Gaps are in skeleton bytes (letters only;
// a CJK character is three bytes).
var phrases = []phrase{
	seq(RuleIgnorePrevious, m(cIgnore), 24, m(cPrior), 24, m(cInstr)).guard(6),
	seq(RuleIgnorePrevious, m(cIgnore), 12, m(cYour), 24, m(cInstr)).guard(6),
	seq(RuleIgnorePrevious, m(cIgnore), 10, m(cAll), 24, m(cTold, cAbove)).guard(6),
	seq(RuleIgnorePrevious, m(cPrior), 12, m(cInstr), 24, m(cIgnorePost)),
	seq(RuleIgnorePrevious, m(cIgnore), 12, m(cInstr), 8, m(cPrior, cAbove)).guard(6),
	seq(RuleIgnorePrevious, m(cYour), 8, m(cInstr), 24, m(cIgnorePost)),
	seq(RuleIgnorePrevious, m(cFollowMine), 8, m(cInstead)),
	seq(RuleIgnorePrevious, m(cSupersede), 24, m(cPrior, cAll), 24, m(cInstr), 16, m(cReceived)),

	seq(RuleYouAreNow, m(cYouAreNow), 40, m(cPersona)),
	seq(RuleYouAreNow, m(cPersona), 15, m(cActAsPost)),

	seq(RuleNewInstructions, m(cNew), 6, m(cInstrStrict)).needColon(),
	seq(RuleNewInstructions, m(cNew), 6, m(cInstr), 6, m(cFrom), 10, m(cAuthority)),
	seq(RuleNewInstructions, m(cYour), 6, m(cNew), 6, m(cSysPrompt)),
	seq(RuleNewInstructions, m(cFrom), 3, m(cAuthority), 9, m(cNew), 3, m(cInstr)),
	seq(RuleNewInstructions, m(cYour), 4, m(cReal), 4, m(cInstrStrict)),

	seq(RulePromptLeak, m(cReveal), 14, m(cYour), 16, m(cSysPrompt)),
	seq(RulePromptLeak, m(cYour), 6, m(cSysPrompt), 12, m(cRevealPost)),
	seq(RulePromptLeak, m(cRepeat), 16, m(cTextWords, cAll), 20, m(cAbove)),
	seq(RulePromptLeak, m(cRepeat), 40, m(cStartYouAre)),

	seq(RuleStealth, m(cNegStrict), 4, m(cTell), 10, m(cTheUser)),
	seq(RuleStealth, m(cUserOwner), 6, m(cTellNegPost)),

	seq(RuleJailbreak, m(cJailbreak)),

	seq(RuleFakeApproval, m(cUserOwner, cAuthority), 12, m(cAlready), 12, m(cApproved), 10, m(cThis)),
	seq(RuleFakeApproval, m(cUserOwner, cAuthority), 16, m(cThis), 8, m(cAlready), 8, m(cApproved)),
	seq(RuleFakeApproval, m(cUserOwner, cAuthority), 8, m(cAlready), 8, m(cThis), 8, m(cApproved)),
	seq(RuleFakeApproval, m(cNoNeed), 6, m(cAsk), 10, m(cUserOwner)),

	seq(RuleDecodeAndFollow, m(cDecode), 48, m(cFollow)).guard(6),

	seq(RuleExfilInstruction, m(cAppend), 24, m(cSensData), 30, m(cURLWord)).guard(8),
	seq(RuleExfilInstruction, m(cSensData), 20, m(cURLWord), 20, m(cAppendPost)),
	seq(RuleExfilInstruction, m(cSensData), 40, m(cAppend), 24, m(cURLWord)).guard(8),
	{rule: RuleExfilInstruction, window: 90, negGuard: 8,
		slots: []slot{{mask: m(cSend)}, {mask: m(cSensData)}, {mask: m(cDest)}}},
}

// lexPat is one compiled lexicon word.
type lexPat struct {
	mask                     uint64
	needStart, needEnd, stem bool
}

// phraseIndex is the compiled lexicon and phrase rules, shared by every
// detector.
type phraseIndex struct {
	ac      *acMatcher
	pats    []lexPat
	phrases []compiledPhrase
	// byPat lists, for each lexicon word, the phrases it can take part in.
	byPat [][]int32
}

type compiledPhrase struct {
	phrase
	rule int
	any  uint64
}

var phraseIdx = sync.OnceValue(buildPhraseIndex)

// spacedScript reports letters of scripts that separate words with spaces.
func spacedScript(r rune) bool {
	return !(unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r) || r == 'ー')
}

// canonical returns the skeleton of a lexicon word.
func canonical(ft *foldTable, w string) string {
	var v view
	v.build(w, ft, nil)
	return string(v.skel)
}

func buildPhraseIndex() *phraseIndex {
	ft := folds()
	type key struct {
		s    string
		stem bool
	}
	merged := map[key]uint64{}
	var order []key
	for c, words := range lexicon {
		for _, w := range words {
			stem := strings.HasSuffix(w, "*")
			k := key{canonical(ft, strings.TrimSuffix(w, "*")), stem}
			if k.s == "" {
				panic("safety: lexicon word has no letters: " + w)
			}
			if _, ok := merged[k]; !ok {
				order = append(order, k)
			}
			merged[k] |= 1 << uint(c)
		}
	}
	idx := &phraseIndex{}
	pats := make([]string, len(order))
	for i, k := range order {
		first, _ := utf8.DecodeRuneInString(k.s)
		last, _ := utf8.DecodeLastRuneInString(k.s)
		pats[i] = k.s
		idx.pats = append(idx.pats, lexPat{mask: merged[k], needStart: spacedScript(first),
			needEnd: !k.stem && spacedScript(last), stem: k.stem && spacedScript(last)})
	}
	idx.ac = newAC(pats)
	for _, p := range phrases {
		ri := ruleIndex(p.rule)
		if ri < 0 {
			panic("safety: phrase for unknown rule " + p.rule)
		}
		cp := compiledPhrase{phrase: p, rule: ri}
		for _, s := range p.slots {
			cp.any |= s.mask
		}
		idx.phrases = append(idx.phrases, cp)
	}
	idx.byPat = make([][]int32, len(idx.pats))
	for i, p := range idx.pats {
		for pi, cp := range idx.phrases {
			if cp.any&p.mask != 0 {
				idx.byPat[i] = append(idx.byPat[i], int32(pi))
			}
		}
	}
	return idx
}

// wordHit is a lexicon word found in the skeleton.
type wordHit struct {
	start, end int32
	mask       uint64
	pat        int32
}

type span32 struct{ start, end int32 }

// phraseState is the per-scan scratch of the phrase matcher.
type phraseState struct {
	acHits  []acHit
	words   []wordHit
	partial [][][]span32 // [phrase][slot] completed prefixes
	last    [][]span32   // unordered phrases: last hit per slot (-1 = none)
	negEnds []int32
	urls    []span32 // fold spans of URLs and paths
}

// matchPhrases finds phrase rules in v.skel and appends findings.
func (idx *phraseIndex) matchPhrases(v *view, st *phraseState, out *sink) {
	st.acHits = idx.ac.scan(v.skel, st.acHits[:0])
	if len(st.acHits) == 0 {
		return
	}
	st.words = st.words[:0]
	st.urls = urlSpans(v.fold, st.urls[:0])
	for _, h := range st.acHits {
		p := idx.pats[h.pat]
		if p.needStart && v.skelFlag[h.start]&flagStart == 0 {
			continue
		}
		if p.needEnd && v.skelFlag[h.end-1]&flagEnd == 0 {
			continue
		}
		if insideURL(v.fold, st.urls, int(v.skelFold[h.start])) {
			continue // a word in a URL or path ("/v1/conversations/{id}") is not prose
		}
		end := h.end
		if p.stem { // a stem covers the rest of its word
			for end < int32(len(v.skel)) && v.skelFlag[end-1]&flagEnd == 0 && end-h.start < 40 {
				end++
			}
		}
		st.words = append(st.words, wordHit{start: h.start, end: end, mask: p.mask, pat: h.pat})
	}
	// Stems were extended to their word's end, so restore end order.
	slices.SortStableFunc(st.words, func(a, b wordHit) int { return int(a.end - b.end) })
	if len(st.partial) != len(idx.phrases) {
		st.partial = make([][][]span32, len(idx.phrases))
		st.last = make([][]span32, len(idx.phrases))
		for i, p := range idx.phrases {
			st.partial[i] = make([][]span32, len(p.slots))
			st.last[i] = make([]span32, len(p.slots))
		}
	}
	for i := range idx.phrases {
		for k := range st.partial[i] {
			st.partial[i][k] = st.partial[i][k][:0]
			st.last[i][k] = span32{-1, -1}
		}
	}
	st.negEnds = st.negEnds[:0]
	negBit := uint64(1) << cNeg
	for _, w := range st.words {
		for _, pi32 := range idx.byPat[w.pat] {
			pi := int(pi32)
			p := &idx.phrases[pi]
			if p.window > 0 {
				idx.unordered(v, st, pi, w, out)
				continue
			}
			n := len(p.slots)
			for k := n - 1; k >= 0; k-- {
				if p.slots[k].mask&w.mask == 0 {
					continue
				}
				if k == 0 {
					if p.negGuard > 0 && negatedBefore(st.negEnds, w.start, p.negGuard) {
						continue
					}
					if n == 1 {
						idx.emit(v, p, w.start, w.end, out)
					} else {
						st.partial[pi][0] = append(st.partial[pi][0], span32{w.start, w.end})
					}
					continue
				}
				prev := st.partial[pi][k-1]
				for j := len(prev) - 1; j >= 0; j-- {
					e := prev[j].end
					if e > w.start {
						continue
					}
					if w.start-e > p.slots[k].maxGap {
						break
					}
					if k == n-1 {
						idx.emit(v, p, prev[j].start, w.end, out)
					} else {
						st.partial[pi][k] = append(st.partial[pi][k], span32{prev[j].start, w.end})
					}
					break
				}
			}
		}
		if w.mask&negBit != 0 {
			st.negEnds = append(st.negEnds, w.end)
		}
	}
}

func negatedBefore(ends []int32, start, guard int32) bool {
	for j := len(ends) - 1; j >= 0; j-- {
		e := ends[j]
		if e > start {
			continue
		}
		return start-e <= guard
	}
	return false
}

func (idx *phraseIndex) unordered(v *view, st *phraseState, pi int, w wordHit, out *sink) {
	p := &idx.phrases[pi]
	last := st.last[pi]
	for k := range p.slots {
		if p.slots[k].mask&w.mask != 0 {
			last[k] = span32{w.start, w.end}
		}
	}
	lo, hi := int32(-1), int32(-1)
	for k := range last {
		if last[k].start < 0 {
			return
		}
		if lo < 0 || last[k].start < lo {
			lo = last[k].start
		}
		if last[k].end > hi {
			hi = last[k].end
		}
	}
	if hi-lo > p.window {
		return
	}
	// The slots must be distinct words: one word cannot fill two slots.
	for a := range last {
		for b := a + 1; b < len(last); b++ {
			if last[a] == last[b] {
				return
			}
		}
	}
	if p.negGuard > 0 && negatedBefore(st.negEnds, lo, p.negGuard) {
		return
	}
	for k := range last {
		last[k] = span32{-1, -1}
	}
	idx.emit(v, p, lo, hi, out)
}

func (idx *phraseIndex) emit(v *view, p *compiledPhrase, a, b int32, out *sink) {
	if p.colon && !followedByColon(v, int(v.skelFold[b-1])) {
		return
	}
	s, e := v.skelSpan(int(a), int(b))
	out.add(p.rule, s, e)
}

// followedByColon reports whether the rune at fold index j is followed,
// after spaces and Markdown emphasis, by a colon.
func followedByColon(v *view, j int) bool {
	_, n := utf8.DecodeRune(v.fold[j:])
	for k := j + n; k < len(v.fold) && k < j+n+8; k++ {
		switch v.fold[k] {
		case ':':
			return true
		case ' ', '\t', '*', '_', '"', '\'', ')', ']':
			continue
		}
		return false
	}
	return false
}

// urlSpans returns the fold spans of the URLs in f: from the scheme before
// each "://" (at most 16 letters) to the next blank.
func urlSpans(f []byte, out []span32) []span32 {
	for off := 0; off < len(f); {
		k := bytes.Index(f[off:], []byte("://"))
		if k < 0 {
			break
		}
		k += off
		s := k
		for s > 0 && s > k-16 && (isLowerASCII(f[s-1]) || f[s-1] >= '0' && f[s-1] <= '9' ||
			f[s-1] == '+' || f[s-1] == '-' || f[s-1] == '.') {
			s--
		}
		e := k + 3
		for e < len(f) && !isURLStop(f[e]) {
			e++
		}
		out = append(out, span32{int32(s), int32(e)})
		off = e
	}
	return out
}

func isURLStop(b byte) bool {
	return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '(' || b == ')' || b == '<' || b == '>' ||
		b == '"' || b == '\''
}

// insideURL reports whether fold index j lies inside a URL or a path: the
// byte before it is a path or query separator, or j is within one of urls
// (after its first byte).
func insideURL(f []byte, urls []span32, j int) bool {
	if j == 0 {
		return false
	}
	switch f[j-1] {
	case '/', '=', '?', '&', '#', '%', '{':
		return true
	}
	// urls are sorted and disjoint: find the first that ends after j.
	k, _ := slices.BinarySearchFunc(urls, int32(j), func(u span32, t int32) int {
		if u.end <= t {
			return -1
		}
		return 1
	})
	// A word that starts the URL ("https" of "send it to https://...") is
	// prose; words after it are part of the URL.
	return k < len(urls) && urls[k].start < int32(j)
}
