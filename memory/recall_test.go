package memory

import (
	"context"
	"strings"
	"testing"

	"github.com/hearthbot/hearth/engine"
)

func TestRecall(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true, RecallTokens: 200})
	env.write(t, "u1", "notes/family.md", "# Family\nMy sister's name is Ana. "+strings.Repeat("She likes long walks. ", 20))
	env.write(t, "u1", "MEMORY.md", "Ana's birthday is in March.")
	env.write(t, "u1", "daily/2026-11-20.md", "Called Ana about the trip.")
	env.write(t, "u1", "daily/2026-11-24.md", "Today: Ana visits.")
	env.index(t, "u1")
	src := env.m.PromptSources()[1]
	sec, err := src.PromptSection(ctx, engine.PromptContext{User: env.u1, Query: "What's my sister Ana up to?", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sec, "[notes/family.md § Family]") || !strings.Contains(sec, "[daily/2026-11-20.md]") {
		t.Errorf("recall misses the family note or the older daily note:\n%s", sec)
	}
	if strings.Contains(sec, "MEMORY.md") || strings.Contains(sec, "2026-11-24") {
		t.Errorf("recall repeats files already in the prompt:\n%s", sec)
	}
	// A small budget (30 tokens of about 4 characters) cuts and says so.
	small, _ := New(Options{Store: env.store, RecallTokens: 30, Now: env.m.o.Now})
	cut, _ := small.Recall(ctx, env.u1, false, "What's my sister Ana up to?", fixedNow)
	body := cut[strings.Index(cut, "\n[")+1:]
	if n := len([]rune(body)); n > 120+60 || !strings.Contains(cut, "…") || strings.Contains(cut, "daily/") {
		t.Errorf("recall with a 30-token budget (%d characters):\n%s", n, cut)
	}
	group, _ := src.PromptSection(ctx, engine.PromptContext{User: env.u1, Session: engine.Session{Group: true}, Query: "What's my sister Ana up to?", Now: fixedNow})
	if strings.Contains(group, "daily/") || strings.Contains(group, "MEMORY.md") || !strings.Contains(group, "notes/family.md") {
		t.Errorf("group recall:\n%s", group)
	}
	for _, q := range []string{"", "hi", "ok!"} {
		if s, _ := src.PromptSection(ctx, engine.PromptContext{User: env.u1, Query: q}); s != "" {
			t.Errorf("recall for %q = %q, want nothing", q, s)
		}
	}
	other, _ := src.PromptSection(ctx, engine.PromptContext{User: env.u2, Query: "What's my sister Ana up to?", Now: fixedNow})
	if other != "" {
		t.Errorf("u2 recalls u1's notes:\n%s", other)
	}
}

func TestRecallSurvivesAStoreError(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}
	sec, err := env.m.PromptSources()[1].PromptSection(ctx, engine.PromptContext{User: env.u1, Query: "anything at all"})
	if err != nil || sec != "" {
		t.Errorf("recall on a closed store = %q, %v; want nothing and no error (the turn goes on)", sec, err)
	}
}
