package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/internal/fakellm"
)

// writeTree creates files under dir from a map of relative path to
// content.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryCommands(t *testing.T) {
	env := hearthEnv(t, "")
	if r := hearth(t, env, "", "memory", "ls"); r.code != 0 || !strings.Contains(r.stdout, "No documents") {
		t.Fatalf("ls on a fresh home: %d %q %q", r.code, r.stdout, r.stderr)
	}
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"USER.md":                 "# About\nMy sister's name is Ana.\n",
		"notes/trip.md":           "# Trip\nLisbon in May, then Porto.\n",
		"daily/2026-11-24.md":     "- dentist at 10\n",
		"notes/ignored.png":       "\x89PNG not text",
		".git/config.md":          "hidden",
		"notes/binary.md":         "bad \xff\xfe utf8",
		"notes/" + "nul.md":       "has \x00 nul",
		"notes/deep/er/still.txt": "plain text note",
		"notes/deep/er/readme.MD": "upper-case extension",
	})
	if err := os.Symlink("/etc/hostname", filepath.Join(src, "notes", "link.md")); err != nil {
		t.Fatal(err)
	}
	r := hearth(t, env, "", "memory", "import", src)
	if r.code != 1 || !strings.Contains(r.stdout, "Imported 5 files") || !strings.Contains(r.stdout, "3 skipped") {
		t.Fatalf("import: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"skipped notes/binary.md: overwrite notes/binary.md: memory: content is not valid UTF-8", "skipped notes/nul.md", "skipped notes/link.md: not a regular file"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("import stderr lacks %q: %s", want, r.stderr)
		}
	}
	if !strings.Contains(r.stdout, "Indexed for full-text search; no embedding provider configured") {
		t.Errorf("import does not say the search is full-text only: %q", r.stdout)
	}
	// Importing again changes nothing.
	if r := hearth(t, env, "", "memory", "import", src); !strings.Contains(r.stdout, "Imported 0 files") || !strings.Contains(r.stdout, "5 unchanged") {
		t.Errorf("second import: %q", r.stdout)
	}
	r = hearth(t, env, "", "memory", "ls")
	for _, want := range []string{"USER.md", "daily/\n  2026-11-24.md", "notes/\n", "deep/\n", "trip.md"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("ls lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, ".git") || strings.Contains(r.stdout, "png") {
		t.Errorf("ls shows skipped files:\n%s", r.stdout)
	}
	if r := hearth(t, env, "", "memory", "cat", "notes/trip.md"); r.code != 0 || r.stdout != "# Trip\nLisbon in May, then Porto.\n" {
		t.Errorf("cat: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = hearth(t, env, "", "memory", "search", "sister", "Ana")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "1") || !strings.Contains(lines[0], "USER.md § About") ||
		!strings.Contains(lines[0], "fts") || !strings.Contains(r.stderr, "full-text ranking only") {
		t.Errorf("search: %d %q %q", r.code, r.stdout, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "export")
	if r := hearth(t, env, "", "memory", "export", out); r.code != 0 || !strings.Contains(r.stdout, "Exported 5 files") {
		t.Fatalf("export: %d %q %q", r.code, r.stdout, r.stderr)
	}
	got, err := os.ReadFile(filepath.Join(out, "notes", "trip.md"))
	if err != nil || string(got) != "# Trip\nLisbon in May, then Porto.\n" {
		t.Errorf("exported trip.md = %q, %v", got, err)
	}
	if info, err := os.Stat(filepath.Join(out, "USER.md")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("exported file mode: %v, %v", info, err)
	}
	if r := hearth(t, env, "", "memory", "export", out); r.code != 1 || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("export into a non-empty dir: %d %q", r.code, r.stderr)
	}
	if r := hearth(t, env, "", "memory", "export", "--force", out); r.code != 0 {
		t.Errorf("export --force: %d %q", r.code, r.stderr)
	}
	if r := hearth(t, env, "", "memory", "status"); r.code != 0 || !strings.Contains(r.stdout, "search: full text only") ||
		!strings.Contains(r.stdout, "documents: 5") {
		t.Errorf("status: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"memory"}, 2, "usage"},
		{[]string{"memory", "cat"}, 2, "usage: hearth memory cat PATH"},
		{[]string{"memory", "frob"}, 2, "unknown memory command"},
		{[]string{"memory", "search"}, 2, "usage"},
		{[]string{"memory", "cat", "../etc/passwd"}, 1, `".." is not allowed`},
		{[]string{"memory", "cat", "missing.md"}, 1, "not found"},
		{[]string{"memory", "ls", "--user", "nobody"}, 1, "no user"},
		{[]string{"memory", "import", "/does/not/exist"}, 1, "no such file"},
		{[]string{"memory", "search", "--limit", "0", "x"}, 2, "--limit"},
	} {
		r := hearth(t, env, "", bad.args...)
		if r.code != bad.code || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d stderr %q, want %d and %q", bad.args, r.code, r.stderr, bad.code, bad.want)
		}
	}
}

func TestMemorySearchWithEmbeddings(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	env := hearthEnv(t, llm.BaseURL(), "HEARTH_EMBEDDINGS__MODEL=fake-embed", "HEARTH_EMBEDDINGS__DIMENSIONS=64")
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"notes/family.md": "# Family\nMy sister's name is Ana.\n",
		"notes/cats.md":   "# Cats\nThe cat sleeps all day.\n",
	})
	if r := hearth(t, env, "", "memory", "import", src); r.code != 0 || strings.Contains(r.stdout, "full-text") {
		t.Fatalf("import: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r := hearth(t, env, "", "memory", "search", "sister Ana")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "1") || !strings.Contains(strings.Split(r.stdout, "\n")[0], "notes/family.md § Family  fts+vector") {
		t.Fatalf("search: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := hearth(t, env, "", "memory", "status"); !strings.Contains(r.stdout, "hybrid (full text + fake-embed, 64 dimensions), RRF k=60") ||
		!strings.Contains(r.stdout, "(2 with vectors)") {
		t.Errorf("status: %q %q", r.stdout, r.stderr)
	}
	if len(llm.EmbedRequests()) == 0 {
		t.Error("no embeddings were requested")
	}
}
