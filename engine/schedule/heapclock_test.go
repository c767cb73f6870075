package schedule_test

import (
	"container/heap"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// heapClock is a fake clock for the benchmarks: clockwork's FakeClock
// sorts all its timers on every new one, which at 20,000 timers would
// dominate what the benchmarks measure. It supports what gocron uses
// (Now and AfterFunc with Stop and Reset); the rest panics.
type heapClock struct {
	clockwork.Clock // nil: unsupported methods panic

	mu   sync.Mutex
	now  time.Time
	q    timerHeap
	seq  int
	wake chan struct{}
}

func newHeapClock(now time.Time) *heapClock {
	return &heapClock{now: now, wake: make(chan struct{}, 1)}
}

func (c *heapClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *heapClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }
func (c *heapClock) Until(t time.Time) time.Duration { return t.Sub(c.Now()) }

func (c *heapClock) AfterFunc(d time.Duration, f func()) clockwork.Timer {
	t := &heapTimer{c: c, f: f, index: -1}
	c.mu.Lock()
	c.schedule(t, d)
	c.mu.Unlock()
	return t
}

// schedule queues t d from now; the caller holds c.mu.
func (c *heapClock) schedule(t *heapTimer, d time.Duration) {
	if d <= 0 {
		go t.f()
		return
	}
	c.seq++
	t.at, t.seq = c.now.Add(d), c.seq
	heap.Push(&c.q, t)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Len is the number of pending timers.
func (c *heapClock) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.q.Len()
}

// waitFor blocks until n timers are pending.
func (c *heapClock) waitFor(n int) {
	for c.Len() < n {
		<-c.wake
	}
}

// Advance moves the clock by d, running the due timers' functions each in
// its own goroutine, in time order.
func (c *heapClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for c.q.Len() > 0 && !c.q[0].at.After(end) {
		t := heap.Pop(&c.q).(*heapTimer)
		c.now = t.at
		go t.f()
	}
	c.now = end
	c.mu.Unlock()
}

type heapTimer struct {
	c     *heapClock
	f     func()
	at    time.Time
	seq   int
	index int
}

func (t *heapTimer) Chan() <-chan time.Time { return nil }

func (t *heapTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.q, t.index)
	return true
}

func (t *heapTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	active := t.index >= 0
	if active {
		heap.Remove(&t.c.q, t.index)
	}
	t.c.schedule(t, d)
	return active
}

type timerHeap []*heapTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*heapTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
