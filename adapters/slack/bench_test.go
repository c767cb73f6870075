//go:build unix

package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	hslack "github.com/hearthbot/hearth/adapters/slack"
	"github.com/hearthbot/hearth/engine"
	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/internal/fakeslack"
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

func quiet(c *hslack.Config) { c.Logger = slog.New(slog.DiscardHandler) }

// BenchmarkSendReply measures one formatted reply (Markdown to mrkdwn,
// split, chat.postMessage over HTTP to the fake).
func BenchmarkSendReply(b *testing.B) {
	fs := newFake(b)
	fs.CountOnly()
	ch, _ := newChannel(b, fs, quiet)
	ctx := context.Background()
	msg := engine.Outbound{Kind: engine.KindReply, To: engine.Address{Conversation: "C1", Thread: "1.000001"}, Text: benchReply}
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
// an event over the Socket Mode WebSocket, accepted by the sink,
// acknowledged, and the sink's reply formatted and posted.
func BenchmarkRoundTrip(b *testing.B) {
	fs := newFake(b)
	fs.CountOnly()
	s := newSink()
	var ch *hslack.Channel
	var sent atomic.Int64
	s.reply = func(in engine.Inbound) {
		if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: benchReply}); err != nil {
			b.Error(err)
		}
		sent.Add(1)
	}
	ch, _ = newChannel(b, fs, quiet)
	run(b, ch, s)
	if !fs.WaitSockets(1, limit) {
		b.Fatal("no socket")
	}
	b.ResetTimer()
	cpu := cpuTime()
	for i := range b.N {
		ts := fmt.Sprintf("1000.%06d", i+1)
		if _, err := fs.SendEvent(fakeslack.DirectMessage("D1", "U1", "question", ts), "Ev"+ts, 0); err != nil {
			b.Fatal(err)
		}
		if !fs.WaitCount("chat.postMessage", i+1, limit) {
			b.Fatalf("reply %d missing", i+1)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e3, "cpu-µs/op")
	b.StopTimer()
	waitSent(b, &sent, b.N)
}

// BenchmarkChats500 sends two messages in each of 500 channels at once and
// waits for all 1000 replies, with the per-channel limiter on (scaled from
// Slack's ~1 message/s to 1 per 20ms).
func BenchmarkChats500(b *testing.B) {
	const chats, perChat, gap = 500, 2, 20 * time.Millisecond
	fs := newFake(b)
	s := newSink()
	var ch *hslack.Channel
	var sent atomic.Int64
	s.reply = func(in engine.Inbound) {
		if _, err := ch.Send(context.Background(), engine.Outbound{Kind: engine.KindReply, To: in.ReplyAddress(), Text: "ok: " + in.Text}); err != nil {
			b.Error(err)
		}
		sent.Add(1)
	}
	ch, _ = newChannel(b, fs, func(c *hslack.Config) {
		quiet(c)
		c.Limits = &channelkit.Limits{PerKey: channelkit.Rate{Interval: gap, Burst: 1}}
	})
	run(b, ch, s)
	if !fs.WaitSockets(1, limit) {
		b.Fatal("no socket")
	}
	n := 0
	b.ResetTimer()
	start := time.Now()
	for op := range b.N {
		for c := range chats {
			for range perChat {
				n++
				ts := fmt.Sprintf("2000.%06d", n)
				if _, err := fs.SendEvent(fakeslack.DirectMessage(fmt.Sprintf("D%d", c), "U1", "hi", ts), "Ev"+ts, 0); err != nil {
					b.Fatal(err)
				}
			}
		}
		if !fs.WaitCount("chat.postMessage", (op+1)*chats*perChat, time.Minute) {
			b.Fatalf("only %d of %d replies", fs.Count("chat.postMessage"), (op+1)*chats*perChat)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	waitSent(b, &sent, b.N*chats*perChat)
	b.ReportMetric(float64(b.N*chats*perChat)/elapsed.Seconds(), "msgs/s")
	byChat := map[string][]time.Time{}
	for _, c := range fs.Calls("chat.postMessage") {
		byChat[c.Params["channel"]] = append(byChat[c.Params["channel"]], c.At)
	}
	var gaps []time.Duration
	for _, ts := range byChat {
		for i := 1; i < len(ts); i++ {
			gaps = append(gaps, ts[i].Sub(ts[i-1]))
		}
	}
	slices.Sort(gaps)
	if len(gaps) > 0 {
		b.ReportMetric(float64(gaps[len(gaps)/2])/1e6, "p50-chat-gap-ms")
	}
}
