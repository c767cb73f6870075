package channelkit

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// BlockKind is the kind of one Markdown block.
type BlockKind int

// Block kinds. Paragraphs are kept line by line, since chat platforms show
// the model's line breaks as they are.
const (
	BlockLine     BlockKind = iota // one line of paragraph text
	BlockBlank                     // an empty line
	BlockHeading                   // # Heading
	BlockListItem                  // - item, 1. item
	BlockQuote                     // > quoted line
	BlockRule                      // ---
	BlockCode                      // fenced code block
)

// Block is one line-level element of a Markdown document.
type Block struct {
	Kind BlockKind
	// Level is the heading level (1-6).
	Level int
	// Indent is the nesting depth of a list item (two spaces per level).
	Indent int
	// Marker is a list item's marker: "-", "*", "+", or "3." for ordered.
	Marker string
	// Ordered is true for numbered list items.
	Ordered bool
	// Lang is a code block's info string.
	Lang string
	// Code is a code block's content, without the fences.
	Code string
	// Inlines is the parsed text of a line, heading, list item or quote.
	Inlines []Inline
}

// InlineKind is the kind of one inline Markdown element.
type InlineKind int

// Inline kinds.
const (
	InlineText   InlineKind = iota // plain text (Text)
	InlineBold                     // **x** or __x__
	InlineItalic                   // *x* or _x_
	InlineStrike                   // ~~x~~
	InlineCode                     // `x` (Text)
	InlineLink                     // [x](URL), <URL>
)

// Inline is one inline element; Bold, Italic, Strike and Link hold
// Children, Text and Code hold Text.
type Inline struct {
	Kind     InlineKind
	Text     string
	URL      string
	Children []Inline
}

// ParseMarkdown parses the Markdown that language models write into
// line-level blocks with parsed inlines. It never fails: anything it does
// not recognise is kept as literal text, and unmatched emphasis markers
// (snake_case, a lone *) stay as they are.
func ParseMarkdown(src string) []Block {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	lines := strings.Split(src, "\n")
	var blocks []Block
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if f, ok := ParseFence(line); ok {
			var code []string
			j := i + 1
			for ; j < len(lines) && !f.Closes(lines[j]); j++ {
				code = append(code, lines[j])
			}
			lang, _, _ := strings.Cut(f.Info, " ")
			blocks = append(blocks, Block{Kind: BlockCode, Lang: lang, Code: strings.Join(code, "\n")})
			i = j
			continue
		}
		blocks = append(blocks, parseLine(line))
	}
	return blocks
}

func parseLine(line string) Block {
	trimmed := strings.TrimSpace(line)
	indent := len(line) - len(strings.TrimLeft(line, " \t"))
	switch {
	case trimmed == "":
		return Block{Kind: BlockBlank}
	case indent <= 3 && isRule(trimmed):
		return Block{Kind: BlockRule}
	}
	if indent <= 3 && trimmed[0] == '#' {
		level := 0
		for level < len(trimmed) && trimmed[level] == '#' {
			level++
		}
		if level <= 6 && (level == len(trimmed) || trimmed[level] == ' ') {
			text := strings.TrimSpace(trimmed[level:])
			text = strings.TrimSpace(strings.TrimRight(text, "#"))
			return Block{Kind: BlockHeading, Level: level, Inlines: ParseInline(text)}
		}
	}
	if indent <= 3 && trimmed[0] == '>' {
		text := strings.TrimPrefix(trimmed[1:], " ")
		return Block{Kind: BlockQuote, Inlines: ParseInline(text)}
	}
	if marker, rest, ordered, ok := listItem(trimmed); ok {
		return Block{Kind: BlockListItem, Indent: indent / 2, Marker: marker, Ordered: ordered, Inlines: ParseInline(rest)}
	}
	return Block{Kind: BlockLine, Inlines: ParseInline(line)}
}

func isRule(s string) bool {
	c := s[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case c:
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 3
}

func listItem(s string) (marker, rest string, ordered, ok bool) {
	if (s[0] == '-' || s[0] == '*' || s[0] == '+') && len(s) > 1 && s[1] == ' ' {
		return s[:1], strings.TrimSpace(s[2:]), false, true
	}
	n := 0
	for n < len(s) && n < 9 && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n > 0 && n+1 < len(s) && (s[n] == '.' || s[n] == ')') && s[n+1] == ' ' {
		return s[:n+1], strings.TrimSpace(s[n+2:]), true, true
	}
	return "", "", false, false
}

// ParseInline parses inline Markdown: code spans, emphasis, strikethrough,
// links and autolinks, and backslash escapes.
func ParseInline(s string) []Inline {
	var out []Inline
	var buf strings.Builder
	flush := func() {
		if buf.Len() > 0 {
			out = append(out, Inline{Kind: InlineText, Text: buf.String()})
			buf.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			buf.WriteByte(s[i+1])
			i += 2
		case c == '`':
			n := runLen(s, i)
			if end := findCodeClose(s, i+n, n); end >= 0 {
				flush()
				out = append(out, Inline{Kind: InlineCode, Text: trimCodeSpan(s[i+n : end])})
				i = end + n
				continue
			}
			buf.WriteString(s[i : i+n])
			i += n
		case c == '[' || (c == '!' && i+1 < len(s) && s[i+1] == '['):
			start := i
			if c == '!' {
				start++
			}
			if text, url, end, ok := parseLink(s, start); ok {
				flush()
				out = append(out, Inline{Kind: InlineLink, URL: url, Children: ParseInline(text)})
				i = end
				continue
			}
			buf.WriteByte(c)
			i++
		case c == '<':
			if end := strings.IndexByte(s[i:], '>'); end > 0 && isAutolink(s[i+1:i+end]) {
				flush()
				url := s[i+1 : i+end]
				out = append(out, Inline{Kind: InlineLink, URL: url, Children: []Inline{{Kind: InlineText, Text: url}}})
				i += end + 1
				continue
			}
			buf.WriteByte(c)
			i++
		case c == '*' || c == '_' || c == '~':
			n := runLen(s, i)
			if kind, need, ok := emphasisKind(c, n); ok && canOpen(s, i, n, c) {
				if closeAt := findEmphasisClose(s, i+need, c, need); closeAt >= 0 {
					flush()
					out = append(out, Inline{Kind: kind, Children: ParseInline(s[i+need : closeAt])})
					i = closeAt + need
					continue
				}
			}
			buf.WriteString(s[i : i+n])
			i += n
		default:
			buf.WriteByte(c)
			i++
		}
	}
	flush()
	return out
}

// PlainText returns the visible text of inlines, without markup.
func PlainText(ins []Inline) string {
	var b strings.Builder
	for _, in := range ins {
		switch in.Kind {
		case InlineText, InlineCode:
			b.WriteString(in.Text)
		default:
			b.WriteString(PlainText(in.Children))
		}
	}
	return b.String()
}

func emphasisKind(c byte, n int) (InlineKind, int, bool) {
	switch {
	case c == '~' && n == 2:
		return InlineStrike, 2, true
	case c == '~':
		return 0, 0, false
	case n == 1:
		return InlineItalic, 1, true
	case n == 2 || n == 3:
		return InlineBold, 2, true
	}
	return 0, 0, false
}

func runLen(s string, i int) int {
	n := 0
	for i+n < len(s) && s[i+n] == s[i] {
		n++
	}
	return n
}

// canOpen: the run is followed by a non-space, and an underscore run is not
// inside a word (snake_case stays literal).
func canOpen(s string, i, n int, c byte) bool {
	if i+n >= len(s) {
		return false
	}
	next, _ := utf8.DecodeRuneInString(s[i+n:])
	if unicode.IsSpace(next) {
		return false
	}
	if c == '_' && i > 0 {
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if isWordRune(prev) {
			return false
		}
	}
	return true
}

// findEmphasisClose finds a closing run of c for an opener needing `need`
// characters, skipping code spans and escapes. It returns the index where
// the closing characters start, or -1.
func findEmphasisClose(s string, from int, c byte, need int) int {
	for j := from; j < len(s); {
		switch s[j] {
		case '\\':
			j += 2
			continue
		case '`':
			n := runLen(s, j)
			if end := findCodeClose(s, j+n, n); end >= 0 {
				j = end + n
				continue
			}
			j += n
			continue
		}
		if s[j] != c {
			j++
			continue
		}
		n := runLen(s, j)
		if j > from && (n == need || (n == 3 && c != '~')) {
			prev, _ := utf8.DecodeLastRuneInString(s[:j])
			okAfter := true
			if c == '_' && j+n < len(s) {
				next, _ := utf8.DecodeRuneInString(s[j+n:])
				okAfter = !isWordRune(next)
			}
			if !unicode.IsSpace(prev) && okAfter {
				return j + n - need
			}
		}
		j += n
	}
	return -1
}

func findCodeClose(s string, from, n int) int {
	for j := from; j < len(s); {
		if s[j] != '`' {
			j++
			continue
		}
		m := runLen(s, j)
		if m == n {
			return j
		}
		j += m
	}
	return -1
}

func trimCodeSpan(code string) string {
	if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.TrimSpace(code) != "" {
		return code[1 : len(code)-1]
	}
	return code
}

// parseLink parses [text](url "title") starting at the '['.
func parseLink(s string, i int) (text, url string, end int, ok bool) {
	depth := 0
	j := i
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '[':
			depth++
		case ']':
			depth--
		}
		if depth == 0 {
			break
		}
	}
	if j >= len(s) || j+1 >= len(s) || s[j+1] != '(' {
		return "", "", 0, false
	}
	text = s[i+1 : j]
	depth = 0
	k := j + 1
	for ; k < len(s); k++ {
		if s[k] == '(' {
			depth++
		} else if s[k] == ')' {
			depth--
			if depth == 0 {
				break
			}
		}
	}
	if k >= len(s) {
		return "", "", 0, false
	}
	dest := strings.TrimSpace(s[j+2 : k])
	if sp := strings.IndexAny(dest, " \t"); sp >= 0 {
		dest = dest[:sp] // drop a title
	}
	dest = strings.TrimSuffix(strings.TrimPrefix(dest, "<"), ">")
	if dest == "" {
		return "", "", 0, false
	}
	return text, dest, k + 1, true
}

func isAutolink(s string) bool {
	if strings.ContainsAny(s, " \t<") {
		return false
	}
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "mailto:")
}

func isASCIIPunct(c byte) bool {
	return c < 128 && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}
