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
	aCtrl // a control character the fold view removes
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
func (v *view) build(src string, ft *foldTable, uni *[]Finding) {
	v.src = src
	if need := len(src) + len(src)/8 + 16; cap(v.fold) < need {
		v.fold = make([]byte, 0, need)
		v.foldOff = make([]int32, 0, need)
	}
	v.fold = v.fold[:0]
	v.foldOff = v.foldOff[:0]
	var u uniTracker
	u.reset(uni)
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
				v.fold = append(v.fold, c)
				v.foldOff = append(v.foldOff, int32(j))
				if u.on {
					u.visibleASCII(t, j)
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
		switch {
		case drop:
			u.invisible(r, i, n)
		case changed:
			for _, c := range s {
				v.fold = append(v.fold, c)
				v.foldOff = append(v.foldOff, int32(i))
			}
			if u.on {
				u.visible(r, i, n)
			}
		default:
			v.fold = append(v.fold, src[i:i+n]...)
			for k := 0; k < n; k++ {
				v.foldOff = append(v.foldOff, int32(i))
			}
			if u.on {
				u.visible(r, i, n)
			}
		}
		i += n
	}
	u.finish(len(src))
	v.buildSkel()
}

func isLowerASCII(b byte) bool { return 'a' <= b && b <= 'z' }

// buildSkel derives skel from fold.
func (v *view) buildSkel() {
	if need := len(v.fold); cap(v.skel) < need {
		v.skel = make([]byte, 0, need)
		v.skelFold = make([]int32, 0, need)
		v.skelFlag = make([]uint8, 0, need)
	}
	v.skel = v.skel[:0]
	v.skelFold = v.skelFold[:0]
	v.skelFlag = v.skelFlag[:0]
	prev, prevCJK := false, false
	f := v.fold
	for j := 0; j < len(f); {
		b := f[j]
		n := 1
		letter, cjk := false, false
		switch {
		case isLowerASCII(b):
			letter = true
			if b == 'l' {
				b = 'i'
			}
		case b < utf8.RuneSelf:
			if l := leet[b]; l != 0 {
				next := j+1 < len(f) && isLowerASCII(f[j+1])
				if next || (prev && b >= '0' && b <= '9') {
					letter, b = true, l
				}
			}
		default:
			var r rune
			r, n = utf8.DecodeRune(f[j:])
			letter = unicode.IsLetter(r)
			cjk = letter && !spacedScript(r)
		}
		if letter {
			flag := uint8(0)
			if !prev {
				flag = flagStart
			} else if cjk != prevCJK { // a change of script ends a word: "次のURLに"
				v.skelFlag[len(v.skelFlag)-1] |= flagEnd
				flag = flagStart
			}
			if n == 1 {
				v.skel = append(v.skel, b)
				v.skelFold = append(v.skelFold, int32(j))
				v.skelFlag = append(v.skelFlag, flag)
			} else {
				for k := 0; k < n; k++ {
					v.skel = append(v.skel, f[j+k])
					v.skelFold = append(v.skelFold, int32(j))
					v.skelFlag = append(v.skelFlag, flag)
					flag = 0
				}
			}
		} else if prev {
			v.skelFlag[len(v.skelFlag)-1] |= flagEnd
		}
		prev, prevCJK = letter, cjk
		j += n
	}
	if prev {
		v.skelFlag[len(v.skelFlag)-1] |= flagEnd
	}
}

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

// uniTracker finds deceptive Unicode while the view is built.
type uniTracker struct {
	on  bool
	out *[]Finding
	// invisible run (zero-width class)
	invStart, invEnd, invCount int
	prevAlnum                  bool
	// bidi run
	bidiStart, bidiEnd int
	// tag run
	tagStart, tagEnd, tagCount int
	tagBase                    bool
	lastTag                    rune
	lastVisible                rune
	// current word
	tokStart, tokEnd             int
	tokASCII, tokConf, tokStyled bool
	// pending: an invisible, bidi or tag run is open
	pending bool
}

func (u *uniTracker) reset(out *[]Finding) {
	*u = uniTracker{on: out != nil, out: out, invStart: -1, bidiStart: -1, tagStart: -1, tokStart: -1}
}

func (u *uniTracker) add(rule string, start, end int) {
	i := ruleIndex(rule)
	r := &ruleTable[i]
	*u.out = append(*u.out, Finding{Rule: r.ID, Family: r.Family, Severity: r.Severity, Start: start, End: end, rule: i})
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
			u.tagBase = u.lastVisible == 0x1F3F4
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
	return r < utf8.RuneSelf && ('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
}

// flushPending closes open invisible, bidi and tag runs before a visible
// rune; alnum says whether that rune is an ASCII letter or digit.
func (u *uniTracker) flushPending(alnum bool) {
	if u.invStart >= 0 {
		switch {
		case u.invCount >= 8:
			u.add(RuleInvisibleRun, u.invStart, u.invEnd)
		case u.prevAlnum && alnum:
			u.add(RuleZeroWidth, u.invStart, u.invEnd)
		}
		u.invStart, u.invCount = -1, 0
	}
	u.flushBidi()
	u.flushTags()
	u.pending = false
}

// visibleASCII is visible for an ASCII byte of class t at offset i.
func (u *uniTracker) visibleASCII(t uint8, i int) {
	alnum := t&aAlnum != 0
	if u.pending {
		u.flushPending(alnum)
	}
	u.prevAlnum = alnum
	u.lastVisible = 0
	if alnum {
		if u.tokStart < 0 {
			u.tokStart = i
		}
		u.tokEnd = i + 1
		if t&aDigit == 0 {
			u.tokASCII = true
		}
		return
	}
	if u.tokStart >= 0 {
		u.flushWord()
	}
}

// visible is called for every non-ASCII rune that is not removed.
func (u *uniTracker) visible(r rune, i, n int) {
	alnum := isASCIIAlnum(r)
	if u.pending {
		u.flushPending(alnum)
	}
	u.prevAlnum = alnum
	u.lastVisible = r
	if alnum || unicode.IsLetter(r) {
		if u.tokStart < 0 {
			u.tokStart = i
		}
		u.tokEnd = i + n
		switch {
		case r < utf8.RuneSelf:
			if !('0' <= r && r <= '9') {
				u.tokASCII = true
			}
		case isConfusable(r):
			u.tokConf = true
		case isStyledLetter(r):
			u.tokStyled = true
		}
		return
	}
	u.flushWord()
}

func (u *uniTracker) flushWord() {
	if u.tokStart >= 0 && u.tokASCII && (u.tokConf || u.tokStyled) {
		u.add(RuleMixedScript, u.tokStart, u.tokEnd)
	}
	u.tokStart, u.tokASCII, u.tokConf, u.tokStyled = -1, false, false, false
}

func (u *uniTracker) finish(n int) {
	if !u.on {
		return
	}
	if u.invStart >= 0 && u.invCount >= 8 {
		u.add(RuleInvisibleRun, u.invStart, u.invEnd)
	}
	u.flushBidi()
	u.flushTags()
	u.flushWord()
}
