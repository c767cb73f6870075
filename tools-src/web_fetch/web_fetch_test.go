package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/sandbox/tooltest"
)

const page = `<!doctype html>
<html><head><title>Ada Lovelace &amp; the Engine</title>
<style>body { color: red }</style>
<script>var token = "should never appear";</script>
</head>
<body>
<nav><a href="/">Home</a> | <a href="/about">About</a></nav>
<h1>Ada   Lovelace</h1>
<p>Ada was a <b>mathematician</b> &mdash; the first
programmer.</p>
<ul><li>Born 1815</li><li>Died 1852</li></ul>
<p>She wrote the first algorithm intended for a machine, the Analytical Engine of Charles Babbage.</p>
<noscript>enable JavaScript</noscript>
<footer>© site</footer>
</body></html>`

func TestReadable(t *testing.T) {
	title, text := Readable(strings.NewReader(page))
	if title != "Ada Lovelace & the Engine" {
		t.Fatalf("title %q", title)
	}
	want := "# Ada Lovelace\nAda was a mathematician — the first programmer.\n- Born 1815\n- Died 1852\n" +
		"She wrote the first algorithm intended for a machine, the Analytical Engine of Charles Babbage."
	if text != want {
		t.Fatalf("text:\n%s\nwant:\n%s", text, want)
	}
	for _, never := range []string{"token", "color", "Home", "enable JavaScript", "©"} {
		if strings.Contains(text, never) {
			t.Errorf("text keeps %q", never)
		}
	}
}

func TestWebFetchInTheSandbox(t *testing.T) {
	h := tooltest.NewToolHarness(t, "tools-src/web_fetch")
	h.Net.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wiki/Ada_Lovelace":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, page)
		case "/robots.txt":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "User-agent: *\nDisallow:")
		case "/logo.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write([]byte{0x89, 'P', 'N', 'G'})
		case "/moved":
			http.Redirect(w, r, "https://evil.test/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}), "en.wikipedia.org")
	h.Net.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("evil.test was reached: %s", r.URL)
	}), "evil.test")
	m := h.Load()
	if info := m.Info(); !info.Untrusted || info.Source != "wasm" || !strings.Contains(string(info.Parameters), `"url"`) {
		t.Fatalf("info %+v", info)
	}

	res := h.Call(map[string]any{"url": "https://en.wikipedia.org/wiki/Ada_Lovelace"})
	want := "Title: Ada Lovelace & the Engine\nURL: https://en.wikipedia.org/wiki/Ada_Lovelace\n\n# Ada Lovelace\nAda was a mathematician — the first programmer."
	if res.IsError || !strings.HasPrefix(res.Content, want) || strings.Contains(res.Content, "should never appear") {
		t.Fatalf("page: %+v", res)
	}
	if !res.Untrusted {
		t.Fatal("web content must be marked untrusted")
	}
	if res := h.Call(map[string]any{"url": "https://en.wikipedia.org/wiki/Ada_Lovelace", "max_chars": 100}); !strings.HasSuffix(res.Content, "[text cut at 100 characters]") {
		t.Fatalf("max_chars: %q", res.Content)
	}
	if res := h.Call(map[string]any{"url": "https://en.wikipedia.org/robots.txt"}); res.IsError || !strings.Contains(res.Content, "Disallow:") {
		t.Fatalf("plain text: %+v", res)
	}
	errs := []struct {
		url, want string
	}{
		{"https://en.wikipedia.org/logo.png", "is image/png, not a page with text"},
		{"https://en.wikipedia.org/missing", "HTTP 404"},
		{"https://evil.test/", "not on the tool's allowlist (web_fetch may fetch only the hosts listed in its capabilities file)"},
		{"http://en.wikipedia.org/wiki/Ada_Lovelace", "https only"},
		{"https://en.wikipedia.org/moved", "redirect refused"},
		{"https://user:pw@en.wikipedia.org/", "credentials in the URL"},
		{"file:///etc/passwd", "only absolute http:// and https:// URLs"},
	}
	for _, e := range errs {
		res := h.Call(map[string]any{"url": e.url})
		if !res.IsError || !strings.Contains(res.Content, e.want) {
			t.Errorf("%s: %+v, want an error containing %q", e.url, res, e.want)
		}
	}
}
