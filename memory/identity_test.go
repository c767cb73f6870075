package memory

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine"
)

func TestSeedingAndOrder(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{})
	text, rep, err := env.m.IdentityPrompt(ctx, env.u1, false, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	tree, _ := env.m.Tree(ctx, "u1", "")
	var names []string
	for _, d := range tree {
		names = append(names, d.Path)
	}
	if got := strings.Join(names, ","); got != "AGENTS.md,HEARTBEAT.md,IDENTITY.md,MEMORY.md,SOUL.md,TOOLS.md,USER.md" {
		t.Fatalf("seeded workspace = %s", got)
	}
	// The seeded files appear in the order; HEARTBEAT.md does not.
	last := -1
	for _, p := range []string{"## AGENTS.md", "## SOUL.md", "## USER.md", "## IDENTITY.md", "## TOOLS.md", "## MEMORY.md"} {
		i := strings.Index(text, p)
		if i < 0 || i < last {
			t.Fatalf("%s missing or out of order in:\n%s", p, text)
		}
		last = i
	}
	if strings.Contains(text, "HEARTBEAT") || rep.Truncated {
		t.Errorf("prompt has HEARTBEAT.md or reports truncation: %v", rep)
	}
	// Deleted identity files stay deleted (no re-seeding of a used workspace).
	if err := env.m.Delete(ctx, "u1", "SOUL.md"); err != nil {
		t.Fatal(err)
	}
	m2, _ := New(Options{Store: env.store, Now: env.m.o.Now})
	text, rep, _ = m2.IdentityPrompt(ctx, env.u1, false, fixedNow)
	if strings.Contains(text, "SOUL.md") {
		t.Error("a deleted SOUL.md came back")
	}
	if rep.Files[1].Path != "SOUL.md" || !rep.Files[1].Missing {
		t.Errorf("report of SOUL.md = %+v", rep.Files[1])
	}
}

func TestDailyNotesInTheUsersTimezone(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true})
	// 2026-11-24 20:00 UTC is already the 25th in Tokyo.
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	for _, u := range []string{"u1", "u2"} {
		env.write(t, u, "daily/2026-11-23.md", "dinner with Ana on the 23rd")
		env.write(t, u, "daily/2026-11-24.md", "dentist on the 24th")
		env.write(t, u, "daily/2026-11-25.md", "flight on the 25th")
		env.write(t, u, "MEMORY.md", "sister is Ana")
		env.write(t, u, "AGENTS.md", "be brief")
	}
	berlin, _, err := env.m.IdentityPrompt(ctx, env.u1, false, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(berlin, "dentist on the 24th") || !strings.Contains(berlin, "dinner with Ana on the 23rd") ||
		strings.Contains(berlin, "flight") {
		t.Errorf("Berlin (24th) prompt has the wrong daily notes:\n%s", berlin)
	}
	if strings.Index(berlin, "dentist") > strings.Index(berlin, "dinner") {
		t.Error("today's note comes after yesterday's")
	}
	tokyo, _, _ := env.m.IdentityPrompt(ctx, env.u2, false, now)
	if !strings.Contains(tokyo, "flight on the 25th") || !strings.Contains(tokyo, "dentist on the 24th") || strings.Contains(tokyo, "dinner") {
		t.Errorf("Tokyo (25th) prompt has the wrong daily notes:\n%s", tokyo)
	}
	// Groups never see MEMORY.md or daily notes.
	group, rep, _ := env.m.IdentityPrompt(ctx, env.u1, true, now)
	if strings.Contains(group, "Ana") || strings.Contains(group, "dentist") || !strings.Contains(group, "be brief") {
		t.Errorf("group prompt:\n%s", group)
	}
	for _, f := range rep.Files {
		if (f.Path == "MEMORY.md" || strings.HasPrefix(f.Path, "daily/")) && f.Skipped == "" {
			t.Errorf("group report of %s = %+v, want skipped", f.Path, f)
		}
	}
}

func TestCapsAreAnnounced(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{NoSeed: true, FileChars: 50, TotalChars: 80})
	env.write(t, "u1", "AGENTS.md", strings.Repeat("a", 40))
	env.write(t, "u1", "SOUL.md", strings.Repeat("ß", 70)) // 70 characters, 140 bytes
	env.write(t, "u1", "USER.md", "the user likes tea")
	text, rep, err := env.m.IdentityPrompt(ctx, env.u1, false, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Truncated {
		t.Fatal("report does not say it truncated")
	}
	soul, user := rep.Files[1], rep.Files[2]
	if !soul.Truncated || soul.Shown != 40 || soul.Chars != 70 || !strings.Contains(soul.Reason, "total cap of 80") {
		t.Errorf("SOUL.md report = %+v, want cut to the 40 left of the total", soul)
	}
	if !user.Truncated || user.Shown != 0 {
		t.Errorf("USER.md report = %+v, want cut to nothing", user)
	}
	if !strings.Contains(text, "[SOUL.md was truncated: 40 of 70 characters shown") ||
		!strings.Contains(text, "[USER.md was truncated: 0 of 18 characters shown") {
		t.Errorf("the prompt does not announce the cuts:\n%s", text)
	}
	if strings.Count(text, "ß") != 40 {
		t.Errorf("SOUL.md shows %d characters, want 40", strings.Count(text, "ß"))
	}
	env2 := newEnv(t, Options{NoSeed: true, FileChars: 10})
	env2.write(t, "u1", "MEMORY.md", "0123456789abcdef")
	rep2, err := env2.m.CheckPrompt(ctx, env2.u1)
	if err != nil {
		t.Fatal(err)
	}
	probs := rep2.Problems()
	if len(probs) != 1 || !strings.Contains(probs[0], "MEMORY.md: longer than the per-file cap of 10 characters (10 of 16") {
		t.Errorf("Problems = %v", probs)
	}
}

func TestPromptSources(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t, Options{})
	srcs := env.m.PromptSources()
	if len(srcs) != 2 {
		t.Fatalf("%d prompt sources, want identity and recall", len(srcs))
	}
	sec, err := srcs[0].PromptSection(ctx, engine.PromptContext{User: env.u1, Now: fixedNow})
	if err != nil || !strings.Contains(sec, "## AGENTS.md (operating instructions)") {
		t.Fatalf("identity section = %q, %v", sec, err)
	}
	if _, err := srcs[0].PromptSection(ctx, engine.PromptContext{}); err == nil {
		t.Error("identity section without a user succeeded")
	}
	noRecall, _ := New(Options{Store: env.store, RecallTokens: -1})
	if len(noRecall.PromptSources()) != 1 {
		t.Error("RecallTokens -1 still recalls")
	}
}
