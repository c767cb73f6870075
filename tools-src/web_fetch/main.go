// Command web_fetch is a Hearth tool that fetches a web page from an
// allowlisted host and returns its readable text. Build it with
// `make wasm`; the hosts it may fetch are in web_fetch.capabilities.json.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/hearthbot/hearth/sandbox/guest"
)

const description = "Fetch a web page (from the hosts this tool is allowed to reach) and return its title and readable text, without scripts, styles or markup."

const schema = `{
  "type": "object",
  "properties": {
    "url": {"type": "string", "description": "The page's URL, https://…"},
    "max_chars": {"type": "integer", "minimum": 100, "maximum": 100000, "description": "Cut the text after this many characters (default 20000)."}
  },
  "required": ["url"],
  "additionalProperties": false
}`

type params struct {
	URL      string `json:"url"`
	MaxChars int    `json:"max_chars"`
}

func init() { guest.Register(description, schema, fetch) }

func main() {}

func fetch(c *guest.Context, p params) (string, error) {
	if p.URL == "" {
		return "", errors.New("url is required")
	}
	limit := p.MaxChars
	if limit <= 0 {
		limit = 20000
	}
	resp, err := c.HTTP(guest.Request{
		Method:    "GET",
		URL:       p.URL,
		Headers:   map[string]string{"Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"},
		TimeoutMS: 15000,
	})
	if err != nil {
		if guest.IsBlocked(err) {
			return "", fmt.Errorf("%w (web_fetch may fetch only the hosts listed in its capabilities file)", err)
		}
		return "", err
	}
	return render(resp, limit)
}

// render turns a response into the tool's output.
func render(resp *guest.Response, limit int) (string, error) {
	if resp.Status >= 400 {
		return "", fmt.Errorf("the server answered HTTP %d for %s", resp.Status, resp.URL)
	}
	ctype := header(resp.Headers, "Content-Type")
	media, _, err := mime.ParseMediaType(ctype)
	if err != nil {
		media = "text/html" // servers that send nothing usually send HTML
	}
	var title, text string
	switch {
	case media == "text/html" || media == "application/xhtml+xml":
		title, text = Readable(bytes.NewReader(resp.Body))
	case strings.HasPrefix(media, "text/") || media == "application/json" || strings.HasSuffix(media, "+json") ||
		media == "application/xml" || strings.HasSuffix(media, "+xml"):
		if !utf8.Valid(resp.Body) {
			return "", fmt.Errorf("%s is not UTF-8 text", resp.URL)
		}
		text = strings.TrimSpace(string(resp.Body))
	default:
		return "", fmt.Errorf("%s is %s, not a page with text", resp.URL, media)
	}
	var b strings.Builder
	if title != "" {
		b.WriteString("Title: " + title + "\n")
	}
	b.WriteString("URL: " + resp.URL + "\n\n")
	cut, wasCut := cutRunes(text, limit)
	b.WriteString(cut)
	if wasCut {
		fmt.Fprintf(&b, "\n\n[text cut at %d characters]", limit)
	} else if resp.Truncated {
		b.WriteString("\n\n[the page was larger than the download limit; this is its beginning]")
	}
	return b.String(), nil
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func cutRunes(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], true
		}
		i++
	}
	return s, false
}
