package telegram_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// longAnswer is a Markdown answer of about 9000 characters with two code
// blocks, one longer than a Telegram message.
func longAnswer() (md string, codeLines []string) {
	var b strings.Builder
	b.WriteString("Here is the **plan** for `snake_case` & <friends>:\n\n")
	b.WriteString("```go\n")
	for i := range 160 {
		line := fmt.Sprintf("fmt.Println(%d, \"a < b && c > d\") // line_%d", i, i)
		codeLines = append(codeLines, line)
		b.WriteString(line + "\n")
	}
	b.WriteString("```\n\n")
	for i := range 12 {
		fmt.Fprintf(&b, "Paragraph %d with _emphasis_ and a [link](https://example.com/?q=%d&x=y). %s\n\n", i, i, strings.Repeat("words ", 30))
	}
	b.WriteString("```\nshort block\n```\nDone.")
	codeLines = append(codeLines, "short block")
	return b.String(), codeLines
}

func TestLongMarkdownAnswerFormattedAndSplit(t *testing.T) {
	ft := newFake(t)
	s := newSink()
	var ch *telegram.Channel
	md, codeLines := longAnswer()
	replied := make(chan error, 1)
	s.reply = func(in engine.Inbound) {
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: md, Final: true})
		replied <- err
	}
	ch, _ = newChannel(t, ft, nil)
	run(t, ch, s)
	ft.AddUpdate(faketelegram.Msg{ChatID: -100777, From: alice, ID: 31, Text: "@hearth_test_bot plan?", ThreadID: 9, Topic: true, IsForum: true}.Update())
	if err := <-replied; err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := ft.Calls("sendMessage")
	if len(calls) < 3 {
		t.Fatalf("%d messages, want the ~9000 characters split into at least 3", len(calls))
	}
	var visible []string
	for i, c := range calls {
		if c.Status != 200 {
			t.Fatalf("message %d rejected by Telegram (%d): %q", i, c.Status, c.Params["text"])
		}
		if c.Params["parse_mode"] != "HTML" || c.Params["chat_id"] != "-100777" || c.Params["message_thread_id"] != "9" {
			t.Fatalf("message %d params = %v", i, c.Params)
		}
		v, err := faketelegram.ParseHTML(c.Params["text"])
		if err != nil {
			t.Fatal(err)
		}
		if n := channelkit.UTF16Len(v); n > telegram.MaxMessageLen {
			t.Fatalf("message %d is %d long", i, n)
		}
		visible = append(visible, v)
		var rp struct {
			MessageID                int  `json:"message_id"`
			AllowSendingWithoutReply bool `json:"allow_sending_without_reply"`
		}
		hasReply := c.Params["reply_parameters"] != ""
		if i == 0 {
			if err := json.Unmarshal([]byte(c.Params["reply_parameters"]), &rp); err != nil || rp.MessageID != 31 || !rp.AllowSendingWithoutReply {
				t.Fatalf("first part does not reply to the question: %q", c.Params["reply_parameters"])
			}
		} else if hasReply {
			t.Fatalf("part %d replies again", i)
		}
	}
	// The first part starts with the formatted intro, exactly.
	wantStart := "Here is the <b>plan</b> for <code>snake_case</code> &amp; &lt;friends&gt;:\n\n<pre><code class=\"language-go\">fmt.Println(0, &#34;"
	if got := calls[0].Params["text"]; !strings.HasPrefix(got, "Here is the <b>plan</b> for <code>snake_case</code> &amp; &lt;friends&gt;:\n\n<pre><code class=\"language-go\">fmt.Println(0, \"a &lt; b &amp;&amp; c &gt; d\")") {
		t.Fatalf("first part starts %q\nwant %q", got[:200], wantStart)
	}
	// The code block was cut between messages, closed and reopened with
	// its language, and no code line was lost or broken.
	if !strings.HasPrefix(calls[1].Params["text"], `<pre><code class="language-go">`) {
		t.Fatalf("second part does not reopen the code block: %q", calls[1].Params["text"][:80])
	}
	all := strings.Join(visible, "\n")
	pos := 0
	for _, line := range codeLines {
		i := strings.Index(all[pos:], line+"\n")
		if i < 0 {
			i = strings.Index(all[pos:], line)
		}
		if i < 0 {
			t.Fatalf("code line %q missing or out of order", line)
		}
		pos += i + len(line)
	}
	if !strings.HasSuffix(calls[len(calls)-1].Params["text"], "<pre>short block</pre>\nDone.") {
		t.Fatalf("last part ends %q", calls[len(calls)-1].Params["text"])
	}
}

func TestRejectedFormattingResentAsPlainText(t *testing.T) {
	ft := newFake(t)
	ch, _ := newChannel(t, ft, nil)
	ft.Fail("sendMessage", faketelegram.Failure{Code: 400, Description: "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 3"})
	to := engine.Address{Channel: "telegram", Conversation: "111"}
	if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: to, Text: "**hi** there"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := ft.Calls("sendMessage")
	if len(calls) != 2 || calls[0].Params["parse_mode"] != "HTML" || calls[1].Params["parse_mode"] != "" || calls[1].Params["text"] != "**hi** there" || calls[1].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	ft := newFake(t)
	clock := kittest.NewClock(t0)
	ch, logs := newChannel(t, ft, func(c *telegram.Config) { c.Clock = clock })
	ft.Fail("sendMessage", faketelegram.Failure{Code: 429, Description: "Too Many Requests: retry after 7", RetryAfter: 7})
	done := make(chan error, 1)
	go func() {
		_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "111"}, Text: "hello"})
		done <- err
	}()
	if _, ok := ft.WaitCalls("sendMessage", 1, limit); !ok {
		t.Fatal("no first attempt")
	}
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("the retry is not waiting on the clock")
	}
	if next, _ := clock.NextDeadline(); next.Sub(t0) != 7*time.Second {
		t.Fatalf("retry scheduled after %v, want the 7s Telegram asked for", next.Sub(t0))
	}
	clock.Advance(7*time.Second - time.Millisecond)
	if n := len(ft.Calls("sendMessage")); n != 1 {
		t.Fatalf("retried before retry_after: %d calls", n)
	}
	clock.Advance(time.Millisecond)
	if err := <-done; err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := ft.Calls("sendMessage")
	if len(calls) != 2 || calls[0].Status != 429 || calls[1].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Fatal("retry not logged")
	}
}

func TestServerErrorRetried(t *testing.T) {
	ft := newFake(t)
	ch, _ := newChannel(t, ft, func(c *telegram.Config) {
		c.Retry = &channelkit.RetryPolicy{Attempts: 3, Backoff: channelkit.Backoff{Min: time.Millisecond}}
	})
	ft.Fail("sendMessage", faketelegram.Failure{Code: 502, RawBody: "<html><body>502 Bad Gateway</body></html>"})
	if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "111"}, Text: "x"}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if calls := ft.Calls("sendMessage"); len(calls) != 2 || calls[1].Status != 200 {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestPerChatPacingQueues(t *testing.T) {
	ft := newFake(t)
	clock := kittest.NewClock(t0)
	ch, _ := newChannel(t, ft, func(c *telegram.Config) {
		c.Clock = clock
		c.Limits = &channelkit.Limits{PerKey: channelkit.Per(1, time.Second)}
	})
	send := func(conv, text string) <-chan error {
		done := make(chan error, 1)
		go func() {
			_, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: conv}, Text: text})
			done <- err
		}()
		return done
	}
	first := send("111", "one")
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	second := send("111", "two") // same chat: queued for a second
	if !clock.WaitForTimers(1, limit) {
		t.Fatal("second message not queued")
	}
	if err := <-send("222", "other chat"); err != nil { // another chat: at once
		t.Fatal(err)
	}
	if n := len(ft.Calls("sendMessage")); n != 2 {
		t.Fatalf("%d sent before the second elapsed, want 2", n)
	}
	clock.Advance(time.Second)
	if err := <-second; err != nil {
		t.Fatal(err)
	}
	calls := ft.Calls("sendMessage")
	if len(calls) != 3 || calls[2].Params["text"] != "two" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestStreamingByEdits(t *testing.T) {
	ft := newFake(t)
	clock := kittest.NewClock(t0)
	ch, _ := newChannel(t, ft, func(c *telegram.Config) { c.Clock = clock; c.EditInterval = time.Second })
	if got := ch.Capabilities().EditInterval; got != time.Second {
		t.Fatalf("EditInterval = %v", got)
	}
	ctx := context.Background()
	to := engine.Address{Channel: "telegram", Conversation: "111", ReplyTo: "111:50"}
	sent, err := ch.Send(ctx, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Hel"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Hello"}); err != nil {
		t.Fatal(err)
	}
	if n := len(ft.Calls("editMessageText")); n != 0 {
		t.Fatalf("edit within the interval went out (%d edits)", n)
	}
	clock.Advance(time.Second)
	if err := ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindDelta, To: to, Text: "Hello **wor"}); err != nil {
		t.Fatal(err)
	}
	// The final edit goes out at once, and text past 4096 continues in a
	// new message.
	final := "Hello **world**\n\n" + strings.Repeat("long text ", 500)
	if err := ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindReply, To: to, Text: final, Final: true}); err != nil {
		t.Fatal(err)
	}
	edits := ft.Calls("editMessageText")
	if len(edits) != 2 || edits[0].Params["text"] != "Hello **wor" || !strings.HasPrefix(edits[1].Params["text"], "Hello <b>world</b>") {
		t.Fatalf("edits = %+v", edits)
	}
	for _, e := range edits {
		if e.Status != 200 || e.Params["message_id"] != strings.TrimPrefix(sent.ID, "111:") {
			t.Fatalf("edit %+v", e)
		}
	}
	sends := ft.Calls("sendMessage")
	if len(sends) != 2 || sends[1].Params["reply_parameters"] != "" {
		t.Fatalf("sends = %+v", sends)
	}
	text, _ := ft.Message("111", 5002)
	if !strings.Contains(text, "long text") {
		t.Fatalf("overflow message = %q", text)
	}
	// An identical final edit is not an error ("message is not modified").
	if err := ch.Edit(ctx, sent, engine.Outbound{Kind: engine.KindReply, To: to, Text: "Hello **world**", Final: true}); err != nil {
		t.Fatalf("edit of an unknown-text message: %v", err)
	}
	if err := ch.Edit(ctx, engine.SentMessage{ID: "garbage"}, engine.Outbound{Text: "x", Final: true}); err == nil {
		t.Fatal("edit of a foreign id accepted")
	}
}

func TestTypingAndStatus(t *testing.T) {
	ft := newFake(t)
	ch, _ := newChannel(t, ft, nil)
	ctx := context.Background()
	to := engine.Address{Conversation: "-100777", Thread: "9"}
	if _, err := ch.Send(ctx, engine.Outbound{Kind: engine.KindTyping, To: to}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Send(ctx, engine.Outbound{Kind: engine.KindStatus, To: to, Text: "running tool"}); err != nil {
		t.Fatal(err)
	}
	calls := ft.Calls("sendChatAction")
	if len(calls) != 1 || calls[0].Params["action"] != "typing" || calls[0].Params["message_thread_id"] != "9" || calls[0].Params["chat_id"] != "-100777" {
		t.Fatalf("calls = %+v", calls)
	}
	if n := len(ft.Calls("sendMessage")); n != 0 {
		t.Fatalf("status line sent as a message")
	}
	if _, err := ch.Send(ctx, engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "not-a-chat"}, Text: "x"}); err == nil {
		t.Fatal("bad conversation accepted")
	}
}
