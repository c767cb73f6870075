package safety

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldTable maps every non-ASCII rune of the Basic Multilingual Plane (and
// the styled-letter blocks above it) to its folded form: compatibility
// decomposition (fullwidth, mathematical, circled and small-form letters),
// accents removed, lowercase, and Cyrillic or Greek look-alikes replaced
// by the Latin letter they imitate. It is built once and never changes.
type foldTable struct {
	bmp  [0x10000]uint32 // 0: unchanged; foldDrop: removed; else pool offset<<8 | length
	pool []byte
	high map[rune][]byte // folded runes above the BMP (empty = removed)
}

const foldDrop = ^uint32(0)

// folds returns the process-wide fold table, building it on first use.
var folds = sync.OnceValue(buildFoldTable)

// homoglyphs maps letters that look like Latin letters, and punctuation
// that looks like ASCII punctuation, to the ASCII they imitate. Keys are
// looked up before and after lowercasing, so both cases are listed where
// the capital is the look-alike.
var homoglyphs = map[rune]string{
	// Cyrillic
	'а': "a", 'А': "a", 'В': "b", 'в': "b", 'е': "e", 'Е': "e", 'ё': "e", 'Ё': "e",
	'к': "k", 'К': "k", 'м': "m", 'М': "m", 'Н': "h", 'н': "h", 'о': "o", 'О': "o",
	'р': "p", 'Р': "p", 'с': "c", 'С': "c", 'т': "t", 'Т': "t", 'у': "y", 'У': "y",
	'х': "x", 'Х': "x", 'ѕ': "s", 'Ѕ': "s", 'і': "i", 'І': "i", 'ї': "i", 'Ї': "i",
	'ј': "j", 'Ј': "j", 'һ': "h", 'Һ': "h", 'ԁ': "d", 'ԛ': "q", 'ԝ': "w", 'Ԝ': "w",
	'ӏ': "l", 'Ӏ': "l",
	// Greek
	'α': "a", 'Α': "a", 'β': "b", 'Β': "b", 'ε': "e", 'Ε': "e", 'Ζ': "z", 'η': "n",
	'Η': "h", 'ι': "i", 'Ι': "i", 'κ': "k", 'Κ': "k", 'Μ': "m", 'ν': "v", 'Ν': "n",
	'ο': "o", 'Ο': "o", 'ρ': "p", 'Ρ': "p", 'τ': "t", 'Τ': "t", 'υ': "u", 'Υ': "y",
	'χ': "x", 'Χ': "x", 'ϲ': "c", 'Ϲ': "c", 'ϳ': "j", 'ω': "w", 'γ': "y",
	// Latin letters without a decomposition
	'ß': "ss", 'ẞ': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'đ': "d", 'Đ': "d", 'ł': "l", 'Ł': "l", 'ı': "i", 'ȷ': "j", 'ħ': "h", 'ŧ': "t",
	'þ': "th", 'ð': "d", 'ɡ': "g", 'ɑ': "a", 'ǀ': "l",
	// small capitals
	'ᴀ': "a", 'ʙ': "b", 'ᴄ': "c", 'ᴅ': "d", 'ᴇ': "e", 'ꜰ': "f", 'ɢ': "g", 'ʜ': "h",
	'ɪ': "i", 'ᴊ': "j", 'ᴋ': "k", 'ʟ': "l", 'ᴍ': "m", 'ɴ': "n", 'ᴏ': "o", 'ᴘ': "p",
	'ʀ': "r", 'ꜱ': "s", 'ᴛ': "t", 'ᴜ': "u", 'ᴠ': "v", 'ᴡ': "w", 'ʏ': "y", 'ᴢ': "z",
	// punctuation
	'‐': "-", '‑': "-", '‒': "-", '–': "-", '—': "-", '―': "-", '−': "-",
	'∕': "/", '⁄': "/", '⧸': "/", '։': ":", 'ː': ":", '꞉': ":", '∶': ":",
	'“': "\"", '”': "\"", '„': "\"", '«': "\"", '»': "\"", '‘': "'", '’': "'", '‚': "'",
	'ǃ': "!", '｜': "|", '∣': "|",
}

// isInvisible reports characters that render as nothing (or only steer
// rendering) and are removed before matching.
func isInvisible(r rune) bool {
	switch {
	case r < 0x00AD:
		return false
	case r == 0x00AD, r == 0x034F, r == 0x061C, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, r >= 0x180B && r <= 0x180F,
		r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E,
		r >= 0x2060 && r <= 0x206F, r == 0x3164, r >= 0xFE00 && r <= 0xFE0F,
		r == 0xFEFF, r == 0xFFA0, r >= 0xFFF9 && r <= 0xFFFB,
		r >= 0x1BCA0 && r <= 0x1BCA3, r >= 0x1D173 && r <= 0x1D17A,
		r >= 0xE0000 && r <= 0xE007F, r >= 0xE0100 && r <= 0xE01EF:
		return true
	}
	return false
}

// isZeroWidth reports the invisible characters that hide inside words.
func isZeroWidth(r rune) bool {
	switch {
	case r >= 0x200B && r <= 0x200D, r >= 0x2060 && r <= 0x2064, r == 0xFEFF,
		r == 0x180E, r == 0x3164, r == 0xFFA0, r == 0x115F, r == 0x1160,
		r == 0x17B4, r == 0x17B5, r == 0x034F:
		return true
	}
	return false
}

// isBidiControl reports embedding, override and isolate controls (the
// Trojan Source characters); the plain LRM/RLM marks are not included.
func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

func isTagChar(r rune) bool { return r >= 0xE0000 && r <= 0xE007F }

// isStyledLetter reports letters from fullwidth, mathematical, circled and
// squared blocks and small capitals: they fold to ASCII, and a word that
// mixes them with plain ASCII letters is deceptive.
func isStyledLetter(r rune) bool {
	switch {
	case r >= 0xFF21 && r <= 0xFF5A, r >= 0x1D400 && r <= 0x1D7FF,
		r >= 0x24B6 && r <= 0x24E9, r >= 0x1F130 && r <= 0x1F189:
		return true
	case r >= 0x1D00 && r <= 0x1D22, r == 'ʙ', r == 'ɢ', r == 'ʜ', r == 'ɪ', r == 'ʟ',
		r == 'ɴ', r == 'ʀ', r == 'ʏ', r == 'ꜰ', r == 'ꜱ':
		return true
	}
	return false
}

// isConfusable reports Cyrillic and Greek letters that imitate Latin ones.
func isConfusable(r rune) bool {
	if r < 0x370 || r > 0x52F {
		return false
	}
	_, ok := homoglyphs[r]
	return ok
}

func buildFoldTable() *foldTable {
	t := &foldTable{high: map[rune][]byte{}}
	for r := rune(0x80); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		s, changed := foldRuneSlow(r)
		if !changed {
			continue
		}
		if s == "" {
			t.bmp[r] = foldDrop
			continue
		}
		t.bmp[r] = uint32(len(t.pool))<<8 | uint32(len(s))
		t.pool = append(t.pool, s...)
	}
	for _, rg := range [][2]rune{{0x1D400, 0x1D7FF}, {0x1F100, 0x1F1FF}, {0x1D173, 0x1D17A},
		{0x1BCA0, 0x1BCA3}, {0xE0000, 0xE007F}, {0xE0100, 0xE01EF}} {
		for r := rg[0]; r <= rg[1]; r++ {
			if s, changed := foldRuneSlow(r); changed {
				t.high[r] = []byte(s)
			}
		}
	}
	return t
}

// foldRuneSlow computes the folded form of one rune and whether it differs
// from the rune itself.
func foldRuneSlow(r rune) (string, bool) {
	if isInvisible(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return "", true
	}
	if r < 0x20 && r != '\t' && r != '\n' && r != '\r' && r != '\f' && r != '\v' || r == 0x7F ||
		(r >= 0x80 && r < 0xA0) {
		return "", true
	}
	if r == 0x2028 || r == 0x2029 || r == 0x85 {
		return "\n", true
	}
	if r >= 0x80 && (unicode.Is(unicode.Zs, r) || unicode.IsSpace(r)) {
		return " ", true
	}
	if h, ok := homoglyphs[r]; ok {
		return h, true
	}
	if r >= 0xAC00 && r <= 0xD7A3 { // Hangul syllables stay whole
		return "", false
	}
	d := norm.NFKD.String(string(r))
	var b strings.Builder
	for _, c := range d {
		if unicode.Is(unicode.Mn, c) || unicode.Is(unicode.Me, c) || isInvisible(c) {
			continue
		}
		c = unicode.ToLower(c)
		if h, ok := homoglyphs[c]; ok {
			b.WriteString(h)
		} else {
			b.WriteRune(c)
		}
	}
	s := b.String()
	if s == string(r) || utf8.RuneCountInString(s) > 8 {
		return "", false
	}
	return s, true
}

// lookup returns the folded form of a non-ASCII rune: s and drop=false when
// it changes, ok=false when the rune stays as it is.
func (t *foldTable) lookup(r rune) (s []byte, drop, ok bool) {
	if r < 0x10000 {
		e := t.bmp[r]
		switch e {
		case 0:
			return nil, false, false
		case foldDrop:
			return nil, true, true
		}
		off, n := e>>8, e&0xFF
		return t.pool[off : off+n], false, true
	}
	if r < 0x1BCA0 {
		return nil, false, false
	}
	f, found := t.high[r]
	if !found {
		return nil, false, false
	}
	if len(f) == 0 {
		return nil, true, true
	}
	return f, false, true
}
