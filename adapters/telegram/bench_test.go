//go:build unix

package telegram_test

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hearthbot/hearth/adapters/telegram"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/faketelegram"
)

// cpuTime is the process's user+system CPU time (adapter, client library
// and fake server together).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// waitSent waits until n replies have returned from Send, so that the
// fake is not closed under a reply still reading its answer.
func waitSent(b *testing.B, sent *atomic.Int64, n int) {
	b.Helper()
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for sent.Load() < int64(n) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d replies returned", sent.Load(), n)
		}
		<-tick.C
	}
}

const benchReply = "Here is **the answer** with `code`, a [link](https://example.com/?a=1&b=2) and snake_case.\n\n" +
	"- first point\n- second point\n\n```go\nfmt.Println(\"a < b\")\n```\nThat's all."

func quiet(c *telegram.Config) { c.Logger = slog.New(slog.DiscardHandler) }

// BenchmarkSendReply measures one formatted reply (Markdown to HTML, split,
// sendMessage over HTTP to the fake).
func BenchmarkSendReply(b *testing.B) {
	ft := newFake(b)
	ft.CountOnly()
	ch, _ := newChannel(b, ft, quiet)
	ctx := context.Background()
	msg := engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "111", ReplyTo: "111:1"}, Text: benchReply}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for range b.N {
		if _, err := ch.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
}

// BenchmarkRoundTrip measures one message end to end through the fake:
// the update is long-polled, normalized, accepted by the sink, and the
// sink's reply is formatted and sent back.
func BenchmarkRoundTrip(b *testing.B) {
	ft := newFake(b)
	ft.CountOnly()
	s := newSink()
	var ch *telegram.Channel
	var sent atomic.Int64
	s.reply = func(in engine.Inbound) {
		if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: benchReply}); err != nil {
			b.Error(err)
		}
		sent.Add(1)
	}
	ch, _ = newChannel(b, ft, quiet)
	run(b, ch, s)
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		ft.AddUpdate(faketelegram.Msg{ChatID: 111, From: alice, ID: i + 1, Text: "question"}.Update())
		if !ft.WaitCount("sendMessage", i+1, limit) {
			b.Fatalf("reply %d missing", i+1)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
	b.StopTimer()
	waitSent(b, &sent, b.N)
}

// BenchmarkChats500 sends two messages from each of 500 chats at once and
// waits for all 1000 replies. The per-chat limiter is on, scaled from
// Telegram's 1 message/s to 1 per 20ms so a run takes milliseconds: each
// chat's second reply queues behind its first (never dropped).
func BenchmarkChats500(b *testing.B) {
	const chats, perChat, gap = 500, 2, 20 * time.Millisecond
	ft := newFake(b)
	s := newSink()
	var ch *telegram.Channel
	var sent atomic.Int64
	s.reply = func(in engine.Inbound) {
		if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "ok: " + in.Text}); err != nil {
			b.Error(err)
		}
		sent.Add(1)
	}
	ch, _ = newChannel(b, ft, func(c *telegram.Config) {
		quiet(c)
		c.Limits = &channelkit.Limits{PerKey: channelkit.Rate{Interval: gap, Burst: 1}}
	})
	run(b, ch, s)
	id := 0
	b.ResetTimer()
	start := time.Now()
	for op := range b.N {
		for c := range chats {
			for range perChat {
				id++
				ft.AddUpdate(faketelegram.Msg{ChatID: int64(1000 + c), From: alice, ID: id, Text: "hi"}.Update())
			}
		}
		if !ft.WaitCount("sendMessage", (op+1)*chats*perChat, time.Minute) {
			b.Fatalf("only %d of %d replies", ft.Count("sendMessage"), (op+1)*chats*perChat)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	waitSent(b, &sent, b.N*chats*perChat)
	b.ReportMetric(float64(b.N*chats*perChat)/elapsed.Seconds(), "msgs/s")
	// Queueing: the spacing the limiter kept between replies in one chat.
	byChat := map[string][]time.Time{}
	for _, c := range ft.Calls("sendMessage") {
		byChat[c.Params["chat_id"]] = append(byChat[c.Params["chat_id"]], c.At)
	}
	var gaps []time.Duration
	for _, ts := range byChat {
		for i := 1; i < len(ts); i++ {
			gaps = append(gaps, ts[i].Sub(ts[i-1]))
		}
	}
	slices.Sort(gaps)
	if len(gaps) > 0 {
		// Arrival times at the fake include HTTP scheduling jitter, so they
		// show the spacing only approximately; the limiter's exact spacing
		// is tested with a fake clock in engine/channelkit.
		b.ReportMetric(float64(gaps[len(gaps)/2])/1e6, "p50-chat-gap-ms")
	}
}
