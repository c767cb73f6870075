package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/bot/config"
	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/internal/fakeslack"
)

// slackWait bounds every wait on the fake Slack; never reached when the
// tests pass.
const slackWait = 20 * time.Second

// slackConfig enables only the Slack channel against the fake.
func slackConfig(t testing.TB, llmURL string, fs *fakeslack.Server, extra ...string) *config.Config {
	t.Helper()
	env := append([]string{
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=false",
		"HEARTH_CHANNELS__SLACK__ENABLED=true",
		"HEARTH_CHANNELS__SLACK__BOT_TOKEN=" + fs.BotToken,
		"HEARTH_CHANNELS__SLACK__APP_TOKEN=" + fs.AppToken,
		"HEARTH_CHANNELS__SLACK__API_URL=" + fs.APIURL,
		"HEARTH_CHANNELS__SLACK__STALL_AFTER=10s",
	}, extra...)
	return loadConfig(t, llmURL, env...)
}

// poll checks cond every few milliseconds until it holds, failing the
// test after slackWait.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(slackWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// waitSlackText waits until a chat.postMessage or chat.update call in
// channel carries text containing want, and returns it.
func waitSlackText(t *testing.T, fs *fakeslack.Server, channel, want string) fakeslack.Call {
	t.Helper()
	var found fakeslack.Call
	poll(t, "a message with "+want+" in "+channel, func() bool {
		for _, c := range fs.Calls("") {
			if (c.Method == "chat.postMessage" || c.Method == "chat.update") && c.Params["channel"] == channel &&
				c.Error == "" && strings.Contains(c.Params["text"], want) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func waitAck(t *testing.T, fs *fakeslack.Server, envelope string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("send envelope: %v", err)
	}
	if _, ok := fs.WaitAck(envelope, slackWait); !ok {
		t.Fatalf("envelope %s not acknowledged", envelope)
	}
}

// TestSlackThroughTheEngine drives the real Slack adapter (Socket Mode),
// engine, gate and store against the fake Slack: an unknown DM gets only a
// pairing code, after approval it gets answers, and a channel message
// without a mention is ignored while a mention is answered in a thread.
func TestSlackThroughTheEngine(t *testing.T) {
	fs := fakeslack.New()
	defer fs.Close()
	fs.AddUser("U1ANA", "Ana Lima")
	llm := fakellm.NewOpenAI(t)
	r := startServe(t, slackConfig(t, llm.BaseURL(), fs))
	if !fs.WaitSockets(1, slackWait) {
		t.Fatal("the Slack channel never opened a socket")
	}

	env, err := fs.SendEvent(fakeslack.DirectMessage("D1ANA", "U1ANA", "my bank pin is 1234", "1767225601.000100"), "Ev1", 0)
	waitAck(t, fs, env, err)
	sent, ok := fs.WaitCalls("chat.postMessage", 1, slackWait)
	if !ok {
		t.Fatal("no pairing notice was sent")
	}
	pending, err := r.b.Gate.Pending(context.Background())
	if err != nil || len(pending) != 1 || pending[0].Channel != "slack" || pending[0].PlatformID != "U1ANA" {
		t.Fatalf("pending %+v %v", pending, err)
	}
	if !strings.Contains(sent[0].Params["text"], pending[0].Code) || sent[0].Params["channel"] != "D1ANA" {
		t.Fatalf("pairing notice %+v", sent[0].Params)
	}
	if llm.Count() != 0 {
		t.Fatal("an unpaired sender reached the model")
	}

	if _, err := (&admin{b: r.b}).ApprovePairing(context.Background(), pending[0].Code); err != nil {
		t.Fatal(err)
	}
	waitSlackText(t, fs, "D1ANA", "paired")
	env, err = fs.SendEvent(fakeslack.DirectMessage("D1ANA", "U1ANA", "hello", "1767225602.000100"), "Ev2", 0)
	waitAck(t, fs, env, err)
	waitSlackText(t, fs, "D1ANA", "echo: hello")

	// A channel message without a mention is ignored; a mention is
	// answered in a thread started at it.
	env, err = fs.SendEvent(fakeslack.Message("C1TEAM", "U1ANA", "chatting with friends", "1767225603.000100"), "Ev3", 0)
	waitAck(t, fs, env, err)
	env, err = fs.SendEvent(fakeslack.AppMention("C1TEAM", "U1ANA", "<@"+fs.BotUserID+"> what now?", "1767225604.000100"), "Ev4", 0)
	waitAck(t, fs, env, err)
	answer := waitSlackText(t, fs, "C1TEAM", "echo: what now?")
	if answer.Method == "chat.postMessage" && answer.Params["thread_ts"] != "1767225604.000100" {
		t.Fatalf("mention answered outside its thread: %+v", answer.Params)
	}
	for _, c := range fs.Calls("chat.postMessage") {
		if c.Params["channel"] == "C1TEAM" && c.Params["thread_ts"] != "1767225604.000100" {
			t.Fatalf("channel post outside the mention's thread: %+v", c.Params)
		}
	}
	for _, u := range userTexts(llm) {
		if strings.Contains(u, "bank pin") || strings.Contains(u, "chatting with friends") {
			t.Fatalf("the model saw %q", u)
		}
	}
}

// TestSlackHTTPModeThroughTheEngine runs the Slack adapter in HTTP mode:
// forged signatures get 401 and reach nothing; a slash command is
// acknowledged within Slack's 3 seconds while the model is still working
// on it, and the answer arrives later through the response_url.
func TestSlackHTTPModeThroughTheEngine(t *testing.T) {
	fs := fakeslack.New()
	defer fs.Close()
	fs.AddUser("U1ANA", "Ana Lima")
	llm := fakellm.NewOpenAI(t)
	r := startServe(t, slackConfig(t, llm.BaseURL(), fs,
		"HEARTH_CHANNELS__SLACK__MODE=http",
		"HEARTH_CHANNELS__SLACK__LISTEN=127.0.0.1:0",
		"HEARTH_CHANNELS__SLACK__SIGNING_SECRET="+fs.SigningSecret,
		"HEARTH_CHANNELS__SLACK__ALLOWLIST=U1ANA",
	))
	var ch *hslack.Channel
	for _, c := range r.b.channels {
		if s, ok := c.(*hslack.Channel); ok {
			ch = s
		}
	}
	if ch == nil {
		t.Fatal("the bot built no Slack channel")
	}
	poll(t, "the Slack HTTP endpoints", func() bool { return ch.HTTPAddr() != "" })
	base := "http://" + ch.HTTPAddr()
	ctx := context.Background()

	// Forged requests: 401, and nothing reaches the engine or the model.
	ev := fs.EventRequest(base+"/slack/events", fakeslack.DirectMessage("D1ANA", "U1ANA", "forged hello", "1767225605.000100"), "EvF")
	ev.Secret = "not-the-signing-secret"
	if code, _, err := fs.Post(ctx, ev); err != nil || code != 401 {
		t.Fatalf("forged event: %d %v", code, err)
	}
	cmd := fs.CommandRequest(base+"/slack/commands", fakeslack.SlashCommand{Text: "forged", ChannelID: "C7", UserID: "U1ANA", TriggerID: "trF", ResponseID: "rF"})
	cmd.Signature = "v0=" + strings.Repeat("0", 64)
	if code, _, err := fs.Post(ctx, cmd); err != nil || code != 401 {
		t.Fatalf("forged command: %d %v", code, err)
	}
	stale := fs.EventRequest(base+"/slack/events", fakeslack.DirectMessage("D1ANA", "U1ANA", "replayed", "1767225606.000100"), "EvS")
	stale.Timestamp = time.Now().Add(-10 * time.Minute)
	if code, _, err := fs.Post(ctx, stale); err != nil || code != 401 {
		t.Fatalf("stale event: %d %v", code, err)
	}

	// The slash command: the model holds its answer until released.
	hold := make(chan struct{})
	llm.SetResponder(func(req fakellm.Request) fakellm.Reply {
		return fakellm.Reply{Text: "Summary: all quiet.", Wait: hold}
	})
	start := time.Now()
	code, body, err := fs.Post(ctx, fs.CommandRequest(base+"/slack/commands",
		fakeslack.SlashCommand{Text: "summarize this thread", ChannelID: "C7", ChannelName: "general", UserID: "U1ANA", UserName: "ana", TriggerID: "tr1", ResponseID: "r1"}))
	ack := time.Since(start)
	if err != nil || code != 200 || body != "" {
		t.Fatalf("slash command: %d %q %v", code, body, err)
	}
	if ack > 3*time.Second {
		t.Fatalf("acknowledged after %v; Slack gives up after 3s", ack)
	}
	t.Logf("slash command acknowledged after %v while the model was still working", ack)
	// The model is working on it and nothing was answered yet.
	poll(t, "the command to reach the model", func() bool { return llm.Count() == 1 })
	if n := len(fs.Calls("response_url")); n != 0 {
		t.Fatalf("%d answers before the model finished", n)
	}
	close(hold)
	calls, ok := fs.WaitCalls("response_url", 1, slackWait)
	if !ok || calls[0].Path != "/response/r1" || !strings.Contains(calls[0].Params["text"], "Summary: all quiet.") ||
		calls[0].Params["response_type"] != "ephemeral" {
		t.Fatalf("response_url calls %+v", calls)
	}
	for _, u := range userTexts(llm) {
		if strings.Contains(u, "forged") || strings.Contains(u, "replayed") {
			t.Fatalf("a forged request reached the model: %q", u)
		}
	}
	if n := len(fs.Calls("chat.postMessage")); n != 0 {
		t.Fatalf("%d chat.postMessage calls; forged events must not be answered", n)
	}
}
