package chunk

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode"
)

func words(prefix string, n int) string {
	w := make([]string, n)
	for i := range w {
		w[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(w, " ")
}

// checkOffsets verifies that every piece's Text is the document's own
// text at Start:End.
func checkOffsets(t *testing.T, doc string, ps []Piece) {
	t.Helper()
	for i, p := range ps {
		if p.Start < 0 || p.End > len(doc) || p.Start >= p.End || doc[p.Start:p.End] != p.Text {
			t.Fatalf("piece %d: offsets %d:%d do not hold its text %q", i, p.Start, p.End, p.Text)
		}
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name     string
		doc      string
		opts     Options
		headings []string
		starts   []string // each piece's text starts with
	}{
		{"empty", "", Options{}, nil, nil},
		{"blank", " \n\n\t\n", Options{}, nil, nil},
		{"one paragraph", "Hello there, world.", Options{}, []string{""}, []string{"Hello"}},
		{"small sections packed", "# Trip\nLisbon in May.\n## Packing\nhat\n", Options{}, []string{"Trip"}, []string{"# Trip"}},
		{"sections split when full", "# A\n" + words("a", 6) + "\n# B\n" + words("b", 6) + "\n", Options{Words: 10},
			[]string{"A", "B"}, []string{"# A", "# B"}},
		// Words count the heading's own: "# Trip" is two.
		{"heading path", "# Trip\nintro " + words("x", 6) + "\n## Packing\n" + words("p", 8) + "\n### Shoes\nboots\n# Other\nz\n", Options{Words: 10},
			[]string{"Trip", "Trip > Packing", "Trip > Packing > Shoes"}, []string{"# Trip", "## Packing", "### Shoes"}},
		{"heading in code fence ignored", "# Real\n```\n# not a heading\n```\ntext\n", Options{}, []string{"Real"}, []string{"# Real"}},
		{"not headings", "#hashtag and #5\n    # indented code\n", Options{}, []string{""}, []string{"#hashtag"}},
		{"closing hashes", "## Title ##\nbody\n", Options{}, []string{"Title"}, []string{"## Title"}},
		{"preamble before first heading", "intro words\n# H\nbody\n", Options{Words: 3}, []string{"", "H"}, []string{"intro", "# H"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := Split(tc.doc, tc.opts)
			checkOffsets(t, tc.doc, ps)
			if len(ps) != len(tc.headings) {
				t.Fatalf("%d pieces %+v, want %d", len(ps), ps, len(tc.headings))
			}
			for i, p := range ps {
				if p.Heading != tc.headings[i] {
					t.Errorf("piece %d heading %q, want %q", i, p.Heading, tc.headings[i])
				}
				if !strings.HasPrefix(p.Text, tc.starts[i]) {
					t.Errorf("piece %d text %q, want it to start with %q", i, p.Text, tc.starts[i])
				}
			}
		})
	}
}

func TestLongSectionOverlaps(t *testing.T) {
	doc := "# Diary\n" + words("w", 2000) + "\n"
	ps := Split(doc, Options{})
	checkOffsets(t, doc, ps)
	// 2001 words (the heading's '#' is one... two: "#" and "Diary") in
	// windows of 800 stepping 680: starts 0, 680, 1360.
	if len(ps) != 3 {
		t.Fatalf("%d pieces, want 3", len(ps))
	}
	for i, p := range ps {
		if p.Heading != "Diary" {
			t.Errorf("piece %d heading %q", i, p.Heading)
		}
		if n := len(strings.Fields(p.Text)); i < 2 && n != 800 {
			t.Errorf("piece %d has %d words, want 800", i, n)
		}
	}
	if !strings.HasPrefix(ps[0].Text, "# Diary") {
		t.Errorf("first window lost its heading line: %q", ps[0].Text[:20])
	}
	// Consecutive windows share 120 words (15% of 800).
	a, b := strings.Fields(ps[0].Text), strings.Fields(ps[1].Text)
	shared := strings.Join(a[len(a)-120:], " ")
	if !strings.HasPrefix(strings.Join(b, " "), shared) {
		t.Errorf("windows 0 and 1 do not overlap by 120 words")
	}
	if strings.HasPrefix(strings.Join(b, " "), strings.Join(a[len(a)-121:], " ")) {
		t.Errorf("windows overlap by more than 120 words")
	}
	last := strings.Fields(ps[2].Text)
	if last[len(last)-1] != "w1999" {
		t.Errorf("last window ends with %q, want the last word", last[len(last)-1])
	}
}

func TestUnicodeAndCRLF(t *testing.T) {
	doc := "# Café ☕\r\nMeine Schwester heißt Ana.\r\n## Привет\r\nмир\r\n"
	ps := Split(doc, Options{Words: 8})
	checkOffsets(t, doc, ps)
	if len(ps) != 2 || ps[0].Heading != "Café ☕" || ps[1].Heading != "Café ☕ > Привет" {
		t.Fatalf("pieces = %+v", ps)
	}
	if got := ps[1].EmbedText(); !strings.HasPrefix(got, "Café ☕ > Привет\n\n## Привет") {
		t.Errorf("EmbedText = %q", got)
	}
	if (Piece{Text: "x"}).EmbedText() != "x" {
		t.Error("EmbedText without heading changed the text")
	}
}

func BenchmarkSplit(b *testing.B) {
	var sb strings.Builder
	for i := range 50 {
		fmt.Fprintf(&sb, "## Section %d\n%s\n\n", i, words("word", 300))
	}
	doc := sb.String()
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		Split(doc, Options{})
	}
}

// TestWordSpansMatchUnicode checks the ASCII fast path of wordSpans
// against unicode.IsSpace on text mixing ASCII controls, Unicode spaces
// (NEL, no-break space, em space, ideographic space) and multi-byte
// letters.
func TestWordSpansMatchUnicode(t *testing.T) {
	docs := []string{
		"",
		"   ",
		"one",
		" lead and trail ",
		"tab\tnew\nline\rcr\vvt\fff end",
		"nel\u0085nbsp\u00a0em\u2003ideo\u3000end",
		"café naïve 東京 über\u00a0straße",
		"\x00nul\x1fus are\x7fnot spaces",
		"invalid \xff\xfe bytes",
	}
	for _, doc := range docs {
		var got []string
		for _, s := range wordSpans(doc, 0, len(doc)) {
			got = append(got, doc[s.start:s.end])
		}
		want := strings.FieldsFunc(doc, unicode.IsSpace)
		if !slices.Equal(got, want) {
			t.Errorf("wordSpans(%q) = %q, want %q", doc, got, want)
		}
	}
}
