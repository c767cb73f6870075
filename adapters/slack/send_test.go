package slack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
	"github.com/hearthbot/hearth/internal/fakeslack"
)

func TestRenderMrkdwn(t *testing.T) {
	for _, tc := range []struct{ md, want string }{
		{"**bold** and *it* and ~~gone~~", "*bold* and _it_ and ~gone~"},
		{"a & b < c > d", "a &amp; b &lt; c &gt; d"},
		{"snake_case_name stays", "snake_case_name stays"},
		{"[the docs](https://x.dev/a?b=1&c=2)", "<https://x.dev/a?b=1&amp;c=2|the docs>"},
		{"<https://x.dev>", "<https://x.dev>"},
		{"[odd|link](https://x.dev/a|b)", "<https://x.dev/a%7Cb|odd|link>"},
		{"[js](javascript:alert(1))", "js (javascript:alert(1))"},
		{"`a<b>`", "`a&lt;b&gt;`"},
		{"```go\nif a < b && c {\n}\n```", "```\nif a &lt; b &amp;&amp; c {\n}\n```"},
		{"# Title with **bold**\n- one\n  - two\n3. three", "*Title with bold*\n• one\n    • two\n3. three"},
		{"> quoted *text*", "> quoted _text_"},
		{"**bold _and italic_**", "*bold _and italic_*"},
		{"---", "———"},
	} {
		if got := hslack.RenderMrkdwn(tc.md); got != tc.want {
			t.Errorf("RenderMrkdwn(%q)\n got %q\nwant %q", tc.md, got, tc.want)
		}
	}
}

func TestLongAnswerSplitInThread(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, nil)
	s := newSink()
	var md strings.Builder
	md.WriteString("Summary for **#general** & friends:\n\n```python\n")
	var code []string
	for i := range 200 {
		line := fmt.Sprintf("print(%d, 'a < b & c')  # step_%d", i, i)
		code = append(code, line)
		md.WriteString(line + "\n")
	}
	md.WriteString("```\n\n")
	for i := range 20 {
		fmt.Fprintf(&md, "Point %d: see [ticket](https://t.example/%d?x=1&y=2). %s\n\n", i, i, strings.Repeat("text ", 25))
	}
	answer := md.String()
	replied := make(chan error, 1)
	s.reply = func(in engine.Inbound) {
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: answer, Final: true})
		replied <- err
	}
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	sendEvent(t, fs, fakeslack.AppMention("C7", "U1", "<@U0BOT> summarize", "500.000001"), "Ev1", 0)
	if err := <-replied; err != nil {
		t.Fatalf("Send: %v", err)
	}
	posts := fs.Calls("chat.postMessage")
	if len(posts) < 3 {
		t.Fatalf("%d posts, want the answer split into at least 3", len(posts))
	}
	var all strings.Builder
	for i, p := range posts {
		text := p.Params["text"]
		if p.Error != "" || p.Params["channel"] != "C7" || p.Params["thread_ts"] != "500.000001" {
			t.Fatalf("post %d: %+v", i, p)
		}
		if n := utf8.RuneCountInString(text); n > hslack.DefaultMaxMessageLen {
			t.Fatalf("post %d is %d characters", i, n)
		}
		if strings.Count(text, "```")%2 != 0 {
			t.Fatalf("post %d has an unclosed code block", i)
		}
		if strings.ContainsAny(strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "", "<https://", "", "|ticket>", "").Replace(text), "<>") {
			t.Fatalf("post %d has unescaped < or >: %q", i, text)
		}
		all.WriteString(text + "\n")
	}
	if !strings.HasPrefix(posts[0].Params["text"], "Summary for *#general* &amp; friends:\n\n```\nprint(0, 'a &lt; b &amp; c')  # step_0\n") {
		t.Fatalf("first post starts %q", posts[0].Params["text"][:120])
	}
	if !strings.Contains(all.String(), "Point 3: see <https://t.example/3?x=1&amp;y=2|ticket>.") {
		t.Fatal("link not rendered as <url|text>")
	}
	for _, line := range code {
		want := strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace(line)
		if !strings.Contains(all.String(), want+"\n") {
			t.Fatalf("code line %q lost or broken", line)
		}
	}
}

func TestSlashCommandAckedWhileAnswerTakesLong(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, nil)
	s := newSink()
	hold := make(chan struct{}) // the "LLM" answers only when released
	answered := make(chan error, 1)
	s.reply = func(in engine.Inbound) {
		<-hold
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "Here is **the summary**.", Final: true})
		answered <- err
	}
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	start := time.Now()
	env, err := fs.SendSlashCommand(fakeslack.SlashCommand{Text: "summarize this thread", ChannelID: "C7", ChannelName: "general",
		UserID: "U1", UserName: "alice", TriggerID: "trig-1", ResponseID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	ack := waitAck(t, fs, env)
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("ack after %v, Slack's limit is 3s", elapsed)
	}
	if n := len(fs.Calls("response_url")); n != 0 {
		t.Fatal("answered before the reply was released")
	}
	if len(ack.Payload) != 0 && string(ack.Payload) != "null" {
		t.Fatalf("ack payload = %s, want a silent ack", ack.Payload)
	}
	in := s.wait(t, 1)[0]
	if in.MessageID != "cmd:trig-1" || in.Text != "summarize this thread" || !in.Mentioned || in.Direct ||
		in.Conversation != "C7" || in.Meta["response_url"] != fs.ResponseURL("r1") || in.Meta["response_type"] != "ephemeral" {
		t.Fatalf("inbound = %+v", in)
	}
	close(hold)
	if err := <-answered; err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := fs.Calls("response_url")
	if len(calls) != 1 || calls[0].Path != "/response/r1" || calls[0].Params["response_type"] != "ephemeral" ||
		calls[0].Params["text"] != "Here is *the summary*." {
		t.Fatalf("response_url calls = %+v", calls)
	}
	if n := len(fs.Calls("chat.postMessage")); n != 0 {
		t.Fatalf("answered with chat.postMessage too (%d)", n)
	}
}

func TestSlashCommandWordsAndVisibility(t *testing.T) {
	fs := newFake(t)
	ch, _ := newChannel(t, fs, func(c *hslack.Config) { c.SlashVisibility = hslack.InChannel; c.SlashCommand = "/ask" })
	s := newSink()
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	env, _ := fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/ask", Text: "NEW", ChannelID: "D5", UserID: "U1", TriggerID: "t2", ResponseID: "r2"})
	waitAck(t, fs, env)
	in := s.wait(t, 1)[0]
	if in.Text != "/new" || !in.Direct || in.Meta["response_type"] != "in_channel" {
		t.Fatalf("inbound = %+v", in)
	}
	// A streamed answer to a slash command goes out whole, once final.
	sent, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: "Star"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Edit(context.Background(), sent, engine.Outbound{Kind: engine.KindDelta, To: in.ReplyAddress(), Text: "Starting"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Edit(context.Background(), sent, engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "Started a new conversation.", Final: true}); err != nil {
		t.Fatal(err)
	}
	calls := fs.Calls("response_url")
	if len(calls) != 1 || calls[0].Params["response_type"] != "in_channel" || calls[0].Params["text"] != "Started a new conversation." {
		t.Fatalf("calls = %+v", calls)
	}
	// An unknown command is acknowledged with an explanation, not stored.
	env, _ = fs.SendSlashCommand(fakeslack.SlashCommand{Command: "/other", Text: "x", ChannelID: "C1", UserID: "U1", TriggerID: "t3"})
	if ack := waitAck(t, fs, env); !strings.Contains(string(ack.Payload), "I only answer /ask") {
		t.Fatalf("ack = %s", ack.Payload)
	}
	if s.count() != 1 {
		t.Fatal("unknown command handed to the engine")
	}
}

func TestRateLimitRetryAfterHonoured(t *testing.T) {
	fs := newFake(t)
	clock := kittest.NewClock(t0)
	ch, _ := newChannel(t, fs, func(c *hslack.Config) { c.Clock = clock })
	fs.Fail("chat.postMessage", fakeslack.Failure{Status: 429, RetryAfter: 3})
	done := make(chan error, 1)
	go func() {
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "C1", Thread: "1.2"}, Text: "hi"})
		done <- err
	}()
	if _, ok := fs.WaitCalls("chat.postMessage", 1, limit); !ok {
		t.Fatal("no first attempt")
	}
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("not waiting on the clock")
	}
	if next, _ := clock.NextDeadline(); next.Sub(t0) != 3*time.Second {
		t.Fatalf("retry after %v, want Retry-After's 3s", next.Sub(t0))
	}
	clock.Advance(3 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	calls := fs.Calls("chat.postMessage")
	if len(calls) != 2 || calls[0].Status != 429 || calls[1].Error != "" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestStreamingByChatUpdate(t *testing.T) {
	fs := newFake(t)
	clock := kittest.NewClock(t0)
	ch, _ := newChannel(t, fs, func(c *hslack.Config) { c.Clock = clock })
	ctx := context.Background()
	to := engine.Address{Channel: "slack", Conversation: "C1", Thread: "9.1"}
	sent, err := ch.Send(ctx, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Thinking"})
	if err != nil {
		t.Fatal(err)
	}
	_ = ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Thinking hard"})
	if n := len(fs.Calls("chat.update")); n != 0 {
		t.Fatalf("edited within the interval (%d)", n)
	}
	clock.Advance(time.Second)
	_ = ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Thinking harder"})
	if err := ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindReply, To: to, Text: "**Done** & dusted", Final: true}); err != nil {
		t.Fatal(err)
	}
	ups := fs.Calls("chat.update")
	if len(ups) != 2 || ups[1].Params["text"] != "*Done* &amp; dusted" || ups[1].Params["channel"] != "C1" {
		t.Fatalf("updates = %+v", ups)
	}
	ts := strings.TrimPrefix(sent.ID, "C1:")
	if text, _ := fs.Message("C1", ts); text != "*Done* &amp; dusted" {
		t.Fatalf("message now %q", text)
	}
	if ch.Capabilities().EditInterval != time.Second || ch.Capabilities().Format != "slack-mrkdwn" {
		t.Fatalf("caps = %+v", ch.Capabilities())
	}
	var _ = channelkit.StateConnected
}

func TestStalledSocketRestartedWithinBound(t *testing.T) {
	fs := newFake(t)
	clock := kittest.NewClock(t0)
	ch, logs := newChannel(t, fs, func(c *hslack.Config) {
		c.Clock = clock
		c.StallAfter = 90 * time.Second
		c.Backoff = &channelkit.Backoff{Min: time.Second}
	})
	s := newSink()
	run(t, ch, s)
	if !fs.WaitSockets(1, limit) {
		t.Fatal("no socket")
	}
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("watchdog not armed")
	}
	eventually(t, "connected", func() bool { return ch.Health().State == channelkit.StateConnected })
	fs.StallSockets() // open, but silent: no frames, no pings
	clock.Advance(90*time.Second - time.Millisecond)
	if ch.Health().Restarts != 0 || fs.Connections() != 1 {
		t.Fatal("restarted before the bound")
	}
	clock.Advance(time.Millisecond)
	eventually(t, "the stall to be noticed", func() bool { return ch.Health().State == channelkit.StateStalled })
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("no reconnect backoff")
	}
	clock.Advance(time.Second)
	if !fs.WaitSockets(2, limit) {
		t.Fatal("socket not reopened")
	}
	env := sendEvent(t, fs, fakeslack.DirectMessage("D1", "U1", "back?", "700.000001"), "Ev70", 0)
	waitAck(t, fs, env)
	if got := s.wait(t, 1); got[0].Text != "back?" {
		t.Fatalf("got %+v", got)
	}
	h := ch.Health()
	if h.Restarts != 1 || !strings.Contains(h.LastError, "no successful poll or ping for 1m30s") {
		t.Fatalf("health = %+v", h)
	}
	if !strings.Contains(logs.String(), "channel stalled; restarting the connection") {
		t.Fatal("restart not logged with its reason")
	}
}
