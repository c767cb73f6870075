package main

import (
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// skipped elements carry no readable text.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
	atom.Head: true, atom.Nav: true, atom.Footer: true, atom.Form: true, atom.Button: true,
}

// blocks end a line of text.
var blocks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Tr: true, atom.Section: true,
	atom.Article: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Pre: true, atom.Blockquote: true, atom.Table: true, atom.Ul: true, atom.Ol: true,
	atom.Dd: true, atom.Dt: true, atom.Hr: true, atom.Header: true, atom.Main: true, atom.Figcaption: true,
}

// headings are marked with Markdown hashes.
var headings = map[atom.Atom]string{
	atom.H1: "# ", atom.H2: "## ", atom.H3: "### ", atom.H4: "#### ", atom.H5: "##### ", atom.H6: "###### ",
}

// Readable turns an HTML document into its title and readable text:
// scripts, styles and navigation dropped, tags removed, entities decoded,
// one paragraph per line, headings as Markdown.
func Readable(r io.Reader) (title, text string) {
	z := html.NewTokenizer(r)
	var b strings.Builder
	skip := 0
	inTitle := false
	line := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(title), tidy(b.String())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Title {
				inTitle = tt == html.StartTagToken
				continue
			}
			if skipped[a] && tt == html.StartTagToken && a != atom.Head {
				skip++
				continue
			}
			if blocks[a] {
				line()
			}
			if h, ok := headings[a]; ok && skip == 0 {
				b.WriteString(h)
			}
			if a == atom.Li && skip == 0 {
				b.WriteString("- ")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if a == atom.Title {
				inTitle = false
				continue
			}
			if skipped[a] && a != atom.Head && skip > 0 {
				skip--
				continue
			}
			if blocks[a] {
				line()
			}
		case html.TextToken:
			t := string(z.Text())
			if inTitle {
				title += t
				continue
			}
			if skip > 0 {
				continue
			}
			b.WriteString(collapse(t))
		}
	}
}

// collapse turns runs of whitespace into single spaces.
func collapse(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\n' || r == '\t' || r == '\r' || r == '\f' || r == '\u00a0' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}

// tidy trims every line and drops empty ones.
func tidy(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && l != "-" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
