package memory

import (
	"errors"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func TestCleanPath(t *testing.T) {
	good := map[string]string{
		"notes/trip.md":                   "notes/trip.md",
		"./notes//trip.md":                "notes/trip.md",
		" AGENTS.md ":                     "AGENTS.md",
		"daily/2026-11-24.md":             "daily/2026-11-24.md",
		"notes/./a/b.md":                  "notes/a/b.md",
		"folder/":                         "folder",
		"ünïcödé/日記.md":                   "ünïcödé/日記.md",
		"...md":                           "...md",
		"%2e%2e/literal.md":               "%2e%2e/literal.md",
		strings.Repeat("a/", 15) + "x.md": strings.Repeat("a/", 15) + "x.md",
	}
	for in, want := range good {
		got, err := CleanPath(in)
		if err != nil || got != want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := map[string]string{
		"":                                "empty",
		"   ":                             "empty",
		"./":                              "names no file",
		"../etc/passwd":                   `".." is not allowed`,
		"notes/../../x.md":                `".." is not allowed`,
		"notes/..":                        `".." is not allowed`,
		"/etc/passwd":                     "not absolute",
		"C:/Windows/x.md":                 "not absolute",
		"~/secrets.md":                    "not absolute",
		`notes\trip.md`:                   `not '\'`,
		"notes/a\x00.md":                  "NUL",
		"bad\xffutf8.md":                  "not valid UTF-8",
		"new\nline.md":                    "control character U+000A",
		"tab\there.md":                    "control character U+0009",
		strings.Repeat("x", 600):          "the limit is 512",
		strings.Repeat("a/", 16) + "x.md": "17 levels deep",
		strings.Repeat("n", 300) + "/x":   "longer than 255 bytes",
	}
	for in, want := range bad {
		got, err := CleanPath(in)
		if err == nil || !errors.Is(err, ErrInvalidPath) || !strings.Contains(err.Error(), want) {
			t.Errorf("CleanPath(%q) = %q, %v; want ErrInvalidPath saying %q", in, got, err, want)
		}
	}
}

func TestCleanFolder(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", ".": "", "notes": "notes/", "notes/": "notes/", "a//b": "a/b/"} {
		if got, err := CleanFolder(in); err != nil || got != want {
			t.Errorf("CleanFolder(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := CleanFolder("../x"); !errors.Is(err, ErrInvalidPath) {
		t.Errorf("CleanFolder(../x) = %v", err)
	}
}

func TestCheckContent(t *testing.T) {
	tests := []struct {
		content string
		max     int
		target  error
		want    string
	}{
		{"fine ✓", 100, nil, ""},
		{"bad \xff", 100, ErrInvalidContent, "not valid UTF-8"},
		{"nul \x00", 100, ErrInvalidContent, "NUL"},
		{"123456", 5, engine.ErrTooLarge, "6 bytes, the limit is 5"},
		{"123456", 0, nil, ""},
	}
	for _, tc := range tests {
		err := CheckContent(tc.content, tc.max)
		if tc.target == nil {
			if err != nil {
				t.Errorf("CheckContent(%q) = %v", tc.content, err)
			}
			continue
		}
		if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckContent(%q) = %v; want %v saying %q", tc.content, err, tc.target, tc.want)
		}
	}
}
