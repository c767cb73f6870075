package telegram

import (
	"strings"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// splitMarkdown cuts a Markdown answer into chunks whose visible text fits
// one Telegram message. Rendering never makes the visible text longer than
// the Markdown source (markers vanish, entities count as one character), so
// measuring the source in UTF-16 units is safe.
func splitMarkdown(md string) []string {
	return channelkit.Split(md, channelkit.SplitOptions{Limit: MaxMessageLen, Len: channelkit.UTF16Len})
}

// RenderHTML converts the Markdown a model writes into Telegram's HTML
// parse mode: <b>, <i>, <s>, <code>, <pre><code class="language-x">,
// <a href>, <blockquote>; every <, > and & of the text escaped, so stray
// markers (snake_case, a lone *) can never make Telegram reject a message.
func RenderHTML(md string) string {
	blocks := channelkit.ParseMarkdown(md)
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 && !(bl.Kind == channelkit.BlockQuote && blocks[i-1].Kind == channelkit.BlockQuote) {
			b.WriteByte('\n')
		}
		switch bl.Kind {
		case channelkit.BlockBlank:
		case channelkit.BlockLine:
			renderInlines(&b, bl.Inlines, false)
		case channelkit.BlockHeading:
			b.WriteString("<b>")
			renderInlines(&b, bl.Inlines, false)
			b.WriteString("</b>")
		case channelkit.BlockListItem:
			b.WriteString(strings.Repeat("  ", bl.Indent))
			if bl.Ordered {
				b.WriteString(escapeHTML(bl.Marker) + " ")
			} else {
				b.WriteString("• ")
			}
			renderInlines(&b, bl.Inlines, false)
		case channelkit.BlockQuote:
			if i == 0 || blocks[i-1].Kind != channelkit.BlockQuote {
				b.WriteString("<blockquote>")
			} else {
				b.WriteByte('\n')
			}
			renderInlines(&b, bl.Inlines, false)
			if i+1 == len(blocks) || blocks[i+1].Kind != channelkit.BlockQuote {
				b.WriteString("</blockquote>")
			}
		case channelkit.BlockRule:
			b.WriteString("———")
		case channelkit.BlockCode:
			if lang := safeLang(bl.Lang); lang != "" {
				b.WriteString(`<pre><code class="language-` + lang + `">`)
				b.WriteString(escapeHTML(bl.Code))
				b.WriteString("</code></pre>")
			} else {
				b.WriteString("<pre>")
				b.WriteString(escapeHTML(bl.Code))
				b.WriteString("</pre>")
			}
		}
	}
	return b.String()
}

func renderInlines(b *strings.Builder, ins []channelkit.Inline, inLink bool) {
	for _, in := range ins {
		switch in.Kind {
		case channelkit.InlineText:
			b.WriteString(escapeHTML(in.Text))
		case channelkit.InlineCode:
			b.WriteString("<code>" + escapeHTML(in.Text) + "</code>")
		case channelkit.InlineBold:
			wrap(b, "b", in.Children, inLink)
		case channelkit.InlineItalic:
			wrap(b, "i", in.Children, inLink)
		case channelkit.InlineStrike:
			wrap(b, "s", in.Children, inLink)
		case channelkit.InlineLink:
			if inLink || !linkable(in.URL) {
				renderInlines(b, in.Children, inLink)
				if !inLink && channelkit.PlainText(in.Children) != in.URL {
					b.WriteString(" (" + escapeHTML(in.URL) + ")")
				}
				continue
			}
			b.WriteString(`<a href="` + escapeAttr(in.URL) + `">`)
			renderInlines(b, in.Children, true)
			b.WriteString("</a>")
		}
	}
}

func wrap(b *strings.Builder, tag string, children []channelkit.Inline, inLink bool) {
	b.WriteString("<" + tag + ">")
	renderInlines(b, children, inLink)
	b.WriteString("</" + tag + ">")
}

// linkable reports whether Telegram accepts the URL in <a href>.
func linkable(u string) bool {
	l := strings.ToLower(u)
	for _, p := range []string{"http://", "https://", "tg://", "mailto:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// safeLang keeps a code block's language only if it is a plain word, since
// it goes into an attribute.
func safeLang(lang string) string {
	for _, r := range lang {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("+-#._", r)) {
			return ""
		}
	}
	return lang
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

var attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

func escapeAttr(s string) string { return attrEscaper.Replace(s) }
