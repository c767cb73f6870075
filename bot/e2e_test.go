package bot

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/webhook"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakellm"
)

func TestWebhookSignedAnsweredUnsignedRejected(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	r := startServe(t, loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ALLOWLIST=alice"))
	code, resp := post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "alice", Text: "hello"}, "hmac")
	if code != http.StatusOK || resp.Reply != "echo: hello" {
		t.Fatalf("signed: %d %+v", code, resp)
	}
	code, _ = post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "alice", Text: "sneaky"}, "")
	if code != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d, want 401", code)
	}
	for _, u := range userTexts(llm) {
		if u == "sneaky" {
			t.Fatal("an unauthenticated message reached the model")
		}
	}
}

func TestUnknownSenderPairsBeforeTheModelSeesAnything(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	r := startServe(t, loadConfig(t, llm.BaseURL()))
	code, resp := post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "bob", Text: "my secret question"}, "bearer")
	if code != http.StatusOK || resp.Status != "pairing_required" || len(resp.Notices) != 1 {
		t.Fatalf("stranger: %d %+v", code, resp)
	}
	pending, err := r.b.Gate.Pending(context.Background())
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending %v %v", pending, err)
	}
	mustContain(t, resp.Notices[0], pending[0].Code)
	if llm.Count() != 0 {
		t.Fatalf("the model was called %d times before approval", llm.Count())
	}
	adm := &admin{b: r.b}
	if _, err := adm.ApprovePairing(context.Background(), strings.ToLower(pending[0].Code)); err != nil {
		t.Fatal(err)
	}
	code, resp = post(t, http.DefaultClient, r.url, webhook.MessageRequest{User: "bob", Text: "now?"}, "bearer")
	if code != http.StatusOK || resp.Reply != "echo: now?" {
		t.Fatalf("after approval: %d %+v", code, resp)
	}
	for _, u := range userTexts(llm) {
		if strings.Contains(u, "my secret question") {
			t.Fatal("text sent before approval reached the model")
		}
	}
}

func TestTimeToolCallRoundTripThroughTheRealSDK(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	var seen []fakellm.Message
	llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		if res := req.ToolResults(); len(res) > 0 {
			seen = res
			return fakellm.Reply{Text: "It is " + res[0].Content}
		}
		return fakellm.Reply{ToolCalls: []fakellm.ToolCall{{ID: "call_time_1", Name: "time", Args: "{}"}}}
	})
	cfg := loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")
	var out bytes.Buffer
	b, err := New(context.Background(), cfg, Options{Mode: ModeOnce, Message: "what time is it?", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Run(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0].ToolCallID != "call_time_1" || !strings.Contains(seen[0].Content, `"time"`) {
		t.Fatalf("tool result seen by the model: %+v", seen)
	}
	mustContain(t, out.String(), "It is ")
	// The call is in the audit log.
	entries, err := b.Store.ListAudit(context.Background(), engine.AuditFilter{Tool: "time"})
	if err != nil || len(entries) != 1 || entries[0].Outcome != "ok" {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

func TestRunFailsClearlyWhenTheModelFails(t *testing.T) {
	llm := fakellm.NewOpenAI(t)
	llm.SetResponder(func(fakellm.Request) fakellm.Reply { return fakellm.Reply{Status: 500} })
	cfg := loadConfig(t, llm.BaseURL(), "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")
	var out bytes.Buffer
	b, err := New(context.Background(), cfg, Options{Mode: ModeOnce, Message: "hi", Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Run(context.Background(), time.Second); err == nil {
		t.Fatal("run succeeded with a failing model")
	}
	mustContain(t, out.String(), "could not get an answer from the model")
}

func TestOneOwnerAcrossLocalChannels(t *testing.T) {
	cfg := loadConfig(t, "http://127.0.0.1:9/v1", "HEARTH_CHANNELS__WEBHOOK__ENABLED=false")
	for range 2 { // twice: idempotent
		b, err := New(context.Background(), cfg, Options{Mode: ModeAdmin})
		if err != nil {
			t.Fatal(err)
		}
		users, err := b.Store.ListUsers(context.Background())
		if err != nil || len(users) != 1 || users[0].Role != engine.RoleOwner {
			t.Fatalf("users %+v %v", users, err)
		}
		for _, ch := range []string{ownerChannel, cliChannel} {
			id, err := b.Store.IdentityFor(context.Background(), ch, ownerID)
			if err != nil || id.UserID != users[0].ID {
				t.Fatalf("%s identity %+v %v", ch, id, err)
			}
		}
		b.Close()
	}
}
