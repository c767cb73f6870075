package safety

import (
	"unicode"
	"unicode/utf8"
)

// view is a text prepared for matching, built in one pass:
//
//   - fold is the text lowercased, with compatibility forms, accents and
//     look-alike letters folded to ASCII and invisible characters removed;
//     structural rules (markers, shell, paths, links) match here.
//   - skel keeps only letters, with leetspeak digits read as letters and
//     'l' read as 'i' (so "1gn0re a11" and "ignore all" agree); it drops
//     spaces and punctuation, so "i g n o r e" and "ig-nore" read as
//     "ignore". Phrase rules match here; skelFlag marks where the original
//     words started and ended, so a phrase cannot start mid-word.
//
// foldOff maps each fold byte to the original byte offset of the rune that
// produced it, and skelFold maps each skel byte to its fold byte, so every
// match reports a span in the original text.
type view struct {
	src      string
	fold     []byte
	foldOff  []int32
	skel     []byte
	skelFold []int32
	skelFlag []uint8
}

const (
	flagStart uint8 = 1 << iota
	flagEnd
)

// ASCII character classes.
const (
	aLower uint8 = 1 << iota
	aUpper
	aDigit
	aCtrl  // a control character the fold view removes
	aAlnum = aLower | aUpper | aDigit
)

var asciiTab = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case 'a' <= c && c <= 'z':
			t[c] = aLower
		case 'A' <= c && c <= 'Z':
			t[c] = aUpper
		case '0' <= c && c <= '9':
			t[c] = aDigit
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v', c == 0x7F:
			t[c] = aCtrl
		}
	}
	return t
}()

// leet maps digits and symbols used as letters.
var leet = [128]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b',
	'@': 'a', '$': 's', '!': 'i', '|': 'i'}

// build prepares v for src. When uni is not nil, Unicode findings (zero-width
// characters inside words, bidi controls, tag characters, mixed-script
// words) are appended to it.
func (v *view) build(src string, ft *foldTable, uni *sink) {
	v.src = src
	if need := len(src) + len(src)/8 + 16; cap(v.fold) < need {
		v.fold = make([]byte, 0, need)
		v.foldOff = make([]int32, 0, need)
	}
	// Locals keep the slice headers in registers in the hot loop.
	fold, foldOff := v.fold[:0], v.foldOff[:0]
	var u uniTracker
	u.reset(src, uni)
	for i := 0; i < len(src); {
		if src[i] < utf8.RuneSelf { // a run of ASCII, the common case
			j := i
			for ; j < len(src) && src[j] < utf8.RuneSelf; j++ {
				c := src[j]
				t := asciiTab[c]
				if t&aCtrl != 0 {
					u.invisible(rune(c), j, 1)
					continue
				}
				if t&aUpper != 0 {
					c += 'a' - 'A'
				}
				fold = append(fold, c)
				foldOff = append(foldOff, int32(j))
				if u.pending {
					u.flushPending(rune(c))
				}
			}
			i = j
			continue
		}
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && n == 1 {
			u.invisible(r, i, 1)
			i++
			continue
		}
		s, drop, changed := ft.lookup(r)
		if drop {
			u.invisible(r, i, n)
			i += n
			continue
		}
		fj := len(fold)
		if changed {
			fold = append(fold, s...)
		} else {
			fold = append(fold, src[i:i+n]...)
		}
		for k := fj; k < len(fold); k++ {
			foldOff = append(foldOff, int32(i))
		}
		if u.on {
			u.visible(r, i, n)
		}
		i += n
	}
	u.finish()
	v.fold, v.foldOff = fold, foldOff
	v.buildSkel()
}

// skelTab maps ASCII to skeleton letters: a-z ('l' read as 'i'), with the
// high bit set for leetspeak characters that count as letters only next to
// a letter; 0 for everything else.
var skelTab = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = uint8(c)
	}
	t['l'] = 'i'
	for c, l := range leet {
		if l != 0 {
			t[c] = l | 0x80
		}
	}
	return t
}()

// buildSkel derives skel from fold.
func (v *view) buildSkel() {
	f := v.fold
	if cap(v.skel) < len(f) {
		v.skel = make([]byte, 0, len(f))
		v.skelFold = make([]int32, 0, len(f))
		v.skelFlag = make([]uint8, 0, len(f))
	}
	skel, sfold, sflag := v.skel[:len(f)], v.skelFold[:len(f)], v.skelFlag[:len(f)]
	k := 0 // skeleton length
	prev, prevCJK := false, false
	for j := 0; j < len(f); {
		b := f[j]
		if b < utf8.RuneSelf {
			l := skelTab[b]
			if l&0x80 != 0 { // leetspeak: a letter only beside one
				next := j+1 < len(f) && isLowerASCII(f[j+1])
				if next || (prev && b >= '0' && b <= '9') {
					l &^= 0x80
				} else {
					l = 0
				}
			}
			if l == 0 {
				if prev {
					sflag[k-1] |= flagEnd
				}
				prev, prevCJK = false, false
				j++
				continue
			}
			flag := uint8(0)
			if !prev {
				flag = flagStart
			} else if prevCJK {
				sflag[k-1] |= flagEnd
				flag = flagStart
			}
			skel[k], sfold[k], sflag[k] = l, int32(j), flag
			k++
			prev, prevCJK = true, false
			j++
			continue
		}
		r, n := utf8.DecodeRune(f[j:])
		if !unicode.IsLetter(r) {
			if prev {
				sflag[k-1] |= flagEnd
			}
			prev, prevCJK = false, false
			j += n
			continue
		}
		cjk := !spacedScript(r)
		flag := uint8(0)
		if !prev {
			flag = flagStart
		} else if cjk != prevCJK { // a change of script ends a word: "次のURLに"
			sflag[k-1] |= flagEnd
			flag = flagStart
		}
		for x := 0; x < n; x++ {
			skel[k], sfold[k], sflag[k] = f[j+x], int32(j), flag
			k++
			flag = 0
		}
		prev, prevCJK = true, cjk
		j += n
	}
	if prev {
		sflag[k-1] |= flagEnd
	}
	v.skel, v.skelFold, v.skelFlag = skel[:k], sfold[:k], sflag[:k]
}

func isLowerASCII(b byte) bool { return 'a' <= b && b <= 'z' }

// origEnd returns the original offset just past the rune that produced
// fold byte j.
func (v *view) origEnd(j int) int {
	off := int(v.foldOff[j])
	_, n := utf8.DecodeRuneInString(v.src[off:])
	return off + n
}

// foldSpan maps fold bytes [a,b) to an original span.
func (v *view) foldSpan(a, b int) (int, int) {
	if a >= len(v.fold) {
		return len(v.src), len(v.src)
	}
	if b <= a {
		s := int(v.foldOff[a])
		return s, s
	}
	return int(v.foldOff[a]), v.origEnd(b - 1)
}

// skelSpan maps skel bytes [a,b) to an original span.
func (v *view) skelSpan(a, b int) (int, int) {
	return v.foldSpan(int(v.skelFold[a]), int(v.skelFold[b-1])+1)
}

// uniTracker finds deceptive Unicode while the view is built. ASCII text
// costs it one flag test per byte: runs of invisible characters are closed
// at the next visible rune, and words are examined only around a
// look-alike or styled letter.
type uniTracker struct {
	on  bool
	src string
	out *sink
	// pending: an invisible, bidi or tag run is open
	pending bool
	// invisible run (zero-width class)
	invStart, invEnd, invCount int
	// bidi run
	bidiStart, bidiEnd int
	// tag run
	tagStart, tagEnd, tagCount int
	tagBase                    bool
	lastTag                    rune
	// wordsTo: mixed-script words were examined up to this offset
	wordsTo int
}

func (u *uniTracker) reset(src string, out *sink) {
	*u = uniTracker{on: out != nil, src: src, out: out, invStart: -1, bidiStart: -1, tagStart: -1}
}

func (u *uniTracker) add(rule string, start, end int) {
	u.out.add(ruleIndex(rule), start, end)
}

func (u *uniTracker) invisible(r rune, i, n int) {
	if !u.on {
		return
	}
	u.pending = true
	switch {
	case isBidiControl(r):
		if u.bidiStart >= 0 && u.bidiEnd == i {
			u.bidiEnd = i + n
		} else {
			u.flushBidi()
			u.bidiStart, u.bidiEnd = i, i+n
		}
	case isTagChar(r):
		if u.tagStart < 0 {
			u.tagStart = i
			base, _ := utf8.DecodeLastRuneInString(u.src[:i])
			u.tagBase = base == 0x1F3F4
		}
		u.tagEnd = i + n
		u.tagCount++
		u.lastTag = r
	}
	if isZeroWidth(r) {
		if u.invStart < 0 {
			u.invStart = i
		}
		u.invEnd = i + n
		u.invCount++
	}
}

func (u *uniTracker) flushBidi() {
	if u.bidiStart >= 0 {
		u.add(RuleBidi, u.bidiStart, u.bidiEnd)
		u.bidiStart = -1
	}
}

func (u *uniTracker) flushTags() {
	if u.tagStart < 0 {
		return
	}
	// An emoji flag is U+1F3F4 followed by a few tag letters and U+E007F.
	if !(u.tagBase && u.lastTag == 0xE007F && u.tagCount <= 8) {
		u.add(RuleTagChars, u.tagStart, u.tagEnd)
	}
	u.tagStart, u.tagCount = -1, 0
}

func isASCIIAlnum(r rune) bool {
	return r < utf8.RuneSelf && asciiTab[r]&aAlnum != 0
}

// flushPending closes open runs before the visible rune r at offset i.
func (u *uniTracker) flushPending(r rune) {
	if u.invStart >= 0 {
		before, _ := utf8.DecodeLastRuneInString(u.src[:u.invStart])
		switch {
		case u.invCount >= 8:
			u.add(RuleInvisibleRun, u.invStart, u.invEnd)
		case isASCIIAlnum(before) && isASCIIAlnum(r):
			u.add(RuleZeroWidth, u.invStart, u.invEnd)
		}
		u.invStart, u.invCount = -1, 0
	}
	u.flushBidi()
	u.flushTags()
	u.pending = false
}

// visible is called for every non-ASCII rune that is not removed.
func (u *uniTracker) visible(r rune, i, n int) {
	if u.pending {
		u.flushPending(r)
	}
	if i >= u.wordsTo && (isConfusable(r) || isStyledLetter(r)) {
		u.mixedWord(i, n)
	}
}

// isWordRune reports letters and digits, and the invisible characters an
// attacker puts inside words.
func isWordRune(r rune) bool {
	return isASCIIAlnum(r) || r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || isInvisible(r))
}

// mixedWord examines the word around a look-alike letter at [i,i+n) and
// reports it when it also holds ASCII letters ("pаypal" with a Cyrillic а).
func (u *uniTracker) mixedWord(i, n int) {
	src := u.src
	s := i
	for s > 0 && s > i-64 {
		r, w := utf8.DecodeLastRuneInString(src[:s])
		if !isWordRune(r) {
			break
		}
		s -= w
	}
	e := i + n
	for e < len(src) && e < i+n+64 {
		r, w := utf8.DecodeRuneInString(src[e:])
		if !isWordRune(r) {
			break
		}
		e += w
	}
	u.wordsTo = e
	for k := s; k < e; k++ {
		if c := src[k]; c < utf8.RuneSelf && asciiTab[c]&(aLower|aUpper) != 0 {
			u.add(RuleMixedScript, s, e)
			return
		}
	}
}

func (u *uniTracker) finish() {
	if !u.on {
		return
	}
	if u.invStart >= 0 && u.invCount >= 8 {
		u.add(RuleInvisibleRun, u.invStart, u.invEnd)
	}
	u.flushBidi()
	u.flushTags()
}
