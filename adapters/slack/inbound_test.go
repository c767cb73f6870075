package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/fakeslack"
)

func TestDirectMessageNormalizedAndAckedAfterAccept(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, nil)
	s := newSink()
	gate := make(chan struct{})
	s.gate = gate
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	env := sendEvent(t, fs, fakeslack.DirectMessage("D1", "U1", "hi <@U0BOT> &amp; you &lt;3", "1772366400.000200"), "Ev1", 0)
	// Accept is held: Slack must not get an ack yet.
	if _, ok := fs.WaitAck(env, 50*time.Millisecond); ok {
		t.Fatal("acknowledged before the sink accepted")
	}
	close(gate)
	waitAck(t, fs, env)
	got := s.wait(t, 1)[0]
	want := engine.Inbound{
		Channel: "slack", MessageID: "D1:1772366400.000200", Conversation: "D1",
		Sender: engine.Sender{ID: "U1", DisplayName: "Alice Doe"},
		Direct: true, Mentioned: true, Text: "hi <@U0BOT> & you <3",
		ReceivedAt: time.Date(2026, 3, 1, 12, 0, 0, 200000, time.UTC),
	}
	meta := got.Meta
	got.Meta = nil
	if !equalInbound(got, want) {
		t.Fatalf("inbound =\n%+v\nwant\n%+v", got, want)
	}
	if meta["event_id"] != "Ev1" || meta["channel_type"] != "im" || meta["team_id"] != "T0TEAM" {
		t.Fatalf("meta = %v", meta)
	}
	if h := ch.Health(); h.State != channelkit.StateConnected || h.LastInbound.IsZero() {
		t.Fatalf("health = %+v", h)
	}
}

func TestChannelMentionsThreadsAndSkips(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, nil)
	s := newSink()
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	for _, tc := range []struct {
		name      string
		event     map[string]any
		accepted  bool
		mentioned bool
		thread    string
		text      string
	}{
		{"mention starts a thread at the message", fakeslack.AppMention("C1", "U1", "<@U0BOT> summarize this", "100.000001"), true, true, "100.000001", "summarize this"},
		{"the message event of the same mention is not handed over twice", fakeslack.Message("C1", "U1", "<@U0BOT> summarize this", "100.000001"), false, false, "", ""},
		{"channel message without mention", fakeslack.Message("C1", "U2", "lunch?", "100.000002"), true, false, "100.000002", "lunch?"},
		{"reply in a thread belongs to the thread", fakeslack.InThread(fakeslack.Message("C1", "U1", "and more", "100.000003"), "100.000001"), true, false, "100.000001", "and more"},
		{"mention inside a thread", fakeslack.InThread(fakeslack.AppMention("C1", "U1", "<@U0BOT|hearth>: again", "100.000004"), "100.000001"), true, true, "100.000001", "again"},
		{"edited message ignored", fakeslack.Edited("D1", "U1", "fixed", "100.000005"), false, false, "", ""},
		{"own message ignored", fakeslack.Message("C1", "U0BOT", "my answer", "100.000006"), false, false, "", ""},
		{"bot message ignored", map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B9", "channel": "C1", "text": "beep", "ts": "100.000007", "channel_type": "channel"}, false, false, "", ""},
	} {
		before := s.count()
		env := sendEvent(t, fs, tc.event, "Ev-"+tc.name, 0)
		waitAck(t, fs, env) // skipped events are acknowledged too
		if !tc.accepted {
			if s.count() != before {
				t.Fatalf("%s: handed to the engine", tc.name)
			}
			continue
		}
		got := s.wait(t, before+1)[before]
		if got.Direct || got.Mentioned != tc.mentioned || got.Thread != tc.thread || got.Text != tc.text || got.Conversation != "C1" {
			t.Fatalf("%s: got direct=%v mentioned=%v thread=%q text=%q", tc.name, got.Direct, got.Mentioned, got.Thread, got.Text)
		}
	}
}

func TestRetriesDeduplicatedAndFailedAcceptNotAcked(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, nil)
	s := newSink()
	s.fail = 1
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	ev := fakeslack.DirectMessage("D1", "U1", "remember this", "200.000001")
	first := sendEvent(t, fs, ev, "Ev9", 0)
	s.wait(t, 1)
	if _, ok := fs.WaitAck(first, 50*time.Millisecond); ok {
		t.Fatal("an event whose Accept failed was acknowledged")
	}
	// Slack retries the unacknowledged event.
	retry := sendEvent(t, fs, ev, "Ev9", 1)
	waitAck(t, fs, retry)
	// And retries once more although it was acknowledged (a lost ack).
	again := sendEvent(t, fs, ev, "Ev9", 2)
	waitAck(t, fs, again)
	if got := s.wait(t, 2); len(got) != 2 {
		t.Fatalf("sink saw %d deliveries, want 2 (failed + accepted)", len(got))
	}
}

func TestMalformedSocketPayload(t *testing.T) {
	fs := newFake(t)
	ch, logs := newChannel(t, fs, nil)
	s := newSink()
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	if err := fs.SendRaw(`{"envelope_id":"env-bad","type":"events_api","payload":{"type":"event_callback","event":"garbage"}}`); err != nil {
		t.Fatal(err)
	}
	waitAck(t, fs, "env-bad")
	env := sendEvent(t, fs, fakeslack.DirectMessage("D1", "U1", "still here", "300.000001"), "Ev10", 0)
	waitAck(t, fs, env)
	if got := s.wait(t, 1); len(got) != 1 || got[0].Text != "still here" {
		t.Fatalf("got %+v", got)
	}
	if !strings.Contains(logs.String(), "malformed socket payload dropped") {
		t.Fatalf("not logged:\n%s", logs)
	}
}

func TestConfigAndTokenErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  hslack.Config
		want string
	}{
		{hslack.Config{}, "channels.slack.bot_token: required"},
		{hslack.Config{BotToken: "xoxb-1"}, "channels.slack.app_token: required in socket mode"},
		{hslack.Config{BotToken: "xoxb-1", Mode: "http"}, "channels.slack.signing_secret: required in http mode"},
		{hslack.Config{BotToken: "xoxb-1", AppToken: "xapp-1", Mode: "rtm"}, "channels.slack.mode"},
		{hslack.Config{BotToken: "xoxb-1", AppToken: "xapp-1", SlashCommand: "hearth"}, "channels.slack.slash_command"},
		{hslack.Config{BotToken: "xoxb-1", AppToken: "xapp-1", SlashVisibility: "loud"}, "channels.slack.slash_visibility"},
	} {
		if _, err := hslack.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
	}
	fs := newFake(t)
	badBot, _ := newChannel(t, fs, func(c *hslack.Config) { c.BotToken = "xoxb-wrong" })
	err := badBot.Run(context.Background(), newSink())
	if err == nil || !strings.Contains(err.Error(), "channels.slack.bot_token: rejected by Slack") || !channelkit.IsPermanent(err) {
		t.Fatalf("bad bot token: %v", err)
	}
	badApp, _ := newChannel(t, fs, func(c *hslack.Config) { c.AppToken = "xapp-wrong" })
	err = badApp.Run(context.Background(), newSink())
	if err == nil || !strings.Contains(err.Error(), "channels.slack.app_token: rejected by Slack") {
		t.Fatalf("bad app token: %v", err)
	}
	if h := badApp.Health(); h.State != channelkit.StateFailed {
		t.Fatalf("health = %+v", h)
	}
}
