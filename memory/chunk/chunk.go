// Package chunk splits Markdown documents into overlapping pieces for
// search: about Words words each, consecutive pieces of one long section
// sharing Overlap of their words, and every piece knowing the heading path
// it sits under, so that a heading is never separated from its text.
//
// The document is first cut into sections at ATX headings ("# ...",
// "## ..."; headings inside fenced code blocks do not count). Consecutive
// small sections are packed together while they fit in Words; a section
// longer than Words is cut into windows of Words words that overlap by
// Overlap. A piece's Heading is the heading path of the section it starts
// in ("Trip > Packing"); its Text is the document's own text between Start
// and End (byte offsets), whitespace and all.
package chunk

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults for Options.
const (
	DefaultWords   = 800
	DefaultOverlap = 0.15
)

// Options tune Split. Zero values take the defaults.
type Options struct {
	// Words is the target size of a piece in words (default 800).
	Words int
	// Overlap is the share of Words that consecutive windows of one long
	// section have in common, between 0 and 0.5 (default 0.15).
	Overlap float64
}

// Piece is one chunk of a document.
type Piece struct {
	Heading string
	Text    string
	// Start and End are byte offsets of Text in the document.
	Start, End int
}

// EmbedText is what gets embedded for the piece: the heading path (so that
// a window in the middle of a section still says what it is about) and
// the text.
func (p Piece) EmbedText() string {
	if p.Heading == "" {
		return p.Text
	}
	return p.Heading + "\n\n" + p.Text
}

// section is the text from one heading to the next.
type section struct {
	heading    string // the heading path
	start, end int
	words      []span // word spans inside [start, end)
}

type span struct{ start, end int }

// Split cuts content into pieces. Empty or blank content has none.
func Split(content string, o Options) []Piece {
	if o.Words <= 0 {
		o.Words = DefaultWords
	}
	if o.Overlap <= 0 || o.Overlap > 0.5 {
		o.Overlap = DefaultOverlap
	}
	secs := sections(content)
	var out []Piece
	// pack accumulates whole small sections.
	var pack []section
	packWords := 0
	flush := func() {
		if len(pack) == 0 {
			return
		}
		first, last := pack[0], pack[len(pack)-1]
		out = append(out, piece(content, first.heading, first.words[0].start, last.words[len(last.words)-1].end, first.start))
		pack, packWords = nil, 0
	}
	for _, s := range secs {
		if len(s.words) == 0 {
			continue
		}
		if len(s.words) > o.Words {
			flush()
			out = append(out, windows(content, s, o)...)
			continue
		}
		if packWords+len(s.words) > o.Words {
			flush()
		}
		pack = append(pack, s)
		packWords += len(s.words)
	}
	flush()
	return out
}

// piece builds a Piece over content[start:end]; a piece that begins a
// section starts at the section's heading line (secStart).
func piece(content, heading string, start, end, secStart int) Piece {
	if secStart < start && strings.TrimSpace(content[secStart:start]) == "" {
		start = secStart
	}
	return Piece{Heading: heading, Text: content[start:end], Start: start, End: end}
}

// windows cuts a long section into overlapping windows of o.Words words.
func windows(content string, s section, o Options) []Piece {
	step := o.Words - int(float64(o.Words)*o.Overlap)
	if step < 1 {
		step = 1
	}
	var out []Piece
	for i := 0; i < len(s.words); i += step {
		j := min(i+o.Words, len(s.words))
		out = append(out, piece(content, s.heading, s.words[i].start, s.words[j-1].end, s.start))
		if j == len(s.words) {
			break
		}
	}
	return out
}

// sections cuts content at ATX headings outside fenced code blocks.
func sections(content string) []section {
	var secs []section
	var path []string // heading texts by level-1
	cur := section{start: 0}
	fence := ""
	for off := 0; off < len(content); {
		end := strings.IndexByte(content[off:], '\n')
		next := len(content)
		if end >= 0 {
			next = off + end + 1
		}
		line := content[off:next]
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
		default:
			if level, text, ok := heading(line); ok {
				cur.end = off
				secs = append(secs, cur)
				for len(path) < level {
					path = append(path, "")
				}
				path = append(path[:level-1], text)
				cur = section{heading: joinPath(path), start: off}
			}
		}
		off = next
	}
	cur.end = len(content)
	secs = append(secs, cur)
	for i := range secs {
		secs[i].words = wordSpans(content, secs[i].start, secs[i].end)
	}
	return secs
}

// heading recognises an ATX heading line: up to three spaces, 1-6 '#',
// then a space or the end of the line.
func heading(line string) (int, string, bool) {
	l := strings.TrimRight(line, "\r\n")
	indent := len(l) - len(strings.TrimLeft(l, " "))
	if indent > 3 {
		return 0, "", false
	}
	l = l[indent:]
	level := 0
	for level < len(l) && l[level] == '#' {
		level++
	}
	if level == 0 || level > 6 || (level < len(l) && l[level] != ' ' && l[level] != '\t') {
		return 0, "", false
	}
	text := strings.TrimSpace(l[level:])
	text = strings.TrimSpace(strings.TrimRight(text, "#"))
	return level, text, true
}

func joinPath(path []string) string {
	var parts []string
	for _, p := range path {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " > ")
}

// asciiSpace has bit c set for every ASCII byte c that unicode.IsSpace
// reports as a space.
const asciiSpace = 1<<'\t' | 1<<'\n' | 1<<'\v' | 1<<'\f' | 1<<'\r' | 1<<' '

// wordSpans lists the whitespace-separated words of content[start:end].
// ASCII bytes are classified without decoding (most text is ASCII);
// anything else is decoded and asked of unicode.IsSpace.
func wordSpans(content string, start, end int) []span {
	out := make([]span, 0, (end-start)/6+1)
	in := -1
	for i := start; i < end; {
		c := content[i]
		size := 1
		var space bool
		if c < utf8.RuneSelf {
			space = c <= ' ' && asciiSpace>>c&1 == 1
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(content[i:end])
			space = unicode.IsSpace(r)
		}
		if space {
			if in >= 0 {
				out = append(out, span{in, i})
				in = -1
			}
		} else if in < 0 {
			in = i
		}
		i += size
	}
	if in >= 0 {
		out = append(out, span{in, end})
	}
	return out
}
