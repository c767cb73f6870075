package telegram_test

import (
	"strings"
	"testing"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

func TestRenderHTML(t *testing.T) {
	for _, tc := range []struct{ md, want string }{
		{"**Bold** and _it_ and `a<b>`", "<b>Bold</b> and <i>it</i> and <code>a&lt;b&gt;</code>"},
		{"snake_case_name & a < b > c", "snake_case_name &amp; a &lt; b &gt; c"},
		{"# Title\n- one\n  - nested\n* two", "<b>Title</b>\n• one\n  • nested\n• two"},
		{"1. first\n2) second", "1. first\n2) second"},
		{"```go\nif a < b && c {\n}\n```", "<pre><code class=\"language-go\">if a &lt; b &amp;&amp; c {\n}</code></pre>"},
		{"```\nplain <code>\n```", "<pre>plain &lt;code&gt;</pre>"},
		{"```x\"><b\nx\n```", "<pre>x</pre>"},
		{`[docs](https://x.dev/?a=1&b="2")`, `<a href="https://x.dev/?a=1&amp;b=&quot;2&quot;">docs</a>`},
		{"[**bold** link](https://x.dev)", `<a href="https://x.dev"><b>bold</b> link</a>`},
		{"[click](javascript:alert(1))", "click (javascript:alert(1))"},
		{"> quoted\n> more\nafter", "<blockquote>quoted\nmore</blockquote>\nafter"},
		{"~~old~~ new", "<s>old</s> new"},
		{"a * b * c and 2 * 3 = 6 and *", "a * b * c and 2 * 3 = 6 and *"},
		{"***both***", "<b><i>both</i></b>"},
		{"para one\n\npara two\n---", "para one\n\npara two\n———"},
	} {
		got := telegram.RenderHTML(tc.md)
		if got != tc.want {
			t.Errorf("RenderHTML(%q)\n got %q\nwant %q", tc.md, got, tc.want)
		}
		if _, err := faketelegram.ParseHTML(got); err != nil {
			t.Errorf("RenderHTML(%q) = %q, which Telegram rejects: %v", tc.md, got, err)
		}
	}
}

// TestRenderHTMLAlwaysAccepted feeds hostile Markdown to the renderer and
// checks that Telegram's HTML parser accepts every result.
func TestRenderHTMLAlwaysAccepted(t *testing.T) {
	pieces := []string{"*", "**", "_", "__", "~~", "`", "```", "[", "]", "(", ")", "<", ">", "&", "&amp;", "\"",
		"a", "b c", "\n", "# ", "> ", "- ", "1. ", "http://x.y/?a=1&b=2", "\\", "<b>", "</i>", "é", "😀"}
	seed := uint32(1)
	next := func() int {
		seed = seed*1664525 + 1013904223
		return int(seed >> 8)
	}
	for range 3000 {
		var b strings.Builder
		for range next()%25 + 1 {
			b.WriteString(pieces[next()%len(pieces)])
		}
		md := b.String()
		html := telegram.RenderHTML(md)
		if _, err := faketelegram.ParseHTML(html); err != nil {
			t.Fatalf("RenderHTML(%q) = %q rejected: %v", md, html, err)
		}
	}
}
