package channelkit

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// SplitOptions configures Split.
type SplitOptions struct {
	// Limit is the most one chunk may measure; values below 16 mean 16.
	Limit int
	// Len measures text; nil counts runes. Telegram measures UTF-16 code
	// units (UTF16Len); Slack counts the characters its escaping adds.
	Len func(string) int
}

// UTF16Len is the length of s in UTF-16 code units, as Telegram counts.
func UTF16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// piece kinds
const (
	pieceText = iota
	pieceFenceOpen
	pieceCode
	pieceFenceClose
)

type piece struct {
	text   string
	kind   int
	cont   bool   // continues the previous line: joined without a newline
	open   string // the opening fence line of the code block it belongs to
	closer string // the fence that closes that block
	// measured lengths of text, open and closer
	n, openN, closerN int
}

func (p piece) blank() bool     { return p.kind == pieceText && strings.TrimSpace(p.text) == "" }
func (p piece) openAfter() bool { return p.kind == pieceFenceOpen || p.kind == pieceCode }
func (p piece) reopen() bool    { return p.kind == pieceCode || p.kind == pieceFenceClose }

// Split cuts Markdown text into chunks that each measure at most the limit.
// It prefers paragraph boundaries, then line boundaries outside code, then
// line boundaries inside code, and cuts inside a line (at a space if it can)
// only when one line alone is too long. A fenced code block that has to be
// cut is closed at the end of one chunk and reopened, with its language, at
// the start of the next, so every chunk is well-formed Markdown on its own.
func Split(text string, opt SplitOptions) []string {
	measure := opt.Len
	if measure == nil {
		measure = utf8.RuneCountInString
	}
	limit := max(opt.Limit, 16)
	text = strings.ReplaceAll(text, "\r\n", "\n")
	if measure(text) <= limit {
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return []string{text}
	}
	pieces := scanPieces(text)
	for i := range pieces {
		p := &pieces[i]
		p.n, p.openN, p.closerN = measure(p.text), measure(p.open), measure(p.closer)
	}
	pieces = splitLong(pieces, limit, measure)

	var chunks []string
	n := len(pieces)
	for i := 0; i < n; {
		for i < n && pieces[i].blank() {
			i++
		}
		if i >= n {
			break
		}
		var end int
		end, pieces = packChunk(pieces, i, limit, measure)
		n = len(pieces)
		if c := renderChunk(pieces[i:end]); c != "" {
			chunks = append(chunks, c)
		}
		i = end
	}
	return chunks
}

// packChunk returns the end (exclusive) of the chunk starting at i. When
// no good break exists it fills the chunk by cutting the next line, and
// returns the pieces with that line cut in two.
func packChunk(pieces []piece, i, limit int, measure func(string) int) (int, []piece) {
	n := len(pieces)
	size := 0
	if pieces[i].reopen() {
		size = pieces[i].openN + 1
	}
	type cand struct {
		end, size int
	}
	var cands []cand
	j := i
	for ; j < n; j++ {
		p := pieces[j]
		add := p.n
		if j > i && !p.cont {
			add++
		}
		suffix := 0
		if p.openAfter() {
			suffix = 1 + p.closerN
		}
		if j > i && size+add+suffix > limit {
			break
		}
		size += add
		cands = append(cands, cand{end: j + 1, size: size + suffix})
	}
	if j >= n {
		return n, pieces
	}
	best, bestRank := len(cands)-1, -1
	for k, c := range cands {
		if c.size*2 < limit {
			continue
		}
		if r := breakRank(pieces, c.end); r >= bestRank {
			best, bestRank = k, r
		}
	}
	if bestRank < 0 {
		// Every break leaves the chunk less than half full: fill it with
		// the head of the next line instead.
		next := pieces[j]
		room := limit - size - 1
		if next.cont {
			room++
		}
		if next.openAfter() {
			room -= 1 + next.closerN
		}
		if (next.kind == pieceText || next.kind == pieceCode) && room >= 8 {
			parts := cutLine(next.text, room, measure, next.kind == pieceText)
			if len(parts) > 1 {
				head, tail := next, next
				head.text = parts[0]
				tail.text, tail.cont = strings.Join(parts[1:], ""), true
				head.n, tail.n = measure(head.text), measure(tail.text)
				pieces = append(pieces[:j], append([]piece{head, tail}, pieces[j+1:]...)...)
				return j + 1, pieces
			}
		}
	}
	return cands[best].end, pieces
}

// breakRank scores a break before pieces[end]: 3 paragraph boundary, 2 line
// boundary outside code, 1 line boundary inside code, 0 inside a line.
func breakRank(pieces []piece, end int) int {
	prev, next := pieces[end-1], pieces[end]
	switch {
	case next.cont || next.kind == pieceFenceClose:
		return 0
	case prev.blank() || next.blank():
		return 3
	case !prev.openAfter():
		return 2
	default:
		return 1
	}
}

func renderChunk(ps []piece) string {
	for len(ps) > 0 && ps[len(ps)-1].blank() {
		ps = ps[:len(ps)-1]
	}
	if len(ps) > 0 && ps[0].kind == pieceFenceClose {
		ps = ps[1:] // the block's content all went into the previous chunk
	}
	if len(ps) == 0 {
		return ""
	}
	var b strings.Builder
	if ps[0].reopen() {
		b.WriteString(ps[0].open)
		b.WriteByte('\n')
	}
	for k, p := range ps {
		if k > 0 && !p.cont {
			b.WriteByte('\n')
		}
		b.WriteString(p.text)
	}
	last := ps[len(ps)-1]
	if last.openAfter() {
		b.WriteByte('\n')
		b.WriteString(last.closer)
		return b.String()
	}
	return strings.TrimRight(b.String(), " \t")
}

// scanPieces turns text into one piece per line, marking fenced code.
func scanPieces(text string) []piece {
	lines := strings.Split(text, "\n")
	pieces := make([]piece, 0, len(lines))
	var fence Fence
	inFence := false
	for _, line := range lines {
		if !inFence {
			if f, ok := ParseFence(line); ok {
				fence, inFence = f, true
				pieces = append(pieces, piece{text: line, kind: pieceFenceOpen, open: line, closer: f.Marker})
				continue
			}
			pieces = append(pieces, piece{text: line, kind: pieceText})
			continue
		}
		open := pieces[len(pieces)-1].open
		if fence.Closes(line) {
			inFence = false
			pieces = append(pieces, piece{text: line, kind: pieceFenceClose, open: open, closer: fence.Marker})
			continue
		}
		pieces = append(pieces, piece{text: line, kind: pieceCode, open: open, closer: fence.Marker})
	}
	return pieces
}

// splitLong cuts lines that cannot fit one chunk even alone.
func splitLong(pieces []piece, limit int, measure func(string) int) []piece {
	out := make([]piece, 0, len(pieces))
	for _, p := range pieces {
		budget := limit
		if p.kind == pieceCode {
			budget -= p.openN + 2 + p.closerN
		}
		if p.kind == pieceFenceOpen || p.kind == pieceFenceClose || budget < 8 || p.n <= budget {
			out = append(out, p)
			continue
		}
		first := true
		for _, part := range cutLine(p.text, budget, measure, p.kind == pieceText) {
			q := p
			q.text, q.cont, q.n = part, !first, measure(part)
			first = false
			out = append(out, q)
		}
	}
	return out
}

// cutLine cuts s into parts measuring at most budget, after a space when
// one falls in the second half of a part (and atSpaces is set).
func cutLine(s string, budget int, measure func(string) int, atSpaces bool) []string {
	var parts []string
	for measure(s) > budget {
		size, cut, space := 0, 0, -1
		for idx, r := range s {
			w := measure(string(r))
			if size+w > budget {
				break
			}
			size += w
			cut = idx + utf8.RuneLen(r)
			if r == ' ' && atSpaces && size*2 >= budget {
				space = cut
			}
		}
		if space > 0 {
			cut = space
		}
		if cut == 0 { // a single rune wider than the budget
			_, w := utf8.DecodeRuneInString(s)
			cut = w
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}

// Fence is an opening code fence: its marker (``` or ~~~, possibly longer)
// and the info string (the language).
type Fence struct {
	Marker string
	Info   string
}

// ParseFence recognises an opening fence line (up to three spaces, then
// three or more backticks or tildes, then an optional info string).
func ParseFence(line string) (Fence, bool) {
	trimmed := strings.TrimLeft(line, " ")
	if len(line)-len(trimmed) > 3 || len(trimmed) < 3 {
		return Fence{}, false
	}
	c := trimmed[0]
	if c != '`' && c != '~' {
		return Fence{}, false
	}
	n := 0
	for n < len(trimmed) && trimmed[n] == c {
		n++
	}
	if n < 3 {
		return Fence{}, false
	}
	info := strings.TrimSpace(trimmed[n:])
	if c == '`' && strings.Contains(info, "`") {
		return Fence{}, false
	}
	return Fence{Marker: trimmed[:n], Info: info}, true
}

// Closes reports whether line closes a block opened by f: the same
// character, at least as many, and nothing else but spaces.
func (f Fence) Closes(line string) bool {
	t := strings.TrimSpace(line)
	if len(line)-len(strings.TrimLeft(line, " ")) > 3 || len(t) < len(f.Marker) {
		return false
	}
	return strings.Trim(t, f.Marker[:1]) == ""
}
