package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/internal/fakellm"
)

func findCheck(checks []Check, name string) (Check, bool) {
	for _, c := range checks {
		if c.Name == name {
			return c, true
		}
	}
	return Check{}, false
}

func TestMemoryDoctor(t *testing.T) {
	ctx := context.Background()
	llm := fakellm.NewOpenAI(t)
	tests := []struct {
		name     string
		env      []string
		severity Severity
		detail   string
	}{
		{"embeddings configured", []string{"HEARTH_EMBEDDINGS__MODEL=fake-embed", "HEARTH_EMBEDDINGS__DIMENSIONS=32"}, OK,
			"hybrid (full text + vectors of fake-embed, 32 dimensions, RRF k=60)"},
		// Only llm.base_url: the chat server offers no embedding model.
		{"no embedding model on the chat server", nil, Warn, "offers no embedding model"},
		{"embedding server down", []string{"HEARTH_EMBEDDINGS__BASE_URL=http://127.0.0.1:9/v1", "HEARTH_EMBEDDINGS__MODEL=m"}, Warn,
			"embedding provider unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := loadConfig(t, llm.BaseURL(), append(tc.env, "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")...)
			b, err := New(ctx, cfg, Options{Mode: ModeAdmin})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			c, ok := findCheck(b.MemoryDoctor(ctx), "memory search")
			if !ok || c.Severity != tc.severity || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("memory search check = %+v, want %s containing %q", c, tc.severity, tc.detail)
			}
			if c.Severity != OK && c.Fix == "" {
				t.Error("a warning without a fix")
			}
		})
	}
}

func TestMemoryDoctorReportsTruncation(t *testing.T) {
	ctx := context.Background()
	cfg := loadConfig(t, "http://127.0.0.1:9/v1", "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")
	b, err := New(ctx, cfg, Options{Mode: ModeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mem, err := b.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	owner, err := b.MemoryUser(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mem.Write(ctx, owner.ID, "MEMORY.md", strings.Repeat("remember this. ", 2000)); err != nil {
		t.Fatal(err)
	}
	checks := b.MemoryDoctor(ctx)
	c, ok := findCheck(checks, "identity files")
	if !ok || c.Severity != Warn || !strings.Contains(c.Detail, "MEMORY.md: longer than the per-file cap of 12000 characters (12000 of 29999") {
		t.Fatalf("identity files check = %+v (all: %+v)", c, checks)
	}
	if ix, ok := findCheck(checks, "memory index"); !ok || !strings.Contains(ix.Detail, "1 documents wait to be indexed") {
		t.Errorf("memory index check = %+v", ix)
	}
	// The doctor wrote nothing: the workspace was not seeded.
	tree, _ := mem.Tree(ctx, owner.ID, "")
	if len(tree) != 1 {
		t.Errorf("the doctor changed the workspace: %d documents", len(tree))
	}
}
