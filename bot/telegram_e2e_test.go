package bot

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/internal/fakellm"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

// TestTelegramThroughTheEngine drives the real Telegram adapter, engine,
// gate and store against the fake Bot API: an unknown DM gets only a
// pairing code, after approval it gets answers, and a group message
// without a mention is ignored.
func TestTelegramThroughTheEngine(t *testing.T) {
	const token = "123456:TEST-token"
	tg := faketelegram.New(token)
	defer tg.Close()
	llm := fakellm.NewOpenAI(t)
	cfg := loadConfig(t, llm.BaseURL(),
		"HEARTH_CHANNELS__WEBHOOK__ENABLED=false",
		"HEARTH_CHANNELS__TELEGRAM__ENABLED=true",
		"HEARTH_CHANNELS__TELEGRAM__TOKEN="+token,
		"HEARTH_CHANNELS__TELEGRAM__API_URL="+tg.URL,
		"HEARTH_CHANNELS__TELEGRAM__POLL_TIMEOUT=1s",
		"HEARTH_CHANNELS__TELEGRAM__STALL_AFTER=5s",
	)
	r := startServe(t, cfg)
	ana := faketelegram.User{ID: 4242, FirstName: "Ana", Username: "ana"}

	tg.AddUpdate(faketelegram.Msg{ChatID: 4242, From: ana, ID: 1, Text: "my bank pin is 1234"}.Update())
	sent, ok := tg.WaitCalls("sendMessage", 1, 20*time.Second)
	if !ok {
		t.Fatal("no pairing notice was sent")
	}
	pending, err := r.b.Gate.Pending(context.Background())
	if err != nil || len(pending) != 1 || pending[0].Channel != "telegram" {
		t.Fatalf("pending %+v %v", pending, err)
	}
	if !strings.Contains(sent[0].Params["text"], pending[0].Code) || sent[0].Params["chat_id"] != "4242" {
		t.Fatalf("pairing notice %+v", sent[0].Params)
	}
	if llm.Count() != 0 {
		t.Fatal("an unpaired sender reached the model")
	}

	if _, err := (&admin{b: r.b}).ApprovePairing(context.Background(), pending[0].Code); err != nil {
		t.Fatal(err)
	}
	// The approval notice, then the answer to the next message.
	if _, ok := tg.WaitCalls("sendMessage", 2, 20*time.Second); !ok {
		t.Fatal("the paired user was not told")
	}
	tg.AddUpdate(faketelegram.Msg{ChatID: 4242, From: ana, ID: 2, Text: "hello"}.Update())
	waitText(t, tg, "4242", "echo: hello")

	// A group message without a mention is ignored; with one it is answered.
	tg.AddUpdate(faketelegram.Msg{ChatID: -100, From: ana, ID: 3, Text: "chatting with friends"}.Update())
	tg.AddUpdate(faketelegram.Msg{ChatID: -100, From: ana, ID: 4, Text: "@hearth_test_bot what now?"}.Update())
	waitText(t, tg, "-100", "what now?")
	for _, u := range userTexts(llm) {
		if strings.Contains(u, "bank pin") || strings.Contains(u, "chatting with friends") {
			t.Fatalf("the model saw %q", u)
		}
	}
}

// waitText waits until a message in the chat, sent or edited (answers
// stream by edits), holds want.
func waitText(t *testing.T, tg *faketelegram.Server, chat, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, method := range []string{"sendMessage", "editMessageText"} {
			for _, c := range tg.Calls(method) {
				if c.Params["chat_id"] == chat && strings.Contains(c.Params["text"], want) {
					return
				}
			}
		}
		tg.WaitCount("sendMessage", 1_000_000, 20*time.Millisecond) // wait a moment for more calls
	}
	t.Fatalf("no message in chat %s contains %q", chat, want)
}
