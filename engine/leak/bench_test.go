package leak

import (
	"strings"
	"testing"
)

// typicalToolOutput is about 2 KB of JSON-ish text as a GitHub or web
// tool returns, with commit ids and URLs but no credential.
func typicalToolOutput() string {
	var b strings.Builder
	for b.Len() < 2048 {
		b.WriteString(`{"number": 1347, "title": "Fix the flaky test in engine/actor", "state": "open", ` +
			`"user": {"login": "octocat"}, "sha": "6dcb09b5b57875f334f61aebed695e2e4193db5e", ` +
			`"url": "https://api.github.com/repos/octocat/Hello-World/issues/1347", "body": "Steps: run go test -race ./... twice."}` + "\n")
	}
	return b.String()[:2048]
}

func benchmarkScan(b *testing.B, text string, secrets int) {
	d := New(Options{})
	for i := 0; i < secrets; i++ {
		d.AddSecret("s"+strings.Repeat("x", i), "stored-secret-value-"+strings.Repeat("q", i+1))
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		_ = d.Scan(text)
	}
}

// BenchmarkScan2KB is the per-message overhead for a typical tool output.
func BenchmarkScan2KB(b *testing.B) { benchmarkScan(b, typicalToolOutput(), 0) }

// BenchmarkScan2KB20Secrets adds twenty stored secrets (about 200 forms).
func BenchmarkScan2KB20Secrets(b *testing.B) { benchmarkScan(b, typicalToolOutput(), 20) }

// BenchmarkScan1MB measures throughput on a large response body.
func BenchmarkScan1MB(b *testing.B) {
	benchmarkScan(b, strings.Repeat(typicalToolOutput(), 512), 20)
}

// BenchmarkRedact2KBWithFindings redacts a 2 KB text carrying three keys.
func BenchmarkRedact2KBWithFindings(b *testing.B) {
	text := typicalToolOutput()[:1900] + " " + fakeGitHub + " " + fakeOpenAI + " " + fakeAWSID
	d := New(Options{})
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = d.Redact(text)
	}
}
