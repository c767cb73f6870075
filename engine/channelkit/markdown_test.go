package channelkit_test

import (
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// dump renders inlines as a compact tree: B(...) bold, I(...) italic,
// S(...) strike, C{...} code, L<url>(...) link.
func dump(ins []channelkit.Inline) string {
	var b strings.Builder
	for _, in := range ins {
		switch in.Kind {
		case channelkit.InlineText:
			b.WriteString(in.Text)
		case channelkit.InlineCode:
			b.WriteString("C{" + in.Text + "}")
		case channelkit.InlineBold:
			b.WriteString("B(" + dump(in.Children) + ")")
		case channelkit.InlineItalic:
			b.WriteString("I(" + dump(in.Children) + ")")
		case channelkit.InlineStrike:
			b.WriteString("S(" + dump(in.Children) + ")")
		case channelkit.InlineLink:
			b.WriteString("L<" + in.URL + ">(" + dump(in.Children) + ")")
		}
	}
	return b.String()
}

func TestParseInline(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"**bold** and *it* and _it2_ and __b2__", "B(bold) and I(it) and I(it2) and B(b2)"},
		{"snake_case_name and file_name.go", "snake_case_name and file_name.go"},
		{"a * b * c", "a * b * c"},
		{"2*3*4", "2I(3)4"},
		{"lone _underscore", "lone _underscore"},
		{"`code with **stars**` after", "C{code with **stars**} after"},
		{"``a ` b``", "C{a ` b}"},
		{"unclosed `tick", "unclosed `tick"},
		{"~~gone~~ ~approx", "S(gone) ~approx"},
		{"***both***", "B(I(both))"},
		{"*outer **inner** outer*", "I(outer B(inner) outer)"},
		{"[the site](https://example.com/a_b?x=1&y=2)", "L<https://example.com/a_b?x=1&y=2>(the site)"},
		{"[**bold link**](http://x.y)", "L<http://x.y>(B(bold link))"},
		{"see <https://a.example/x>", "see L<https://a.example/x>(https://a.example/x)"},
		{"a <b> tag & more", "a <b> tag & more"},
		{`escaped \*not italic\* and \_`, "escaped *not italic* and _"},
		{"[not a link] (x)", "[not a link] (x)"},
		{"![alt](http://img)", "L<http://img>(alt)"},
		{"**unclosed bold", "**unclosed bold"},
		{"f(a[0]) = [1](", "f(a[0]) = [1]("},
	} {
		if got := dump(channelkit.ParseInline(tc.in)); got != tc.want {
			t.Errorf("ParseInline(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseMarkdownBlocks(t *testing.T) {
	src := "# Title #\n\nText line\n- item *a*\n  2. nested\n> quoted\n---\n```go\nfmt.Println(\"<hi>\")\n\n```\nend\n```\nunclosed"
	blocks := channelkit.ParseMarkdown(src)
	type want struct {
		kind   channelkit.BlockKind
		detail string
	}
	var got []want
	for _, b := range blocks {
		var d string
		switch b.Kind {
		case channelkit.BlockHeading:
			d = dump(b.Inlines) + "/" + strings.Repeat("#", b.Level)
		case channelkit.BlockListItem:
			d = b.Marker + " " + dump(b.Inlines) + "/" + strings.Repeat(">", b.Indent)
		case channelkit.BlockCode:
			d = b.Lang + ":" + b.Code
		default:
			d = dump(b.Inlines)
		}
		got = append(got, want{b.Kind, d})
	}
	expect := []want{
		{channelkit.BlockHeading, "Title/#"},
		{channelkit.BlockBlank, ""},
		{channelkit.BlockLine, "Text line"},
		{channelkit.BlockListItem, "- item I(a)/"},
		{channelkit.BlockListItem, "2. nested/>"},
		{channelkit.BlockQuote, "quoted"},
		{channelkit.BlockRule, ""},
		{channelkit.BlockCode, "go:fmt.Println(\"<hi>\")\n"},
		{channelkit.BlockLine, "end"},
		{channelkit.BlockCode, ":unclosed"},
	}
	if len(got) != len(expect) {
		t.Fatalf("blocks = %+v", got)
	}
	for i := range expect {
		if got[i] != expect[i] {
			t.Errorf("block %d = %+v, want %+v", i, got[i], expect[i])
		}
	}
}

func TestPlainText(t *testing.T) {
	if got := channelkit.PlainText(channelkit.ParseInline("**a** [b](u) `c`")); got != "a b c" {
		t.Fatalf("PlainText = %q", got)
	}
}
