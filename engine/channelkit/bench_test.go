package channelkit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
)

// BenchmarkLimiterWaitFree measures the limiter's bookkeeping when a chat
// has budget left (no waiting): 500 chats in turn.
func BenchmarkLimiterWaitFree(b *testing.B) {
	l := channelkit.NewLimiter(nil, channelkit.Limits{PerKey: channelkit.Rate{Interval: time.Nanosecond, Burst: 1}})
	keys := make([]string, 500)
	for i := range keys {
		keys[i] = fmt.Sprint("chat-", i)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := range b.N {
		if err := l.Wait(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLimiterQueue500Chats queues 3 messages from each of 500 chats at
// once under Telegram's limits scaled 100 times faster (1 per 10ms per
// chat, 3000/s overall): the global budget drains the 1500 messages in
// 0.5s (50s at the real rates), all delivered, none dropped.
func BenchmarkLimiterQueue500Chats(b *testing.B) {
	const chats, per = 500, 3
	var drains []time.Duration
	var waits []time.Duration
	for range b.N {
		l := channelkit.NewLimiter(nil, channelkit.Limits{
			PerKey: channelkit.Rate{Interval: 10 * time.Millisecond, Burst: 1},
			Global: channelkit.Per(3000, time.Second),
		})
		var wg sync.WaitGroup
		var mu sync.Mutex
		start := time.Now()
		for c := range chats {
			for range per {
				wg.Go(func() {
					t := time.Now()
					if err := l.Wait(context.Background(), fmt.Sprint("chat-", c)); err != nil {
						b.Error(err)
					}
					mu.Lock()
					waits = append(waits, time.Since(t))
					mu.Unlock()
				})
			}
		}
		wg.Wait()
		drains = append(drains, time.Since(start))
	}
	slices.Sort(drains)
	slices.Sort(waits)
	b.ReportMetric(drains[len(drains)/2].Seconds(), "drain-s")
	b.ReportMetric(float64(waits[len(waits)/2])/1e6, "p50-wait-ms")
	b.ReportMetric(float64(waits[len(waits)*99/100])/1e6, "p99-wait-ms")
	b.ReportMetric(float64(chats*per)/drains[len(drains)/2].Seconds(), "msgs/s")
}

// BenchmarkSplit cuts a 20,000-character answer with code blocks at
// Telegram's limit.
func BenchmarkSplit(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 20000; i++ {
		fmt.Fprintf(&sb, "Paragraph %d with **bold** and `code`.\n\n```go\nfmt.Println(%d)\nfmt.Println(%d)\n```\n\n", i, i, i)
	}
	text := sb.String()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for range b.N {
		if len(channelkit.Split(text, channelkit.SplitOptions{Limit: 4096, Len: channelkit.UTF16Len})) < 5 {
			b.Fatal("not split")
		}
	}
}
