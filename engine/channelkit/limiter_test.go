package channelkit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hearthbot/hearth/engine/channelkit"
	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const waitLimit = 5 * time.Second // safety net only; never reached when tests pass

func goWait(ctx context.Context, l *channelkit.Limiter, key string) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx, key) }()
	return done
}

// queued polls until n callers wait for key.
func queued(t *testing.T, l *channelkit.Limiter, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for l.Queued(key) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d queued for %q, want %d", l.Queued(key), key, n)
		}
		<-tick.C
	}
}

func mustDone(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("waiter did not finish")
	}
}

func notDone(t *testing.T, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("waiter finished early (err=%v)", err)
	default:
	}
}

func TestLimiterQueuesPerKeyInOrder(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Second)})
	ctx := context.Background()

	mustDone(t, goWait(ctx, l, "chat"))
	w2 := goWait(ctx, l, "chat")
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("second waiter never parked")
	}
	w3 := goWait(ctx, l, "chat")
	queued(t, l, "chat", 2) // the third waits behind the second, off the clock
	// Another chat is not held back by the first one's queue.
	mustDone(t, goWait(ctx, l, "other"))

	if d := l.Delay("chat"); d != 3*time.Second {
		t.Fatalf("Delay(chat) = %v, want 3s (two queued)", d)
	}
	clock.Advance(999 * time.Millisecond)
	notDone(t, w2)
	if clock.Pending() != 1 {
		t.Fatalf("pending timers = %d, want 1", clock.Pending())
	}
	clock.Advance(time.Millisecond)
	mustDone(t, w2)
	notDone(t, w3)
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("third waiter never parked on the clock")
	}
	if next, _ := clock.NextDeadline(); !next.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("third waiter at %v, want t0+2s", next.Sub(t0))
	}
	clock.Advance(time.Second)
	mustDone(t, w3)
}

func TestLimiterBurstAndGlobal(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{
		PerKey: channelkit.Rate{Interval: time.Second, Burst: 3},
		Global: channelkit.Per(10, time.Second),
	})
	if d := l.Delay("a"); d != 0 {
		t.Fatalf("fresh key delay = %v", d)
	}
	ctx := context.Background()
	// The per-key burst of 3 is available, but the global budget spaces
	// everything 100ms apart.
	mustDone(t, goWait(ctx, l, "a"))
	if d := l.Delay("b"); d != 100*time.Millisecond {
		t.Fatalf("global delay = %v, want 100ms", d)
	}
	clock.Advance(100 * time.Millisecond)
	mustDone(t, goWait(ctx, l, "a"))
	clock.Advance(100 * time.Millisecond)
	mustDone(t, goWait(ctx, l, "a"))
	// Burst spent: the fourth for "a" waits for the per-key interval:
	// first at 0, tat 3s, tolerance 2s, so the next slot is at 1s.
	clock.Advance(100 * time.Millisecond)
	if d := l.Delay("a"); d != 700*time.Millisecond {
		t.Fatalf("after burst delay = %v, want 700ms", d)
	}
}

func TestLimiterBlockHoldsQueuedWaiters(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Second)})
	ctx := context.Background()
	mustDone(t, goWait(ctx, l, "chat"))
	w := goWait(ctx, l, "chat") // slot at 1s
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("waiter never parked")
	}
	l.Block("chat", t0.Add(5*time.Second)) // platform: retry after 5s
	clock.Advance(time.Second)
	notDone(t, w) // its slot came, but the key is blocked
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("waiter did not re-park on the block")
	}
	clock.Advance(4*time.Second - time.Millisecond)
	notDone(t, w)
	clock.Advance(time.Millisecond)
	mustDone(t, w)
	// New waiters queue behind the block too.
	if d := l.Delay("chat"); d != time.Second {
		t.Fatalf("delay after block = %v, want 1s", d)
	}
}

func TestLimiterNeverDropsUnderLoad(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Second)})
	ctx := context.Background()
	const n = 50
	done := make(chan error, n)
	for range n {
		go func() { done <- l.Wait(ctx, "busy") }()
	}
	recv := func() {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(waitLimit):
			t.Fatal("waiter not released")
		}
	}
	// One goes at once; then the first in line waits for each second.
	recv()
	for i := 1; i < n; i++ {
		if !clock.WaitForTimers(1, waitLimit) {
			t.Fatalf("after %d released, nobody waits on the clock", i)
		}
		if next, _ := clock.NextDeadline(); !next.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("waiter %d scheduled at %v, want t0+%ds", i, next.Sub(t0), i)
		}
		clock.Advance(time.Second)
		recv()
	}
	if got := clock.Now().Sub(t0); got != (n-1)*time.Second {
		t.Fatalf("50 messages at 1/s took %v, want 49s", got)
	}
}

func TestLimiterWaitCancelled(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Minute)})
	mustDone(t, goWait(context.Background(), l, "k"))
	ctx, cancel := context.WithCancel(context.Background())
	w := goWait(ctx, l, "k")
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("never parked")
	}
	cancel()
	select {
	case err := <-w:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("cancelled waiter did not return")
	}
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{PerKey: channelkit.Per(1, time.Second)})
	ctx := context.Background()
	for i := range 3000 {
		if i%1000 == 0 {
			clock.Advance(time.Minute)
		}
		if err := l.Wait(ctx, "chat-"+string(rune('a'+i%26))+time.Duration(i).String()); err != nil {
			t.Fatal(err)
		}
	}
	if k := l.Keys(); k >= 3000 {
		t.Fatalf("limiter keeps %d keys, idle ones should be swept", k)
	}
}

func TestLimiterBusyChatDoesNotHoldOthers(t *testing.T) {
	clock := kittest.NewClock(t0)
	l := channelkit.NewLimiter(clock, channelkit.Limits{
		PerKey: channelkit.Per(1, time.Second),
		Global: channelkit.Per(10, time.Second),
	})
	ctx := context.Background()
	mustDone(t, goWait(ctx, l, "busy"))
	b2 := goWait(ctx, l, "busy") // waits for busy's own second
	if !clock.WaitForTimers(1, waitLimit) {
		t.Fatal("not parked")
	}
	goWait(ctx, l, "busy")
	queued(t, l, "busy", 2)
	// A quiet chat needs only the global budget: 100ms after the first.
	quiet := goWait(ctx, l, "quiet")
	if !clock.WaitForTimers(2, waitLimit) {
		t.Fatal("quiet chat not parked on the global budget")
	}
	clock.Advance(100 * time.Millisecond)
	mustDone(t, quiet)
	notDone(t, b2)
	clock.Advance(900 * time.Millisecond)
	mustDone(t, b2)
}
