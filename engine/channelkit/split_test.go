package channelkit_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine/channelkit"
)

func TestSplitTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		text  string
		limit int
		want  []string
	}{
		{name: "fits", text: "hello world", limit: 20, want: []string{"hello world"}},
		{name: "empty", text: "  \n ", limit: 20, want: nil},
		{
			name:  "paragraph boundary preferred",
			text:  "first paragraph line\nstill first\n\nsecond paragraph",
			limit: 40,
			want:  []string{"first paragraph line\nstill first", "second paragraph"},
		},
		{
			name:  "line boundary when no paragraph",
			text:  "aaaa aaaa\nbbbb bbbb\ncccc cccc",
			limit: 20,
			want:  []string{"aaaa aaaa\nbbbb bbbb", "cccc cccc"},
		},
		{
			name:  "long line cut at a space",
			text:  "one two three four five six seven eight",
			limit: 20,
			want:  []string{"one two three four", "five six seven eight"},
		},
		{
			name:  "a short paragraph then a long line: the chunk is filled",
			text:  "Hi\n\nalpha beta gamma delta epsilon",
			limit: 20,
			want:  []string{"Hi\n\nalpha beta", "gamma delta epsilon"},
		},
		{
			name:  "code block closed and reopened with its language",
			text:  "```go\nline1()\nline2()\nline3()\n```",
			limit: 30,
			want:  []string{"```go\nline1()\nline2()\n```", "```go\nline3()\n```"},
		},
		{
			name:  "break before the code block rather than inside it",
			text:  "Intro text here.\n```\ncode line\n```\nafter",
			limit: 30,
			want:  []string{"Intro text here.", "```\ncode line\n```\nafter"},
		},
		{
			name:  "tilde fence and longer closing fence",
			text:  "~~~~\na\nb\nc\nd\n~~~~~",
			limit: 16,
			want:  []string{"~~~~\na\nb\nc\n~~~~", "~~~~\nd\n~~~~~"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := channelkit.Split(tc.text, channelkit.SplitOptions{Limit: tc.limit})
			if strings.Join(got, "\x00") != strings.Join(tc.want, "\x00") {
				t.Fatalf("Split =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestSplitInvariants checks, on a long mixed document, that every chunk
// fits, every chunk has balanced fences, and no content is lost.
func TestSplitInvariants(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		b.WriteString("## Section ")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString("\n\nSome prose with **bold** and `code` and a_snake_case name. ")
		b.WriteString(strings.Repeat("word ", 30))
		b.WriteString("\n\n```python\n")
		for j := range 25 {
			b.WriteString("print('line ")
			b.WriteString(strings.Repeat("é", j%5))
			b.WriteString("')  # 😀\n")
		}
		b.WriteString("```\n\n- item one\n- item two\n")
	}
	text := b.String()
	for _, limit := range []int{100, 300, 1000, 4096} {
		for name, measure := range map[string]func(string) int{"runes": nil, "utf16": channelkit.UTF16Len} {
			chunks := channelkit.Split(text, channelkit.SplitOptions{Limit: limit, Len: measure})
			m := measure
			if m == nil {
				m = utf8.RuneCountInString
			}
			var content strings.Builder
			for i, c := range chunks {
				if n := m(c); n > limit {
					t.Fatalf("%s/%d: chunk %d measures %d > %d", name, limit, i, n, limit)
				}
				if strings.Count(c, "```")%2 != 0 {
					t.Fatalf("%s/%d: chunk %d has unbalanced fences:\n%s", name, limit, i, c)
				}
				for _, line := range strings.Split(c, "\n") {
					if !strings.HasPrefix(line, "```") {
						content.WriteString(line)
					}
				}
			}
			var orig strings.Builder
			for _, line := range strings.Split(text, "\n") {
				if !strings.HasPrefix(line, "```") {
					orig.WriteString(line)
				}
			}
			strip := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if strip(content.String()) != strip(orig.String()) {
				t.Fatalf("%s/%d: content changed by splitting", name, limit)
			}
		}
	}
}

func TestUTF16Len(t *testing.T) {
	if n := channelkit.UTF16Len("aé😀"); n != 4 {
		t.Fatalf("UTF16Len = %d, want 4", n)
	}
}

func TestParseFence(t *testing.T) {
	for _, tc := range []struct {
		line   string
		ok     bool
		marker string
		info   string
	}{
		{"```", true, "```", ""},
		{"```go", true, "```", "go"},
		{"  ````python extra", true, "````", "python extra"},
		{"~~~", true, "~~~", ""},
		{"``", false, "", ""},
		{"    ```", false, "", ""},
		{"```a`b", false, "", ""},
	} {
		f, ok := channelkit.ParseFence(tc.line)
		if ok != tc.ok || f.Marker != tc.marker || f.Info != tc.info {
			t.Errorf("ParseFence(%q) = %+v, %v", tc.line, f, ok)
		}
	}
	f, _ := channelkit.ParseFence("````")
	if f.Closes("```") || !f.Closes("`````  ") || f.Closes("```` x") {
		t.Error("Closes wrong")
	}
}
