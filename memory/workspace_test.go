package memory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func TestWorkspaceOperations(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true, KeepVersions: 2})
	m := env.m
	d := env.write(t, "u1", "./notes//trip.md", "# Trip\n")
	if d.Path != "notes/trip.md" || d.Version != 1 {
		t.Fatalf("Write = %+v", d)
	}
	if _, err := m.Append(ctx, "u1", "notes/trip.md", "Lisbon\n"); err != nil {
		t.Fatal(err)
	}
	got, err := m.Read(ctx, "u1", "notes/trip.md")
	if err != nil || got.Content != "# Trip\nLisbon\n" {
		t.Fatalf("Read = %q, %v", got.Content, err)
	}
	if _, err := m.Create(ctx, "u1", "notes/trip.md", "x"); !errors.Is(err, engine.ErrConflict) {
		t.Errorf("Create over an existing file = %v, want ErrConflict", err)
	}
	for i := range 4 {
		env.write(t, "u1", "notes/trip.md", strings.Repeat("v", i+1))
	}
	vs, err := m.Versions(ctx, "u1", "notes/trip.md")
	if err != nil || len(vs) != 2 {
		t.Fatalf("Versions = %d, %v; want the 2 kept", len(vs), err)
	}
	old, err := m.Version(ctx, "u1", "notes/trip.md", vs[1].Version)
	if err != nil || old.Content != "vv" {
		t.Errorf("Version = %q, %v", old.Content, err)
	}
	env.write(t, "u1", "AGENTS.md", "agents")
	env.write(t, "u1", "notes/a/deep.md", "deep")
	env.write(t, "u1", "daily/2026-11-24.md", "today")
	tree, err := m.Tree(ctx, "u1", "")
	if err != nil {
		t.Fatal(err)
	}
	want := "AGENTS.md  6 B\ndaily/\n  2026-11-24.md  5 B\nnotes/\n  a/\n    deep.md  4 B\n  trip.md  4 B\n"
	if got := FormatTree(tree); got != want {
		t.Errorf("FormatTree =\n%s\nwant\n%s", got, want)
	}
	sub, _ := m.Tree(ctx, "u1", "notes")
	if len(sub) != 2 {
		t.Errorf("Tree(notes) = %d documents", len(sub))
	}
	file, _ := m.Tree(ctx, "u1", "notes/trip.md")
	if len(file) != 1 || file[0].Content != "" {
		t.Errorf("Tree of a file = %+v", file)
	}
	if err := m.Delete(ctx, "u1", "notes/trip.md"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Read(ctx, "u1", "notes/trip.md"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Read after Delete = %v", err)
	}
	if err := m.Delete(ctx, "u1", "notes/trip.md"); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Delete twice = %v", err)
	}
	// Another user sees none of it.
	if tree, _ := m.Tree(ctx, "u2", ""); len(tree) != 0 {
		t.Errorf("u2 sees %d documents of u1", len(tree))
	}
}

// TestWorkspaceRefusesBadInput: every refused write names the problem and
// leaves the workspace as it was.
func TestWorkspaceRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true, MaxDocumentBytes: 64})
	m := env.m
	env.write(t, "u1", "keep.md", "original")
	tests := []struct {
		name, path, content string
		append              bool
		target              error
		want                string
	}{
		{"oversized document", "big.md", strings.Repeat("x", 65), false, engine.ErrTooLarge, "65 bytes, the limit is 64"},
		{"append past the limit", "keep.md", strings.Repeat("y", 60), true, engine.ErrTooLarge, "limit 64"},
		{"dot dot", "../escape.md", "x", false, ErrInvalidPath, `".."`},
		{"dot dot inside", "notes/../../escape.md", "x", false, ErrInvalidPath, `".."`},
		{"absolute", "/etc/passwd", "x", false, ErrInvalidPath, "absolute"},
		{"NUL in path", "a\x00b.md", "x", false, ErrInvalidPath, "NUL"},
		{"NUL in content", "keep.md", "over\x00written", false, ErrInvalidContent, "NUL"},
		{"invalid UTF-8 content", "keep.md", "\xff\xfe", false, ErrInvalidContent, "UTF-8"},
		{"invalid UTF-8 path", "\xffname.md", "x", false, ErrInvalidPath, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.append {
				_, err = m.Append(ctx, "u1", tc.path, tc.content)
			} else {
				_, err = m.Write(ctx, "u1", tc.path, tc.content)
			}
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want %v saying %q", err, tc.target, tc.want)
			}
		})
	}
	tree, _ := m.Tree(ctx, "u1", "")
	if len(tree) != 1 || tree[0].Path != "keep.md" || tree[0].Version != 1 {
		t.Errorf("after refused writes the workspace is %+v, want keep.md at version 1 only", tree)
	}
	d, _ := m.Read(ctx, "u1", "keep.md")
	if d.Content != "original" {
		t.Errorf("keep.md = %q", d.Content)
	}
	if _, err := m.Write(ctx, "", "x.md", "x"); err == nil {
		t.Error("a write without a user succeeded")
	}
}
