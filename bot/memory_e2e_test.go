package bot

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/memory"
)

// memoryScript is a model that writes what it is told about a sister to
// memory and looks it up when asked.
func memoryScript(req fakellm.Request) fakellm.Reply {
	if n := len(req.Messages); n >= 2 && req.Messages[n-1].Role == "tool" {
		result := req.Messages[n-1].Content
		var called string
		if calls := req.Messages[n-2].ToolCalls; len(calls) > 0 {
			called = calls[0].Name
		}
		switch {
		case called == "memory_write":
			return fakellm.Reply{Text: "Noted."}
		case called == "memory_search" && strings.Contains(result, "Ana"):
			return fakellm.Reply{Text: "Your sister's name is Ana."}
		default:
			return fakellm.Reply{Text: "I don't know your sister's name."}
		}
	}
	switch user := req.LastUser(); {
	case strings.Contains(user, "my sister's name is Ana"):
		return fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_w", Name: "memory_write",
			Args: `{"path":"USER.md","content":"- Sister: Ana\n","mode":"append"}`}}}
	case strings.Contains(user, "What is my sister's name?"):
		return fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_s", Name: "memory_search", Args: `{"query":"sister name"}`}}}
	}
	return fakellm.Reply{Text: "ok"}
}

// memoryFor returns the bot's memory: until the composition root wires
// memory itself, the test sets it up (tools registered, indexer started
// for the test's lifetime); once wired, a memory over the same store for
// direct checks.
func memoryFor(t *testing.T, b *Bot) *memory.Memory {
	t.Helper()
	if b.Memory != nil && slices.Contains(b.Tools.Names(), "memory_search") {
		return b.Memory // wired by the composition root, started by Run
	}
	mem, err := b.setupMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	mem.Start(ctx)
	t.Cleanup(func() { cancel(); mem.Wait() })
	return mem
}

// TestMemoryAcrossChannelsNotAcrossUsers: a fact the owner tells on the
// command line (hearth run -m, the cli identity) is written to memory by
// the model; in a new session on the webhook, where a second identity of
// the owner talks, it is found again; another user asking the same gets
// nothing of it.
func TestMemoryAcrossChannelsNotAcrossUsers(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(memoryScript)
	cfg := loadConfig(t, llm.BaseURL(),
		"HEARTH_EMBEDDINGS__MODEL=fake-embed", "HEARTH_EMBEDDINGS__DIMENSIONS=384",
		"HEARTH_CHANNELS__WEBHOOK__ALLOWLIST=carol")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Session 1: hearth run -m, on the cli channel.
	var out bytes.Buffer
	b1, err := New(ctx, cfg, Options{Mode: ModeOnce, Message: "Please remember: my sister's name is Ana.", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	memoryFor(t, b1)
	if err := b1.Run(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	mustContain(t, out.String(), "Noted.")
	b1.Close()

	// Session 2: the server, with the owner's phone linked on the webhook.
	r := startServe(t, cfg)
	mem := memoryFor(t, r.b)
	owner, err := r.b.ownerUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := mem.Read(ctx, owner.ID, "USER.md")
	if err != nil || !strings.Contains(doc.Content, "- Sister: Ana") {
		t.Fatalf("USER.md after session 1 = %q, %v", doc.Content, err)
	}
	if err := r.b.Store.LinkIdentity(ctx, engine.Identity{Channel: "webhook", PlatformID: "owner-phone", UserID: owner.ID}); err != nil {
		t.Fatal(err)
	}
	// A note outside the identity files, for recall.
	if _, err := mem.Write(ctx, owner.ID, "notes/family.md", "# Family\nMy sister's name day is 26 July.\n"); err != nil {
		t.Fatal(err)
	}
	// The indexer resumes what session 1 wrote (chunks and vectors) and
	// indexes the note.
	ms := r.b.Store.(engine.MemoryStore)
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := ms.MemoryStats(ctx, owner.ID)
		if err == nil && st.DocumentsToIndex == 0 && st.Chunks > 1 && st.ChunksEmbedded == st.Chunks {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("memory not indexed in time: %+v, %v", st, err)
		}
		<-tick.C // polling with a deadline
	}

	before := llm.Count()
	code, resp := post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "owner-phone", Text: "What is my sister's name?"}, "bearer")
	if code != http.StatusOK || resp.Reply != "Your sister's name is Ana." {
		t.Fatalf("owner on the webhook: %d %+v", code, resp)
	}
	ownerReqs := llm.Requests()[before:]
	code, resp = post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "carol", Text: "What is my sister's name?"}, "bearer")
	if code != http.StatusOK || resp.Reply != "I don't know your sister's name." {
		t.Fatalf("carol: %d %+v", code, resp)
	}
	carolReqs := llm.Requests()[before+len(ownerReqs):]

	// What the model saw: the owner's search found Ana, carol's did not.
	if res := lastToolResult(ownerReqs); !strings.Contains(res, `"path":"USER.md"`) || !strings.Contains(res, "Ana") {
		t.Errorf("owner's memory_search result: %s", res)
	}
	if res := lastToolResult(carolReqs); res == "" || strings.Contains(res, "Ana") {
		t.Errorf("carol's memory_search result: %q", res)
	}
	for _, req := range carolReqs {
		if strings.Contains(req.System, "Ana") {
			t.Error("carol's prompt mentions Ana")
		}
	}
	// The prompt sources: USER.md is an identity file, so the fact is in
	// the owner's identity section (and recall, which skips what that
	// section holds, does not repeat it); carol's has none of it.
	carol := identityUser(t, r.b, "webhook", "carol")
	if got, _, err := mem.IdentityPrompt(ctx, owner, false, time.Now()); err != nil || !strings.Contains(got, "- Sister: Ana") {
		t.Errorf("owner's identity section = %q, %v", got, err)
	}
	for _, q := range []string{"What is my sister's name?", "sister Ana"} {
		got, _, err := mem.IdentityPrompt(ctx, carol, false, time.Now())
		if err != nil || strings.Contains(got, "Ana") {
			t.Errorf("carol's identity section = %q, %v", got, err)
		}
		if got, err := mem.Recall(ctx, carol, false, q, time.Now()); err != nil || strings.Contains(got, "Ana") {
			t.Errorf("carol's recall of %q = %q, %v", q, got, err)
		}
	}
	res, err := mem.Search(ctx, owner.ID, "sister", memory.SearchOptions{Limit: 2})
	if err != nil || len(res.Hits) != 2 || !res.Vector {
		t.Fatalf("owner's search = %+v, %v", res, err)
	}
	if got := []string{res.Hits[0].Chunk.Path, res.Hits[1].Chunk.Path}; !slices.Contains(got, "USER.md") || !slices.Contains(got, "notes/family.md") {
		t.Errorf("owner's search for sister: %v, want USER.md and notes/family.md", got)
	}
	// The composition root wires the prompt sources: the owner's system
	// prompt carries the identity files, USER.md with the fact among them;
	// carol's carries her own (seeded) files and nothing of the owner's.
	if sys := ownerReqs[0].System; !strings.Contains(sys, "# Your memory workspace") || !strings.Contains(sys, "- Sister: Ana") {
		t.Errorf("the owner's system prompt lacks the identity files or the fact:\n%s", sys)
	}
	if sys := carolReqs[0].System; !strings.Contains(sys, "## USER.md") || strings.Contains(sys, "name day") {
		t.Errorf("carol's system prompt lacks her own identity files or has the owner's note:\n%s", sys)
	}
	// Recall put the matching note into the owner's prompt.
	if sys := ownerReqs[0].System; !strings.Contains(sys, "# Recalled from memory") || !strings.Contains(sys, "[notes/family.md § Family]") ||
		!strings.Contains(sys, "name day is 26 July") {
		t.Errorf("the owner's system prompt lacks the recalled note:\n%s", sys)
	}
}

func lastToolResult(reqs []fakellm.Request) string {
	for i := len(reqs) - 1; i >= 0; i-- {
		if res := reqs[i].ToolResults(); len(res) > 0 {
			return res[len(res)-1].Content
		}
	}
	return ""
}

func identityUser(t *testing.T, b *Bot, channel, platformID string) engine.User {
	t.Helper()
	id, err := b.Store.IdentityFor(context.Background(), channel, platformID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.Store.GetUser(context.Background(), id.UserID)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
