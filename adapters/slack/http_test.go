package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/internal/fakeslack"
)

func startHTTP(t *testing.T, fs *fakeslack.Server, s *sink) (*hslack.Channel, *syncBuffer, string) {
	t.Helper()
	ch, logs := newChannel(t, fs, func(c *hslack.Config) {
		c.Mode = hslack.ModeHTTP
		c.Listen = "127.0.0.1:0"
	})
	run(t, ch, s)
	eventually(t, "the HTTP listener", func() bool { return ch.HTTPAddr() != "" })
	return ch, logs, "http://" + ch.HTTPAddr()
}

func TestHTTPModeRejectsForgedRequests(t *testing.T) {
	fs := newFake(t)
	s := newSink()
	_, logs, base := startHTTP(t, fs, s)
	ctx := context.Background()
	ev := fs.EventRequest(base+"/slack/events", fakeslack.DirectMessage("D1", "U1", "forged", "1.000001"), "EvF")
	for name, mutate := range map[string]func(r *fakeslack.Request){
		"wrong secret":    func(r *fakeslack.Request) { r.Secret = "not-the-secret" },
		"stale timestamp": func(r *fakeslack.Request) { r.Timestamp = time.Now().Add(-10 * time.Minute) },
		"garbage":         func(r *fakeslack.Request) { r.Signature = "v0=deadbeef" },
		"body changed":    func(r *fakeslack.Request) { r.Signature = fakeslack.Sign(fs.SigningSecret, time.Now(), []byte("{}")) },
	} {
		r := ev
		mutate(&r)
		code, _, err := fs.Post(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if code != 401 {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}
	cmd := fs.CommandRequest(base+"/slack/commands", fakeslack.SlashCommand{Text: "x", ChannelID: "C1", UserID: "U1", TriggerID: "t"})
	cmd.Secret = "forged"
	if code, _, _ := fs.Post(ctx, cmd); code != 401 {
		t.Errorf("forged command: %d", code)
	}
	if s.count() != 0 {
		t.Fatal("a forged request reached the engine")
	}
	if !strings.Contains(logs.String(), "slack request rejected") || !strings.Contains(logs.String(), "reason=\"stale timestamp\"") {
		t.Fatalf("rejections not logged:\n%s", logs)
	}
}

func TestHTTPModeEvents(t *testing.T) {
	fs := newFake(t)
	s := newSink()
	s.fail = 1
	_, _, base := startHTTP(t, fs, s)
	ctx := context.Background()
	url := base + "/slack/events"

	challenge := fakeslack.Request{URL: url, ContentType: "application/json",
		Body: []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`)}
	code, body, err := fs.Post(ctx, challenge)
	if err != nil || code != 200 || body != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("challenge: %d %q %v", code, body, err)
	}

	ev := fs.EventRequest(url, fakeslack.DirectMessage("D1", "U1", "over http", "2.000001"), "EvH")
	if code, _, _ := fs.Post(ctx, ev); code != 500 {
		t.Fatalf("failed Accept answered %d, want 500 so Slack retries", code)
	}
	ev.RetryNum = 1
	if code, _, _ := fs.Post(ctx, ev); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	ev.RetryNum = 2
	if code, _, _ := fs.Post(ctx, ev); code != 200 {
		t.Fatalf("second retry: %d", code)
	}
	got := s.wait(t, 2)
	if len(got) != 2 || got[1].Text != "over http" || !got[1].Direct {
		t.Fatalf("got %+v", got)
	}
	if s.count() != 2 {
		t.Fatal("X-Slack-Retry-Num retry handed over twice")
	}
	bad := fakeslack.Request{URL: url, ContentType: "application/json", Body: []byte(`{"type":"event_callback","event":`)}
	if code, _, _ := fs.Post(ctx, bad); code != 200 {
		t.Fatalf("malformed signed body: %d", code)
	}
}

func TestHTTPModeSlashCommandAckedAtOnce(t *testing.T) {
	fs := newFake(t)
	s := newSink()
	hold := make(chan struct{})
	var ch *hslack.Channel
	answered := make(chan error, 1)
	s.reply = func(in engine.Inbound) {
		<-hold
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "done"})
		answered <- err
	}
	ch, _, base := startHTTP(t, fs, s)
	start := time.Now()
	code, body, err := fs.Post(context.Background(), fs.CommandRequest(base+"/slack/commands",
		fakeslack.SlashCommand{Text: "what's up", ChannelID: "C1", UserID: "U1", TriggerID: "tr-9", ResponseID: "r9"}))
	if err != nil || code != 200 || body != "" {
		t.Fatalf("command: %d %q %v", code, body, err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("acknowledged after %v", elapsed)
	}
	if s.count() != 1 {
		t.Fatal("command not stored before the ack")
	}
	close(hold)
	if err := <-answered; err != nil {
		t.Fatal(err)
	}
	if calls, ok := fs.WaitCalls("response_url", 1, limit); !ok || calls[0].Path != "/response/r9" || calls[0].Params["text"] != "done" {
		t.Fatalf("response_url = %+v", calls)
	}
}
