package kittest_test

import (
	"sync/atomic"
	"testing"

	"github.com/hearthbot/hearth/engine/channelkit/kittest"
)

func TestEventuallyWaitsForAnotherGoroutine(t *testing.T) {
	var n atomic.Int32
	release := make(chan struct{})
	go func() {
		<-release
		n.Store(3)
	}()
	calls := 0
	kittest.Eventually(t, "n to become 3", func() bool {
		calls++
		if calls == 2 {
			close(release) // the condition turns true only after polling began
		}
		return n.Load() == 3
	})
	if calls < 2 {
		t.Fatalf("cond polled %d times; it cannot have held before the second call", calls)
	}
}

func TestEventuallyTrueAtOnce(t *testing.T) {
	calls := 0
	kittest.Eventually(t, "true", func() bool { calls++; return true })
	if calls != 1 {
		t.Fatalf("cond polled %d times, want 1", calls)
	}
}
