package slack

import (
	"strings"
	"unicode/utf8"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// RenderMrkdwn converts the Markdown a model writes into Slack mrkdwn:
// *bold*, _italic_, ~strike~, `code`, ``` blocks, <url|text> links, "•"
// bullets, headings as bold lines, and &, <, > escaped as Slack requires.
func RenderMrkdwn(md string) string {
	blocks := channelkit.ParseMarkdown(md)
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch bl.Kind {
		case channelkit.BlockBlank:
		case channelkit.BlockLine:
			renderInlines(&b, bl.Inlines, false)
		case channelkit.BlockHeading:
			b.WriteString("*")
			renderInlines(&b, bl.Inlines, true)
			b.WriteString("*")
		case channelkit.BlockListItem:
			b.WriteString(strings.Repeat("    ", bl.Indent))
			if bl.Ordered {
				b.WriteString(escape(bl.Marker) + " ")
			} else {
				b.WriteString("• ")
			}
			renderInlines(&b, bl.Inlines, false)
		case channelkit.BlockQuote:
			b.WriteString("> ")
			renderInlines(&b, bl.Inlines, false)
		case channelkit.BlockRule:
			b.WriteString("———")
		case channelkit.BlockCode:
			b.WriteString("```\n")
			b.WriteString(escape(bl.Code))
			b.WriteString("\n```")
		}
	}
	return b.String()
}

// renderInlines writes inlines; inBold drops bold markers already open
// (Slack does not nest *...* in *...*).
func renderInlines(b *strings.Builder, ins []channelkit.Inline, inBold bool) {
	for _, in := range ins {
		switch in.Kind {
		case channelkit.InlineText:
			b.WriteString(escape(in.Text))
		case channelkit.InlineCode:
			b.WriteString("`" + escape(in.Text) + "`")
		case channelkit.InlineBold:
			if inBold {
				renderInlines(b, in.Children, true)
				continue
			}
			b.WriteString("*")
			renderInlines(b, in.Children, true)
			b.WriteString("*")
		case channelkit.InlineItalic:
			b.WriteString("_")
			renderInlines(b, in.Children, inBold)
			b.WriteString("_")
		case channelkit.InlineStrike:
			b.WriteString("~")
			renderInlines(b, in.Children, inBold)
			b.WriteString("~")
		case channelkit.InlineLink:
			text := channelkit.PlainText(in.Children)
			if !linkable(in.URL) {
				b.WriteString(escape(text))
				if text != in.URL {
					b.WriteString(" (" + escape(in.URL) + ")")
				}
				continue
			}
			url := strings.ReplaceAll(escape(in.URL), "|", "%7C")
			if text == "" || text == in.URL {
				b.WriteString("<" + url + ">")
				continue
			}
			b.WriteString("<" + url + "|" + escape(text) + ">")
		}
	}
}

func linkable(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "mailto:")
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func escape(s string) string { return escaper.Replace(s) }

// renderedLen estimates the length of Markdown once rendered: escaping
// makes &, < and > longer, everything else only gets shorter.
func renderedLen(s string) int {
	n := utf8.RuneCountInString(s)
	n += 4 * strings.Count(s, "&")
	n += 3 * (strings.Count(s, "<") + strings.Count(s, ">"))
	return n
}

// splitMarkdown cuts an answer into chunks that fit one message once
// rendered.
func (c *Channel) splitMarkdown(md string) []string {
	return channelkit.Split(md, channelkit.SplitOptions{Limit: c.cfg.MaxMessageLen, Len: renderedLen})
}
