package telegram_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

// eventually polls cond until it holds or the safety limit passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

func TestStalledPollRestartedWithinBound(t *testing.T) {
	ft := newFake(t)
	clock := kittest.NewClock(t0)
	ch, logs := newChannel(t, ft, func(c *telegram.Config) {
		c.Clock = clock
		c.StallAfter = 90 * time.Second
		c.Backoff = &channelkit.Backoff{Min: time.Second}
	})
	ft.Stall(true) // getUpdates hangs forever, without an error
	s := newSink()
	run(t, ch, s)
	if !ft.WaitPolls(1, limit) {
		t.Fatal("no poll")
	}
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("watchdog not armed")
	}
	clock.Advance(90*time.Second - time.Millisecond)
	if clock.Pending() != 1 || ch.Health().Restarts != 0 || ch.Health().State != channelkit.StateStarting {
		t.Fatalf("restarted before the bound: %+v", ch.Health())
	}
	clock.Advance(time.Millisecond) // 90s without a successful poll
	eventually(t, "the stall to be recorded", func() bool { return ch.Health().State == channelkit.StateStalled })
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("no reconnect backoff")
	}
	clock.Advance(time.Second)
	if !ft.WaitPolls(2, limit) {
		t.Fatal("the poll was not restarted")
	}
	h := ch.Health()
	if h.Restarts != 1 || !strings.Contains(h.LastError, "no successful poll or ping for 1m30s") {
		t.Fatalf("health = %+v", h)
	}
	if !strings.Contains(logs.String(), "channel stalled; restarting the connection") {
		t.Fatalf("the restart is not logged with its reason:\n%s", logs)
	}
	// The restarted poll receives again.
	ft.Stall(false)
	ft.AddUpdate(faketelegram.Msg{ChatID: alice.ID, From: alice, ID: 1, Text: "are you there?"}.Update())
	if got := s.wait(t, 1); got[0].Text != "are you there?" {
		t.Fatalf("got %+v", got)
	}
	eventually(t, "connected state", func() bool { return ch.Health().State == channelkit.StateConnected })
}

func TestWebhookConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  telegram.Config
		want string
	}{
		{telegram.Config{Token: token, Mode: "webhook", WebhookURL: "https://x/hook"}, "channels.telegram.webhook_secret: required"},
		{telegram.Config{Token: token, Mode: "webhook", WebhookURL: "https://x/hook", WebhookSecret: "has space"}, "channels.telegram.webhook_secret: must be"},
		{telegram.Config{Token: token, Mode: "webhook", WebhookSecret: "abc"}, "channels.telegram.webhook_url"},
		{telegram.Config{Token: token, Mode: "webhook", WebhookSecret: "abc", WebhookURL: "https://x/", Listen: "nope"}, "channels.telegram.listen"},
	} {
		if _, err := telegram.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v, want %q", err, tc.want)
		}
	}
}

func TestWebhookMode(t *testing.T) {
	ft := newFake(t)
	const secret = "s3cret-Token_1"
	ch, logs := newChannel(t, ft, func(c *telegram.Config) {
		c.Mode = telegram.ModeWebhook
		c.WebhookURL = "https://bot.example/tg/hook"
		c.WebhookSecret = secret
		c.Listen = "127.0.0.1:0"
	})
	s := newSink()
	run(t, ch, s)
	calls, ok := ft.WaitCalls("setWebhook", 1, limit)
	if !ok || calls[0].Params["url"] != "https://bot.example/tg/hook" || calls[0].Params["secret_token"] != secret {
		t.Fatalf("setWebhook = %+v", calls)
	}
	eventually(t, "the webhook listener", func() bool { return ch.WebhookAddr() != "" })
	url := "http://" + ch.WebhookAddr() + "/tg/hook"
	ctx := context.Background()
	deliver := func(secret string, upd map[string]any) int {
		t.Helper()
		code, err := ft.DeliverWebhook(ctx, url, secret, upd)
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	msg := func(id int, text string) map[string]any {
		return faketelegram.Msg{ChatID: alice.ID, From: alice, ID: id, Text: text}.Update()
	}
	if code := deliver("", msg(1, "no secret")); code != 401 {
		t.Fatalf("no secret: %d", code)
	}
	if code := deliver("wrong", msg(1, "wrong secret")); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if !strings.Contains(logs.String(), "wrong or missing secret token rejected") {
		t.Fatal("rejection not logged")
	}
	upd := msg(2, "hello by webhook")
	upd["update_id"] = int64(4242)
	if code := deliver(secret, upd); code != 200 {
		t.Fatalf("good delivery: %d", code)
	}
	if got := s.wait(t, 1); got[0].Text != "hello by webhook" || got[0].MessageID != "111:2" {
		t.Fatalf("got %+v", got)
	}
	// Telegram retries the same update (our answer was lost): not handed
	// to the engine again.
	if code := deliver(secret, upd); code != 200 {
		t.Fatalf("redelivery: %d", code)
	}
	if code, _ := ft.DeliverRaw(ctx, url, secret, []byte(`{"update_id": "x"`)); code != 200 {
		t.Fatalf("malformed: %d", code)
	}
	// The store fails: Telegram gets a 500 and redelivers; then it works.
	s.mu.Lock()
	s.fail = 1
	s.mu.Unlock()
	next := msg(3, "second")
	next["update_id"] = int64(4243)
	if code := deliver(secret, next); code != 500 {
		t.Fatalf("failed accept answered %d, want 500", code)
	}
	if code := deliver(secret, next); code != 200 {
		t.Fatalf("redelivery after failure: %d", code)
	}
	got := s.wait(t, 3)
	if len(got) != 3 || got[1].Text != "second" || got[2].Text != "second" {
		t.Fatalf("sink saw %d: %+v", len(got), got)
	}
	if r := s.receipts(); r[2] != "queued" {
		t.Fatalf("receipts %v", r)
	}
	if !strings.Contains(logs.String(), "malformed webhook update dropped") {
		t.Fatal("malformed update not logged")
	}
	if len(ft.Calls("getUpdates")) != 0 {
		t.Fatal("polled in webhook mode")
	}
}
