package channelkit_test

import (
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine/channelkit"
)

func TestExtractText(t *testing.T) {
	for _, tc := range []struct {
		name, file, mime string
		data             []byte
		limit            int
		want             string
	}{
		{"text mime", "notes", "text/plain; charset=utf-8", []byte("hello"), 0, "hello"},
		{"by extension", "main.go", "application/octet-stream", []byte("package main"), 0, "package main"},
		{"json", "x", "application/json", []byte(`{"a":1}`), 0, `{"a":1}`},
		{"sniffed", "README", "", []byte("just words"), 0, "just words"},
		{"binary named .txt", "evil.txt", "text/plain", []byte("a\x00b"), 0, ""},
		{"pdf", "doc.pdf", "application/pdf", []byte("%PDF-1.4"), 0, ""},
		{"cut on a rune boundary", "a.txt", "", []byte("héllo"), 2, "h\n[truncated]"},
		{"invalid utf8 repaired", "a.txt", "", []byte("a\xffb"), 0, "a\uFFFDb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := channelkit.ExtractText(tc.file, tc.mime, tc.data, tc.limit); got != tc.want {
				t.Fatalf("ExtractText = %q, want %q", got, tc.want)
			}
		})
	}
	if !channelkit.IsTextLike("x.CSV", "") || channelkit.IsTextLike("x.png", "image/png") {
		t.Fatal("IsTextLike")
	}
	if strings.Contains(channelkit.ExtractText("a.txt", "", []byte("abc"), 10), "truncated") {
		t.Fatal("short text marked truncated")
	}
}
