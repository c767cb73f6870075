package safety

import (
	"strings"
	"testing"
)

// mixedText builds n bytes of mixed content: the benign and injection
// corpora (prose in several languages, code, logs, URLs, base64) repeated.
func mixedText(tb testing.TB, n int) string {
	tb.Helper()
	var parts []string
	for _, e := range loadCorpus(tb, "benign.jsonl") {
		parts = append(parts, e.Text)
	}
	for i, e := range loadCorpus(tb, "injections.jsonl") {
		if i%4 == 0 { // mostly benign, some attacks
			parts = append(parts, e.Text)
		}
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(parts[i%len(parts)])
		b.WriteString("\n\n")
	}
	return b.String()[:n]
}

// toolOutput2K is a typical 2 KB tool result: a fetched page with prose,
// a link, a code block and a few numbers.
func toolOutput2K() string {
	page := "Title: Release notes for version 4.2\n\n" +
		"This release improves startup time by 30% and fixes a crash when the configuration file is missing. " +
		"Thanks to everyone who reported issues on the tracker. See the [migration guide](https://docs.example.com/migrate/4.2) " +
		"for changes to the plugin API.\n\n" +
		"## Highlights\n\n- Faster cold start on ARM64\n- New `--dry-run` flag for the sync command\n" +
		"- The cache directory moved to $XDG_CACHE_HOME/example\n\n" +
		"```bash\nexample sync --dry-run ./data | tee sync.log\n```\n\n" +
		"Checksums: sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n\n" +
		"Known issues: on Windows the tray icon may not appear until the first sync completes. " +
		"If you use the system proxy, set HTTPS_PROXY before starting the daemon. "
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(page)
	}
	return b.String()[:2048]
}

func BenchmarkScan1MB(b *testing.B) {
	text := mixedText(b, 1<<20)
	d := NewDetector(DetectorOptions{})
	b.SetBytes(int64(len(text)))
	measureCPU(b, func() { d.Scan(text) })
}

func BenchmarkCheck1MB(b *testing.B) {
	text := mixedText(b, 1<<20)
	g, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	measureCPU(b, func() { g.Check(text, "web") })
}

func BenchmarkGuardToolOutput2KB(b *testing.B) {
	text := toolOutput2K()
	g, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	measureCPU(b, func() { g.Check(text, "tool:web_fetch") })
}
